/**
 * The demo's orchestration: three embedded sites, generated source trees, a Git repository made
 * from the bundled `mirrors/`, and the controller with its status endpoint, all on loopback and
 * all under one temp dir. `startDemo` starts everything and returns handles; `pulpdist demo` only
 * parses options and prints.
 *
 * The site passwords are random per run. So that a second terminal can use them (`pulpdist plan`
 * in the demo repository), they are also written to an env file in the temp dir (mode 0600, gone
 * with the temp dir) that the printed next steps source.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { EXAMPLE_SPECS_DIR, SCHEMA_DIR } from '../core/paths.js';
import { registerSecret } from '../core/redact.js';
import { startController } from '../controller/start.js';
import { buildDemoRepo, readExampleSpecs } from './repo.js';
import { writeSampleTree } from './sample-tree.js';
import { startDemoSite } from './sites.js';

export interface StartDemoOptions {
  /** The status endpoint; a free port when this one is taken. @default '127.0.0.1:8080' */
  listen?: string;
  /** Drift repair period. @default 10_000 */
  intervalMs?: number;
  /** Keep the temp dir on close. @default false */
  keep?: boolean;
  /** The sites' request log lines (the demo shows them with --verbose). */
  onSiteLog?: (line: string) => void;
  /** Progress lines while setting up ("source tree for tools: 241 files"). */
  onProgress?: (line: string) => void;
  version: string;
  log: Logger;
  signal: AbortSignal;
}

export interface RunningDemo {
  /** The temp dir holding everything. */
  dir: string;
  /** The status endpoint's origin. */
  url: string;
  /** The spec repository's work tree (branch main, specs in `mirrors/`). */
  repoDir: string;
  /** Site name → API origin, in the example's order. */
  sites: { name: string; url: string; username?: string; passwordEnv?: string }[];
  /** Mirror name → generated source tree. */
  trees: Map<string, string>;
  /** A shell file exporting every site password variable (`. FILE`). */
  envFile: string;
  /** Stop the controller and the sites; remove the temp dir unless `keep`. */
  close(): Promise<void>;
}

/** Start the whole demo; on failure whatever was started is stopped again. */
export async function startDemo(o: StartDemoOptions): Promise<RunningDemo> {
  const { listen = '127.0.0.1:8080', intervalMs = 10_000, keep = false, signal, log } = o;
  const progress = o.onProgress ?? (() => {});
  const example = await readExampleSpecs(EXAMPLE_SPECS_DIR).catch((err: unknown) => {
    throw new ConfigError(`cannot read the bundled example specs in ${EXAMPLE_SPECS_DIR}: ${messageOf(err)}`);
  });
  if (example.sites.length === 0) throw new ConfigError(`the bundled example ${EXAMPLE_SPECS_DIR} declares no Site`);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-demo-'));
  const cleanups: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err: unknown) => log.warn('cleanup step failed', { error: messageOf(err) }));
    if (!keep) await rm(dir, { recursive: true, force: true });
  };
  try {
    progress(`pulpdist demo: setting up in ${dir}`);
    const treesDir = path.join(dir, 'trees');
    const trees = new Map<string, string>();
    for (const [i, m] of example.mirrors.entries()) {
      const root = path.join(treesDir, m.name);
      const r = await writeSampleTree(root, { seed: m.name, files: 200 + 20 * i, signal });
      trees.set(m.name, root);
      progress(`  source tree for ${m.name}: ${r.files} files`);
    }

    const env: NodeJS.ProcessEnv = { ...process.env };
    const exports: string[] = [];
    const sites: RunningDemo['sites'] = [];
    for (const s of example.sites) {
      const auth = s.auth ? { ...s.auth, password: randomBytes(12).toString('base64url') } : undefined;
      if (auth) {
        registerSecret(auth.password);
        env[auth.passwordEnv] = auth.password;
        // base64url needs no shell quoting; quoted anyway in case that ever changes.
        exports.push(`export ${auth.passwordEnv}='${auth.password}'`);
      }
      const site = await startDemoSite({ name: s.name, dataDir: path.join(dir, 'sites', s.name), allowedImportPaths: [treesDir], auth, onLog: o.onSiteLog, signal });
      cleanups.push(site.stop);
      sites.push({ name: s.name, url: site.url, ...(auth ? { username: auth.username, passwordEnv: auth.passwordEnv } : {}) });
      progress(`  site ${s.name}: ${site.url}${auth ? ` (user ${auth.username}, password in $${auth.passwordEnv})` : ''}`);
    }
    const envFile = path.join(dir, 'env.sh');
    await writeFile(envFile, `# The demo sites' passwords, for pulpdist plan/apply in another shell: . ${envFile}\n${exports.join('\n')}\n`, { mode: 0o600 });

    const repoDir = path.join(dir, 'repo');
    await buildDemoRepo({ specDir: EXAMPLE_SPECS_DIR, schemaDir: SCHEMA_DIR, repoDir, siteUrls: new Map(sites.map((s) => [s.name, s.url])), treePaths: trees });
    const common = { repo: repoDir, path: 'mirrors', intervalMs, stateDir: path.join(dir, 'state'), env, version: o.version, log };
    let running;
    try {
      running = await startController({ ...common, listen });
    } catch (err) {
      if (!isAddressInUse(err)) throw err;
      progress(`  ${listen} is taken; using a free port instead`);
      running = await startController({ ...common, listen: listen.replace(/:\d+$/, ':0') });
    }
    const controller = running;
    cleanups.push(() => controller.close({ graceMs: 5_000 }));
    return { dir, url: controller.url!, repoDir, sites, trees, envFile, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The listen address is taken (the status server's error, or Node's, or its cause). */
function isAddressInUse(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: string }).code === 'EADDRINUSE' || /EADDRINUSE|address (is|already) in use/i.test(messageOf(e))) return true;
  }
  return false;
}
