/** `pulpdist validate [PATH…] [--format F]`: check spec files, for merge-request CI. */
import type { Command } from '../command.js';
import { UsageError } from '../../core/errors.js';
import { loadSpecPaths } from '../../spec/load.js';
import { FORMATS, REPORTERS, isReportFormat } from '../reporters/index.js';

export const command: Command = {
  name: 'validate',
  summary: 'validate spec files (for merge-request CI)',
  usage: 'pulpdist validate [PATH…] [--format text|json|junit|codequality]',
  options: {
    format: { type: 'string', short: 'f', default: 'text' },
  },
  positionals: true,
  help: `
Reads every *.yaml / *.yml file under each PATH (default: the current directory), recursively,
skipping hidden files and directories and node_modules, and checks: YAML syntax (tabs, duplicate
keys), apiVersion and kind, the JSON Schemas in schemas/, the cross-document rules (unique names,
known sites, no upstream cycle, no shared or nested basePath, origin among sites), and inline
secrets. Every problem is reported as FILE:LINE:COLUMN: error: MESSAGE, then a summary line.

options:
  -f, --format FORMAT   text (default), json, junit (one testcase per document) or
                        codequality (a GitLab Code Quality report)

examples:
  pulpdist validate mirrors
  pulpdist validate mirrors/mirrors/fedora-40.yaml --format json
  pulpdist validate . --format junit > validate-junit.xml
  pulpdist validate . --format codequality > gl-code-quality-report.json

exit codes:
  0  valid (warnings allowed)
  1  problems found
  2  usage error (unknown option or format, a PATH that does not exist)
`,
  async run({ values, positionals }) {
    const format = String(values.format ?? 'text');
    if (!isReportFormat(format)) throw new UsageError(`unknown format "${format}" (use one of: ${FORMATS.join(', ')})`);
    const paths = positionals.length ? positionals : ['.'];
    const result = await loadSpecPaths(paths);
    process.stdout.write(REPORTERS[format](result));
    return result.problems.some((p) => p.severity === 'error') ? 1 : 0;
  },
};
