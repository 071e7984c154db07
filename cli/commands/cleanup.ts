/**
 * `pulpdist cleanup`: run Pulp's orphan cleanup at every site (or the named ones) now, the same
 * cleanup the controller runs on its schedule (reconcilers/cleanup.ts), and say what it reclaimed.
 */
import type { Command } from '../command.js';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { formatBytes, formatDuration, parseDuration } from '../../core/units.js';
import { cleanupSite, type CleanupResult } from '../../reconcilers/cleanup.js';
import { SPEC_DEFAULTS } from '../../spec/normalize.js';
import { requestTimeoutOption, selectedSites } from '../options.js';
import { clientsFor, interruptSignal, loadValidSpecs } from '../pass-setup.js';

/** `--protection-time`: a duration, `0` allowed (every orphan goes, whatever its age). */
function protectionOption(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (text === '0') return 0;
  try {
    return parseDuration(text);
  } catch {
    throw new UsageError(`--protection-time must be 0 or a duration such as 30m, 1h or 1d, got "${text}"`);
  }
}

function line(r: CleanupResult): string {
  const took = formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt));
  if (r.result !== 'completed') return `${r.site}: ${r.result === 'skipped' ? 'skipped' : 'FAILED'}: ${r.message}`;
  const removed = r.removed ? `${r.removed.content} content unit${r.removed.content === 1 ? '' : 's'} and ${r.removed.artifacts} artifact${r.removed.artifacts === 1 ? '' : 's'} removed` : 'done';
  const reclaimed = r.reclaimedBytes === null ? 'reclaimed: unknown (status/ gives no storage figure)' : `${formatBytes(r.reclaimedBytes)} reclaimed`;
  const free = r.storage ? `, ${formatBytes(r.storage.free)} free` : '';
  return `${r.site}: ${removed}, ${reclaimed}${free} (${took})`;
}

export const command: Command = {
  name: 'cleanup',
  summary: 'remove orphaned content and artifacts at the sites now (what the controller does daily)',
  usage: 'pulpdist cleanup [--specs PATH] [--site NAME]… [--protection-time D] [--json]',
  options: {
    specs: { type: 'string', default: '.' },
    site: { type: 'string', multiple: true },
    'protection-time': { type: 'string' },
    json: { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    'request-timeout': { type: 'string' },
  },
  help: `
Runs Pulp's orphan cleanup (POST orphans/cleanup/) at each site of the specs, or at the sites
named, and waits for it: content that no repository version references, then artifacts that no
content references, are removed from the site's disk. That is how removed mirrors, files deleted
upstream and versions dropped by retainVersions give their space back. The cleanup is server-wide
(docs/operations.md says why that is safe). A site with no online Pulp worker, or with a sync
running or waiting, is skipped (its cleanup would wait, or compete with the sync).

options:
  --specs PATH            spec file or directory (default: .)
  --site NAME             only this site (repeatable)
  --protection-time D     keep orphans younger than D (e.g. 30m, 1h; 0 = none), default each
                          site's orphanCleanup.protectionTime (1h)
  --json                  print the results as JSON
  --log-level LEVEL       debug, info, warn (default) or error, on stderr
  --request-timeout D     time allowed for one request to a site (default 30s)

examples:
  pulpdist cleanup --specs mirrors
  pulpdist cleanup --specs mirrors --site hub --protection-time 0

exit codes:
  0  every cleanup completed
  1  a cleanup failed or was skipped, or invalid specs
  2  usage: an unknown option or site, a bad --protection-time
`,
  async run({ values }) {
    const level = String(values['log-level'] ?? 'warn');
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`unknown log level "${level}" (use debug, info, warn or error)`);
    const protection = protectionOption(values['protection-time']);
    const log = createLogger({ level: level as 'warn' });
    const specs = await loadValidSpecs(String(values.specs ?? '.'));
    const only = selectedSites(values.site, specs);
    const sites = specs.sites.filter((s) => !only || only.includes(s.name));
    const clients = clientsFor(specs, log, process.env, requestTimeoutOption(values['request-timeout']));
    const { signal, dispose } = interruptSignal();
    try {
      const results = await Promise.all(sites.map((s) => cleanupSite(s.name, clients.get(s.name)!, {
        signal, now: () => new Date(), protectionMs: protection ?? s.orphanCleanup?.protectionMs ?? SPEC_DEFAULTS.orphanProtectionMs,
      })));
      process.stdout.write(values.json ? JSON.stringify({ results }, null, 2) + '\n' : results.map(line).join('\n') + '\n');
      return results.every((r) => r.result === 'completed') ? 0 : 1;
    } finally {
      dispose();
    }
  },
};
