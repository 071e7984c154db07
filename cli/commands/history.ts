/**
 * `pulpdist history MIRROR`: per site, the trees the mirror has published within the repository
 * versions Pulp retains, and which one each site serves now (issue 20). Read-only.
 */
import type { Command } from '../command.js';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { formatBytes } from '../../core/units.js';
import { mirrorHistory, type HistoryDocument } from '../../reconcilers/history.js';
import { requestTimeoutOption } from '../options.js';
import { clientsFor, interruptSignal, loadValidSpecs } from '../pass-setup.js';

export const command: Command = {
  name: 'history',
  summary: 'the trees a mirror has published at each site, and which one each serves now',
  usage: 'pulpdist history MIRROR [--specs PATH] [--site NAME]… [--json]',
  positionals: true,
  options: {
    specs: { type: 'string', default: '.' },
    site: { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
    'request-timeout': { type: 'string' },
  },
  help: `
Reads, at every site of the mirror (or only the --site ones), the repository versions Pulp still
retains (spec retainVersions) and their publications, and prints per site, newest first: the
version, when it was published, its tree digest, files and bytes, with "*" on the one served now.
A version whose publication was deleted by hand shows "not published". Changes nothing.

options:
  --specs PATH          spec file or directory (default: .)
  --site NAME           only this site (repeatable)
  --json                the same as JSON: {mirror, sites: [{site, reachable, error, serving, versions, note}]}
  --request-timeout D   time allowed for one request to a site (default 30s)

examples:
  pulpdist history fedora-40 --specs mirrors
  pulpdist history fedora-40 --specs mirrors --site bne --json

exit codes:
  0  every site was read
  1  a site could not be read (the others are still printed)
  2  usage error (unknown mirror or site)
`,
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new UsageError('name one mirror: pulpdist history MIRROR');
    const mirrorName = positionals[0] ?? '';
    const specs = await loadValidSpecs(String(values.specs ?? '.'));
    const mirror = specs.mirrors.find((m) => m.name === mirrorName);
    if (!mirror) throw new UsageError(`unknown mirror "${mirrorName}" (known: ${specs.mirrors.map((m) => m.name).sort().join(', ') || 'none'})`);
    const wanted = Array.isArray(values.site) ? values.site.map(String) : [];
    for (const s of wanted) if (!mirror.sites.includes(s)) throw new UsageError(`mirror ${mirror.name} is not at site "${s}" (its sites: ${mirror.sites.join(', ')})`);
    const clients = clientsFor(specs, createLogger({ level: 'warn' }), process.env, requestTimeoutOption(values['request-timeout']));
    const { signal, dispose } = interruptSignal();
    try {
      const doc = await mirrorHistory(mirror, clients, { signal, ...(wanted.length ? { sites: wanted } : {}) });
      process.stdout.write(values.json ? JSON.stringify(doc, null, 2) + '\n' : renderHistory(doc));
      return doc.sites.every((s) => s.reachable) ? 0 : 1;
    } finally {
      dispose();
    }
  },
};

/** The text form: one block per site, newest version first, `*` on the one served. */
export function renderHistory(doc: HistoryDocument): string {
  const lines = [`mirror ${doc.mirror}: published trees per site (newest first; * = served now)`];
  for (const s of doc.sites) {
    lines.push('', `site ${s.site}`);
    if (!s.reachable) {
      lines.push(`  unreachable: ${s.error ?? 'unknown error'}`);
      continue;
    }
    for (const v of s.versions) {
      const when = v.publishedAt ? v.publishedAt.replace(/\.\d+Z$/, 'Z') : 'not published';
      const tree = v.treeDigest ? v.treeDigest.slice(0, 12) : 'digest unknown';
      const size = v.bytes === null ? '' : `, ${formatBytes(v.bytes)}`;
      lines.push(`  ${v.serving ? '*' : ' '} v${v.version}  ${when}  ${tree}  ${v.files} file${v.files === 1 ? '' : 's'}${size}`);
    }
    if (s.note) lines.push(`  (${s.note})`);
  }
  return lines.join('\n') + '\n';
}
