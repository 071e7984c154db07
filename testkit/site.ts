/**
 * Starts a REAL `pulpdist site` child process on 127.0.0.1:0 and talks to it. `startSite` waits for
 * the `pulpdist site listening on URL` line. `restart` keeps the data directory (the port changes;
 * `url` follows). `stop` ends the process (SIGTERM) and removes a data directory the helper made;
 * `kill` is SIGKILL, for crash tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './cli.js';

export interface RunningSite {
  url: string;
  dataDir: string;
  pid: number;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** `extraArgs` replaces the options given at start (e.g. a site started with `--workers 0` gets its worker back). */
  restart(opts?: { extraArgs?: string[] }): Promise<void>;
  /** Everything the process wrote on stderr so far (its request and task log). */
  stderr(): string;
  /** Authorization header value when the site requires auth, else undefined. */
  authHeader?: string;
  /** Exit code of the last process once it has exited (null while running or when killed by a signal). */
  exitCode(): number | null;
}

export interface StartSiteOptions {
  dataDir?: string;
  username?: string;
  password?: string;
  allowedImportPaths?: string[];
  env?: Record<string, string>;
  extraArgs?: string[];
}

function launch(args: string[], env: Record<string, string>, log: { text: string }): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'site', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pulpdist site did not start within 20s; stderr:\n${log.text}`));
    }, 20_000);
    child.stderr!.on('data', (d) => (log.text += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /pulpdist site listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pulpdist site exited with ${code} before listening; stderr:\n${log.text}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startSite(opts: StartSiteOptions = {}): Promise<RunningSite> {
  const owned = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'pulpdist-site-')));
  const env: Record<string, string> = { ...(opts.env ?? {}) };
  const args = ['--listen', '127.0.0.1:0', '--data', dataDir];
  for (const p of opts.allowedImportPaths ?? []) args.push('--allowed-import-path', p);
  if (opts.username !== undefined) {
    env.PULPDIST_TEST_SITE_PASSWORD = opts.password ?? '';
    args.push('--username', opts.username, '--password-env', 'PULPDIST_TEST_SITE_PASSWORD');
  }
  const baseArgs = [...args];
  args.push(...(opts.extraArgs ?? []));
  const log = { text: '' };
  let { child, url } = await launch(args, env, log);
  const site: RunningSite = {
    url,
    dataDir,
    pid: child.pid!,
    authHeader: opts.username !== undefined ? `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}` : undefined,
    stderr: () => log.text,
    exitCode: () => child.exitCode,
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      if (owned) await rm(dataDir, { recursive: true, force: true });
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async restart(o = {}) {
      child.kill('SIGTERM');
      await exited(child);
      if (o.extraArgs) args.splice(0, args.length, ...baseArgs, ...o.extraArgs);
      ({ child, url } = await launch(args, env, log));
      site.url = url;
      site.pid = child.pid!;
    },
  };
  return site;
}

/** A tiny JSON client for tests: absolute or relative (href) URLs, auth when the site needs it. */
export async function call(
  site: RunningSite,
  method: string,
  hrefOrUrl: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const url = /^https?:/.test(hrefOrUrl) ? hrefOrUrl : site.url + hrefOrUrl;
  const headers: Record<string, string> = {};
  if (site.authHeader) headers.Authorization = site.authHeader;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Poll a task to a final state (deadline 60 s) and return it. */
export async function waitTask(site: RunningSite, taskHref: string, deadlineMs = 60_000): Promise<any> {
  const end = Date.now() + deadlineMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    const r = await call(site, 'GET', taskHref);
    if (r.status !== 200) throw new Error(`GET ${taskHref} → ${r.status} ${r.text}`);
    if (['completed', 'failed', 'canceled'].includes(r.body.state)) return r.body;
    if (Date.now() > end) throw new Error(`task ${taskHref} still ${r.body.state} after ${deadlineMs} ms`);
    await new Promise((res) => setTimeout(res, delay));
  }
}

/** POST/PATCH/DELETE something that answers 202 and wait for its task. */
export async function runTask(site: RunningSite, method: string, href: string, body?: unknown): Promise<any> {
  const r = await call(site, method, href, body);
  if (r.status !== 202) throw new Error(`${method} ${href} → ${r.status} ${r.text}`);
  return waitTask(site, r.body.task);
}

/** The hrefs of a mirror made at one site by `mirrorAt`. */
export interface SiteMirror {
  repo: string;
  remote: string;
  dist: string;
}

/**
 * A mirror at one site, as the controller makes it: a repository (autopublish), a remote for the
 * manifest at `url` and a distribution at `basePath` serving the repository.
 */
export async function mirrorAt(site: RunningSite, name: string, url: string, basePath: string, opts: { labels?: Record<string, string>; concurrency?: number } = {}): Promise<SiteMirror> {
  const repo = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name, autopublish: true, ...(opts.labels ? { pulp_labels: opts.labels } : {}) });
  if (repo.status !== 201) throw new Error(`creating repository ${name}: ${repo.status} ${repo.text}`);
  const remote = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name, url, download_concurrency: opts.concurrency ?? 4 });
  if (remote.status !== 201) throw new Error(`creating remote ${name}: ${remote.status} ${remote.text}`);
  const task = await runTask(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name, base_path: basePath, repository: repo.body.pulp_href });
  if (task.state !== 'completed') throw new Error(`creating distribution ${name}: ${JSON.stringify(task.error)}`);
  return { repo: repo.body.pulp_href, remote: remote.body.pulp_href, dist: task.created_resources[0] };
}

export type ChainSite = 'origin' | 'hub' | 'leaf';

/**
 * Three sites in `dir` (origin, hub, leaf; started at once), the origin importing from
 * `dir/trees`, into `into` as each starts, so that a test's `after` stops whatever did start.
 */
export async function startChainSites(dir: string, into: Partial<Record<ChainSite, RunningSite>>): Promise<Record<ChainSite, RunningSite>> {
  const start = async (name: ChainSite) => {
    into[name] = await startSite({ dataDir: path.join(dir, name), ...(name === 'origin' ? { allowedImportPaths: [path.join(dir, 'trees')] } : {}) });
  };
  await Promise.all((['origin', 'hub', 'leaf'] as const).map(start));
  return into as Record<ChainSite, RunningSite>;
}

/**
 * A Site document (YAML, no trailing newline) for a site listening at `url`, pulling from
 * `upstream` when given, with `labels` in its metadata when given.
 */
export function siteYaml(name: string, url: string, opts: { upstream?: string; labels?: Record<string, string> } = {}): string {
  const labels = opts.labels ? `, labels: {${Object.entries(opts.labels).map(([k, v]) => `${k}: ${v}`).join(', ')}}` : '';
  return ['apiVersion: pulpdist/v1', 'kind: Site', `metadata: {name: ${name}${labels}}`, 'spec:', `  pulp: {url: "${url}"}`, ...(opts.upstream ? [`  upstream: ${opts.upstream}`] : [])].join('\n');
}
