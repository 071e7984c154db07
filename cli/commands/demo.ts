/**
 * `pulpdist demo` (what `npm start` runs): options in, next steps out. demo/run.ts starts the
 * embedded sites, trees, repository and controller, all on loopback under one temp dir that
 * Ctrl-C removes.
 */
import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { RunningDemo } from '../../demo/run.js';
import type { Command } from '../command.js';
import { durationOption } from '../options.js';
import { VERSION } from '../../core/version.js';

export const command: Command = {
  name: 'demo',
  summary: 'embedded sites + controller on the bundled mirrors/ (what `npm start` runs)',
  usage: 'pulpdist demo [--listen 127.0.0.1:8080] [--interval 10s] [--keep] [--verbose]',
  options: {
    listen: { type: 'string', default: '127.0.0.1:8080' },
    interval: { type: 'string', default: '10s' },
    keep: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    'log-format': { type: 'string', default: 'text' },
  },
  help: `
Starts everything on this machine, so you can watch pulpdist work before pointing it at real Pulp:
three embedded Pulp-compatible sites (origin, hub, leaf) on free loopback ports, a generated source
tree per mirror (a few hundred small files), a Git repository made from the bundled mirrors/ with
the URLs and paths rewritten to the local ones, and the controller watching that repository and
serving its status page. Then it prints the URLs and what to try next.

Ctrl-C stops everything and removes the temp dir.

options:
  --listen ADDR     the status endpoint (default 127.0.0.1:8080; a free port if that one is taken)
  --interval D      drift repair period (default 10s, short so that a changed source tree shows soon)
  --keep            keep the temp dir (repository, trees, site data) on exit
  --verbose         show the sites' request logs too
  --log-format F    text or json (default text)
`,
  async run({ values }) {
    const listen = String(values.listen ?? '127.0.0.1:8080');
    const intervalMs = durationOption('interval', values.interval, '10s');
    const logFormat = values['log-format'];
    if (logFormat !== 'text' && logFormat !== 'json') throw new UsageError(`--log-format must be text or json, got "${String(logFormat)}"`);
    const log = createLogger({ format: logFormat });
    const keep = values.keep === true;
    const { startDemo } = await import('../../demo/run.js');

    const stop = new AbortController();
    const onSignal = (): void => stop.abort(new Error('interrupted'));
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let demo: RunningDemo | undefined;
    try {
      demo = await startDemo({
        listen,
        intervalMs,
        keep,
        version: VERSION,
        log,
        signal: stop.signal,
        onProgress: (line) => process.stdout.write(line + '\n'),
        onSiteLog: values.verbose ? (l) => process.stderr.write(l + '\n') : undefined,
      });
      process.stdout.write(renderNextSteps(demo, { intervalMs, keep, self: selfCommand() }));
      await new Promise<void>((resolve) => {
        if (stop.signal.aborted) resolve();
        else stop.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      process.stdout.write('\npulpdist demo: stopping\n');
      return 0;
    } catch (err) {
      if (stop.signal.aborted) return 0;
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await demo?.close();
      if (demo && keep) process.stdout.write(`kept ${demo.dir}\n`);
      setTimeout(() => process.exit(process.exitCode ?? 0), 3_000).unref();
    }
  },
};

/**
 * How to run this pulpdist from any directory (the next steps `cd` into the demo repository, where
 * `npx pulpdist` would look in the npm registry): `pulpdist` when it was started from PATH, else
 * `node` with the absolute path of the script this process runs.
 */
export function selfCommand(script = process.argv[1] ?? ''): string {
  if (!script || path.basename(script) === 'pulpdist') return 'pulpdist';
  const abs = path.resolve(script);
  return `node ${/^[\w@%+=:,./-]+$/.test(abs) ? abs : `'${abs.replace(/'/g, `'\\''`)}'`}`;
}

/** The demo's URLs and the commands to try next, each runnable by copy and paste in a new shell. */
export function renderNextSteps(d: Pick<RunningDemo, 'url' | 'repoDir' | 'sites' | 'trees' | 'envFile' | 'dir'>, o: { intervalMs: number; keep: boolean; self: string }): string {
  const someMirror = d.trees.has('tools') ? 'tools' : ([...d.trees.keys()][0] ?? 'MIRROR');
  const leaf = d.sites.find((s) => s.name === 'leaf') ?? d.sites.at(-1)!;
  const rows: [string, string][] = [
    [`${o.self} status --server ${d.url}`, 'the overview in this terminal'],
    [`cd ${d.repoDir}`, ''],
    [`. ${d.envFile}`, 'the site passwords, for plan and apply in this shell'],
    [`${o.self} plan --specs mirrors`, 'what apply would change (nothing once all are Synced)'],
    [`$EDITOR mirrors/mirrors/${someMirror}.yaml`, 'e.g. add hub to spec.sites, or suspend: true'],
    [`${o.self} plan --specs mirrors --format markdown`, 'the plan as a merge-request note would show it'],
    [`git commit -am "change ${someMirror}"`, 'a pass starts within a second: watch the page'],
    ['git log --stat pulpdist/status', 'the status commits the controller made'],
    [`echo hello > ${path.join(d.trees.get(someMirror) ?? path.join(d.dir, 'trees'), 'hello.txt')}`, `a source change: synced on the next pass (≤ ${Math.round(o.intervalMs / 1000)} s)`],
    [`curl ${leaf.url}/pulp/content/`, `what the ${leaf.name} site serves`],
  ];
  const w = Math.max(...rows.map(([c]) => c.length));
  return `
pulpdist demo is running.

  status page       ${d.url}/
  status as JSON    ${d.url}/api/v1/status
  metrics           ${d.url}/metrics
  spec repository   ${d.repoDir}   (branch main, specs in mirrors/)
  site passwords    ${d.envFile}   (. it in another shell)

Try next, in another terminal:
${rows.map(([c, why]) => `  ${why ? c.padEnd(w) + '   # ' + why : c}`).join('\n')}

Ctrl-C stops everything${o.keep ? ` (${d.dir} is kept)` : ` and removes ${d.dir}`}.
`;
}
