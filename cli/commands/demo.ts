/**
 * `pulpdist demo` (what `npm start` runs): three embedded sites, generated source trees, a local
 * Git repository made from the bundled `mirrors/`, and the controller with its status endpoint,
 * all on loopback, all under one temp dir that Ctrl-C removes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, UsageError, messageOf } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { EXAMPLE_SPECS_DIR, SCHEMA_DIR } from '../../core/paths.js';
import { registerSecret } from '../../core/redact.js';
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
    const { readExampleSpecs, buildDemoRepo } = await import('../../demo/repo.js');
    const { startDemoSite } = await import('../../demo/sites.js');
    const { writeSampleTree } = await import('../../demo/sample-tree.js');
    const { startController } = await import('../../controller/start.js');

    const example = await readExampleSpecs(EXAMPLE_SPECS_DIR).catch((err: unknown) => {
      throw new ConfigError(`cannot read the bundled example specs in ${EXAMPLE_SPECS_DIR}: ${messageOf(err)}`);
    });
    if (example.sites.length === 0) throw new ConfigError(`the bundled example ${EXAMPLE_SPECS_DIR} declares no Site`);

    const stop = new AbortController();
    const onSignal = (): void => stop.abort(new Error('interrupted'));
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-demo-'));
    const cleanups: (() => Promise<void>)[] = [];
    try {
      process.stdout.write(`pulpdist demo: setting up in ${dir}\n`);
      const trees = path.join(dir, 'trees');
      const treePaths = new Map<string, string>();
      for (const [i, m] of example.mirrors.entries()) {
        const root = path.join(trees, m.name);
        const r = await writeSampleTree(root, { seed: m.name, files: 200 + 20 * i, signal: stop.signal });
        treePaths.set(m.name, root);
        process.stdout.write(`  source tree for ${m.name}: ${r.files} files\n`);
      }

      const env: NodeJS.ProcessEnv = { ...process.env };
      const siteUrls = new Map<string, string>();
      for (const s of example.sites) {
        const auth = s.auth ? { ...s.auth, password: randomBytes(12).toString('base64url') } : undefined;
        if (auth) {
          registerSecret(auth.password);
          env[auth.passwordEnv] = auth.password;
        }
        const site = await startDemoSite({
          name: s.name,
          dataDir: path.join(dir, 'sites', s.name),
          allowedImportPaths: [trees],
          auth,
          onLog: values.verbose ? (l) => process.stderr.write(l + '\n') : undefined,
          signal: stop.signal,
        });
        cleanups.push(site.stop);
        siteUrls.set(s.name, site.url);
        process.stdout.write(`  site ${s.name}: ${site.url}${auth ? ` (user ${auth.username}, password in $${auth.passwordEnv})` : ''}\n`);
      }

      const repoDir = path.join(dir, 'repo');
      await buildDemoRepo({ specDir: EXAMPLE_SPECS_DIR, schemaDir: SCHEMA_DIR, repoDir, siteUrls, treePaths });
      const common = { repo: repoDir, path: 'mirrors', intervalMs, stateDir: path.join(dir, 'state'), env, version: VERSION, log };
      let running;
      try {
        running = await startController({ ...common, listen });
      } catch (err) {
        if (!isAddressInUse(err)) throw err;
        const fallback = listen.replace(/:\d+$/, ':0');
        process.stdout.write(`  ${listen} is taken; using a free port instead\n`);
        running = await startController({ ...common, listen: fallback });
      }
      cleanups.push(() => running.close({ graceMs: 5_000 }));
      const url = running.url!;
      const leaf = [...siteUrls.entries()].find(([n]) => n === 'leaf') ?? [...siteUrls.entries()].at(-1)!;
      const someMirror = example.mirrors.find((m) => m.name === 'tools')?.name ?? example.mirrors[0]?.name ?? 'MIRROR';
      process.stdout.write(renderNextSteps({ url, repoDir, someMirror, tree: treePaths.get(someMirror) ?? trees, leaf, intervalMs, dir, keep: !!values.keep }));
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
      for (const c of cleanups.reverse()) await c().catch((err: unknown) => log.warn('cleanup step failed', { error: messageOf(err) }));
      if (!values.keep) await rm(dir, { recursive: true, force: true });
      else process.stdout.write(`kept ${dir}\n`);
      setTimeout(() => process.exit(process.exitCode ?? 0), 3_000).unref();
    }
  },
};

/** How to run pulpdist again: `pulpdist` when installed, else the path this process was started with. */
function selfCommand(): string {
  const script = process.argv[1] ?? '';
  if (!/bin[/\\]pulpdist(\.js)?$/.test(script) || !path.isAbsolute(script)) return 'pulpdist';
  const rel = path.relative(process.cwd(), script);
  return rel.startsWith('..') ? 'pulpdist' : `node ${rel}`;
}

function renderNextSteps(o: { url: string; repoDir: string; someMirror: string; tree: string; leaf: [string, string]; intervalMs: number; dir: string; keep: boolean }): string {
  const rows: [string, string][] = [
    [`${selfCommand()} status --server ${o.url}`, 'the overview in this terminal'],
    [`cd ${o.repoDir}`, ''],
    [`$EDITOR mirrors/mirrors/${o.someMirror}.yaml`, 'e.g. add hub to spec.sites, or suspend: true'],
    [`git commit -am "change ${o.someMirror}"`, 'a pass starts within a second: watch the page'],
    ['git log --stat pulpdist/status', 'the status commits the controller made'],
    [`echo hello > ${path.join(o.tree, 'hello.txt')}`, `a source change: synced on the next pass (≤ ${Math.round(o.intervalMs / 1000)} s)`],
    [`curl ${o.leaf[1]}/pulp/content/`, `what the ${o.leaf[0]} site serves`],
  ];
  const w = Math.max(...rows.map(([c]) => c.length));
  return `
pulpdist demo is running.

  status page       ${o.url}/
  status as JSON    ${o.url}/api/v1/status
  metrics           ${o.url}/metrics
  spec repository   ${o.repoDir}   (branch main, specs in mirrors/)

Try next:
${rows.map(([c, why]) => `  ${why ? c.padEnd(w) + '   # ' + why : c}`).join('\n')}

Ctrl-C stops everything${o.keep ? ` (${o.dir} is kept)` : ` and removes ${o.dir}`}.
`;
}

/** The listen address is taken (the status server's error, or Node's, or its cause). */
function isAddressInUse(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: string }).code === 'EADDRINUSE' || /EADDRINUSE|address (is|already) in use/i.test(messageOf(e))) return true;
  }
  return false;
}
