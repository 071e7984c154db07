/** `pulpdist validate [PATH…] [--format F]`: check spec files, for merge-request CI. */
import type { Command } from '../command.js';
import { UsageError } from '../../core/errors.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { loadSpecPaths, specContextOf } from '../../spec/load.js';
import { FORMATS, REPORTERS, isReportFormat } from '../reporters/index.js';

export const command: Command = {
  name: 'validate',
  summary: 'validate spec files (for merge-request CI)',
  usage: 'pulpdist validate [PATH…] [--format text|json|junit|codequality] [--context DIR | --no-context] [--allow-empty]',
  options: {
    format: { type: 'string', short: 'f', default: 'text' },
    context: { type: 'string' },
    'no-context': { type: 'boolean', default: false },
    'allow-empty': { type: 'boolean', default: false },
  },
  positionals: true,
  help: `
Reads every *.yaml / *.yml file under each PATH (default: the current directory), recursively,
skipping hidden files and directories and node_modules, and checks: YAML syntax (tabs, duplicate
keys), apiVersion and kind, the JSON Schemas in schemas/, the cross-document rules (unique names,
known sites, no upstream cycle, no shared or nested basePath, origin among sites), and inline
secrets. Every problem is reported as FILE:LINE:COLUMN: error: MESSAGE, then a summary line.

Files named one by one (as a pre-commit hook passes them) are checked in the context of their
whole spec set, so that a Site or Mirror defined in another file is known: by default the Git work
tree holding them (what \`pulpdist run\` reads without --path); only problems in the named files
are reported. A directory that holds no spec file is an error: a CI job pointed at the wrong path
must not pass.

options:
  -f, --format FORMAT   text (default), json, junit (one testcase per document) or
                        codequality (a GitLab Code Quality report)
  --context DIR         when only files are named: the spec set they belong to (default: their
                        Git work tree; use the controller's --path, e.g. --context mirrors)
  --no-context          check the named files on their own
  --allow-empty         a directory without spec files is a warning, not an error

examples:
  pulpdist validate mirrors
  pulpdist validate mirrors/mirrors/fedora-40.yaml --format json
  pulpdist validate --context mirrors mirrors/sites/hub.yaml   # in a pre-commit hook
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
    if (values.context !== undefined && values['no-context']) throw new UsageError('--context and --no-context exclude each other');
    const context = values['no-context'] ? undefined : await contextFor(paths, values.context as string | undefined);
    const result = await loadSpecPaths(paths, { allowEmpty: values['allow-empty'] === true, context });
    process.stdout.write(REPORTERS[format](result));
    return result.problems.some((p) => p.severity === 'error') ? 1 : 0;
  },
};

/** The spec set named files are checked in: --context, else their common Git work tree; none when a directory is named. */
async function contextFor(paths: string[], explicit: string | undefined): Promise<string | undefined> {
  if (explicit !== undefined) {
    const st = await stat(explicit).catch(() => undefined);
    if (!st?.isDirectory()) throw new UsageError(`--context "${explicit}" is not a directory`);
    return explicit;
  }
  const kinds = await Promise.all(paths.map((p) => stat(p).then((s) => s.isFile(), () => false)));
  if (!kinds.every(Boolean)) return undefined;
  const roots = new Set(await Promise.all(paths.map((p) => specContextOf(p))));
  const [root] = roots;
  // Relative to here, so that the other files' names in messages read as the user's own paths.
  return roots.size === 1 && root !== undefined ? path.relative(process.cwd(), root) || '.' : undefined;
}
