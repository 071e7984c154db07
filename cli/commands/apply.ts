/**
 * `pulpdist apply`: one reconcile pass that waits for its syncs. Prints the plan, then a line as
 * each action starts and ends (and, on a terminal, a live line with the bytes moved), then what
 * failed and why. Exit 0 when every site holds the desired tree, 1 otherwise.
 */
import type { Command } from '../command.js';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { formatBytes, formatDuration } from '../../core/units.js';
import { applyPrepared, preparePlan } from '../../reconcilers/pass.js';
import type { PassEvent } from '../../reconcilers/pass-types.js';
import { entryDoing } from '../../reconcilers/plan-types.js';
import { renderApplyOutcome } from '../reporters/apply.js';
import { renderText } from '../reporters/plan.js';
import { massDeleteOptions } from '../mass-delete.js';
import { controllerIdOption, requestTimeoutOption } from '../options.js';
import { cacheFileFor, clientsFor, interruptSignal, sourceReaderFor, controllerIdHelp, stateDirHelp, loadMemory, loadValidSpecs, saveMemory } from '../pass-setup.js';
import { contentProber } from '../../pulp/content-probe.js';

/** Turns pass events into lines; on a TTY keeps one live line of running syncs and bytes moved. */
function progressPrinter(tty: boolean) {
  const bytes = new Map<string, number>();
  const running = new Set<string>();
  let live = false;
  const clear = () => {
    if (live) process.stdout.write('\r\x1b[2K');
    live = false;
  };
  const moved = () => [...bytes.values()].reduce((a, b) => a + b, 0);
  const drawLive = () => {
    if (!tty || running.size === 0) return;
    process.stdout.write(`\r\x1b[2K  … ${running.size} sync${running.size === 1 ? '' : 's'} running, ${formatBytes(moved())} moved`);
    live = true;
  };
  return {
    moved,
    onEvent(e: PassEvent) {
      if (e.type === 'sync-progress') {
        bytes.set(`${e.mirror}@${e.site}`, e.doneBytes);
        drawLive();
        return;
      }
      clear();
      const what = `${e.site}: ${entryDoing(e)} pulpdist.${e.mirror}`;
      if (e.type === 'action-start') {
        if (e.action === 'sync') running.add(`${e.mirror}@${e.site}`);
        process.stdout.write(`  start ${what}${e.reason ? ` (${e.reason})` : ''}\n`);
      } else {
        running.delete(`${e.mirror}@${e.site}`);
        const b = e.action === 'sync' && e.result === 'succeeded' ? `, ${formatBytes(bytes.get(`${e.mirror}@${e.site}`) ?? 0)} moved` : '';
        const mark = e.result === 'succeeded' ? 'done ' : e.result === 'failed' ? 'FAIL ' : 'skip ';
        process.stdout.write(`  ${mark} ${what} ${e.result} in ${formatDuration(e.durationMs)}${b}${e.message ? `: ${e.message}` : ''}\n`);
      }
      drawLive();
    },
    done: clear,
  };
}

export const command: Command = {
  name: 'apply',
  summary: 'run one reconcile pass and wait for the syncs',
  usage: 'pulpdist apply [--specs PATH] [--allow-mass-delete] [--controller-id ID] [--state-dir DIR]',
  options: {
    specs: { type: 'string', default: '.' },
    'allow-mass-delete': { type: 'boolean', default: false },
    'no-cache': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    'request-timeout': { type: 'string' },
    'controller-id': { type: 'string' },
    'state-dir': { type: 'string' },
  },
  help: `
Computes the plan (as \`pulpdist plan\` shows it), prints it, and carries it out: creates and updates
first, then the syncs in topological order (a site syncs a mirror once the site it pulls from
publishes the tree), under each site's limits.concurrentSyncs, then the deletes. A line is printed
as each action starts and ends; on a terminal a live line shows the bytes moved. A failure at one
site stops that mirror there and downstream of it, never the other sites.

For a mirror whose source is a tree on disk, its PULP_MANIFEST is written at the tree's root first;
the origin site must allow that path (\`pulpdist site --allowed-import-path DIR\`, or
ALLOWED_IMPORT_PATHS in Pulp's settings). With source.readOnly, nothing is written into the tree:
the manifest and a symlink per top-level entry go to --state-dir's sources/MIRROR/, the path the
origin site must see and allow instead (docs/deploy.md).

Deletes touch only objects labelled managed_by=pulpdist and pulpdist_controller=this controller's id
(objects made before controller ids are adopted by the first controller that wants them). When they would remove more than half of
the managed mirror placements, they are held (and apply exits 1) unless approved: --allow-mass-delete,
or the trailer "Pulpdist-Allow-Mass-Delete: yes" on the HEAD commit of the checkout holding the specs.

options:
  --specs PATH            spec file or directory (default: .)
  --allow-mass-delete     allow deleting more than half of the managed mirror placements
  --no-cache              read every published manifest again
  --log-level LEVEL       debug, info, warn (default) or error, on stderr
  --request-timeout D     time allowed for one request to a site (default 30s)
${controllerIdHelp(26)}
${stateDirHelp(26)}

exit codes:
  0  converged: every site publishes the desired tree of every mirror
  1  not converged (a summary of what failed and why is printed), or invalid specs
`,
  async run({ values }) {
    const level = String(values['log-level'] ?? 'warn');
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`unknown log level "${level}" (use debug, info, warn or error)`);
    const log = createLogger({ level: level as 'warn' });
    const timeout = requestTimeoutOption(values['request-timeout']);
    // A bad --controller-id is a usage error before anything is loaded.
    const controllerId = await controllerIdOption(values['controller-id'], String(values.specs ?? '.'));
    const specs = await loadValidSpecs(String(values.specs ?? '.'));
    const cacheFile = values['no-cache'] ? null : cacheFileFor(specs);
    const memory = await loadMemory(cacheFile);
    const printer = progressPrinter(!!process.stdout.isTTY);
    const { signal, dispose } = interruptSignal();
    const started = Date.now();
    try {
      const deps = { clients: clientsFor(specs, log, process.env, timeout), log, now: () => new Date(), memory, sources: sourceReaderFor(values['state-dir']), onEvent: printer.onEvent, probe: contentProber(specs.sites) };
      const opts = { signal, controllerId, ...massDeleteOptions(String(values.specs ?? '.'), !!values['allow-mass-delete']) };
      const prepared = await preparePlan(specs, deps, opts);
      process.stdout.write(renderText(prepared.plan) + '\n');
      const result = await applyPrepared(prepared, specs, deps, opts);
      printer.done();
      await saveMemory(cacheFile, memory, log);
      process.stdout.write('\n' + renderApplyOutcome(result, { durationMs: Date.now() - started, movedBytes: printer.moved() }));
      return result.converged ? 0 : 1;
    } finally {
      dispose();
    }
  },
};
