/**
 * Shared by the fault suite: a small network of real `pulpdist site` processes, each behind a
 * fault proxy, a spec directory written from plain data, the real `pulpdist` binary, and the
 * checks every fault case makes (what a site's content app serves, byte for byte).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { TEMP_PREFIX } from '../../site/blobs.js';
import { runCli, tempDir, type CliResult } from '../../testkit/cli.js';
import { startSite, type RunningSite, type StartSiteOptions } from '../../testkit/site.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

// Every fault test drives one network with apply and run alike, from spec directories and
// repositories at different places: one controller id for all of them (the variable every
// pulpdist command reads), as an operator running both against one network would set.
process.env.PULPDIST_CONTROLLER_ID = 'faults';

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Poll `fn` until it returns something other than undefined, or fail naming `what`. */
export async function pollUntil<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface NetSite {
  name: string;
  site: RunningSite;
  proxy: FaultProxy;
  /** The site's own origin (the proxy bypassed), for checks that must not see the fault. */
  direct(): string;
}

export interface SiteDef {
  name: string;
  upstream?: string;
  /** Extra YAML lines under `spec:` (two-space indented), e.g. `  limits: {bandwidth: 100KiB/s}`. */
  extra?: string[];
  /** Options of the site process (allowed import paths, auth, env). */
  start?: StartSiteOptions;
  /** `spec.pulp.auth` of the Site document. */
  auth?: { username: string; passwordEnv: string };
}

export interface MirrorDef {
  name: string;
  source: { path: string } | { manifest: string };
  origin: string;
  sites: string[];
  extra?: string[];
}

/** Start every site (each behind its proxy). Stop them all with `stopNetwork`. */
export async function startNetwork(defs: SiteDef[], dataRoot: string): Promise<Map<string, NetSite>> {
  const out = new Map<string, NetSite>();
  for (const d of defs) {
    const site = await startSite({ dataDir: path.join(dataRoot, `site-${d.name}`), ...d.start });
    const proxy = await startFaultProxy(site.url);
    out.set(d.name, { name: d.name, site, proxy, direct: () => site.url });
  }
  return out;
}

export async function stopNetwork(net: Map<string, NetSite> | undefined): Promise<void> {
  for (const n of net?.values() ?? []) {
    await n.proxy.close().catch(() => undefined);
    await n.site.stop().catch(() => undefined);
  }
}

/** Restart a site process on its data directory and point its proxy at the new port. */
export async function restartSite(n: NetSite): Promise<void> {
  await n.site.restart();
  n.proxy.setTarget(n.site.url);
}

/** Write `sites.yaml` and one file per mirror into a fresh `dir`. Sites are addressed through their proxies. */
export async function writeSpecs(dir: string, net: Map<string, NetSite>, sites: SiteDef[], mirrors: MirrorDef[]): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'sites.yaml'), siteDocs(net, sites));
  for (const m of mirrors) await writeFile(path.join(dir, `${m.name}.yaml`), mirrorDoc(m));
}

export function siteDocs(net: Map<string, NetSite>, sites: SiteDef[]): string {
  return (
    sites
      .map((d) =>
        [
          'apiVersion: pulpdist/v1',
          'kind: Site',
          `metadata: {name: ${d.name}}`,
          'spec:',
          `  pulp:`,
          `    url: "${net.get(d.name)!.proxy.url}"`,
          ...(d.auth ? [`    auth: {username: ${d.auth.username}, passwordEnv: ${d.auth.passwordEnv}}`] : []),
          ...(d.upstream ? [`  upstream: ${d.upstream}`] : []),
          ...(d.extra ?? []),
        ].join('\n'),
      )
      .join('\n---\n') + '\n'
  );
}

export function mirrorDoc(m: MirrorDef): string {
  const source = 'path' in m.source ? `{path: "${m.source.path}"}` : `{manifest: "${m.source.manifest}"}`;
  return [
    'apiVersion: pulpdist/v1',
    'kind: Mirror',
    `metadata: {name: ${m.name}}`,
    'spec:',
    `  source: ${source}`,
    `  origin: ${m.origin}`,
    `  sites: [${m.sites.join(', ')}]`,
    ...(m.extra ?? []),
    '',
  ].join('\n');
}

/** Write files (relative path → content) under `root`, creating directories. */
export async function writeTreeFiles(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
}

/** The PULP_MANIFEST text of `files`. */
export function manifestOf(files: Record<string, Buffer | string>): string {
  return Object.entries(files)
    .map(([p, c]) => `${p},${sha256(c)},${Buffer.byteLength(c)}\n`)
    .join('');
}

/** Run the real binary with a per-test environment (its own cache dir). */
export function pulpdist(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliResult> {
  return runCli(args, { env, timeoutMs });
}

/** What a site's content app serves at `basePath/rel`: status and bytes (fetched past the proxy). */
export async function served(n: NetSite, basePath: string, rel: string): Promise<{ status: number; body: Buffer }> {
  const r = await fetch(`${n.direct()}/pulp/content/${basePath}/${rel}`);
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
}

/** Assert the site serves exactly `files` under `basePath` (and its PULP_MANIFEST lists exactly them). */
export async function assertServes(n: NetSite, basePath: string, files: Record<string, Buffer | string>, what = n.name): Promise<void> {
  const m = await served(n, basePath, 'PULP_MANIFEST');
  assert.is(m.status, 200, `${what}: PULP_MANIFEST of ${basePath}`);
  const lines = m.body.toString('utf8').split('\n').filter(Boolean).sort();
  assert.equal(lines, manifestOf(files).split('\n').filter(Boolean).sort(), `${what}: published manifest of ${basePath}`);
  for (const [rel, content] of Object.entries(files)) {
    const got = await served(n, basePath, rel);
    assert.is(got.status, 200, `${what}: ${basePath}/${rel}`);
    assert.ok(got.body.equals(Buffer.from(content)), `${what}: ${basePath}/${rel} is byte-identical`);
  }
}

/** Names of the objects of one kind at a site (past the proxy), sorted. */
export async function listNames(n: NetSite, kind: 'repositories' | 'remotes' | 'distributions'): Promise<string[]> {
  const r = await fetch(`${n.direct()}/pulp/api/v3/${kind}/file/file/?limit=1000`, { headers: n.site.authHeader ? { Authorization: n.site.authHeader } : {} });
  assert.is(r.status, 200);
  const body = (await r.json()) as { results: { name: string }[] };
  return body.results.map((o) => o.name).sort();
}

/**
 * Temp files a site holds: in `DATA/tmp` (older layouts) and, named `TEMP_PREFIX…`, next to the
 * artifacts in their shard directories. A finished or failed sync must leave none.
 */
export async function tempLeft(n: NetSite): Promise<string[]> {
  const out = (await readdir(path.join(n.site.dataDir, 'tmp')).catch(() => [] as string[])).map((f) => `tmp/${f}`);
  const root = path.join(n.site.dataDir, 'artifacts');
  for (const shard of await readdir(root).catch(() => [] as string[])) {
    for (const f of await readdir(path.join(root, shard)).catch(() => [] as string[])) if (f.startsWith(TEMP_PREFIX)) out.push(`artifacts/${shard}/${f}`);
  }
  return out;
}

/** One number from a site's own metrics (`/pulpdist/metrics`). */
export async function siteMetric(n: NetSite, name: string): Promise<number> {
  const text = await (await fetch(`${n.direct()}/pulpdist/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

/** GET the controller's status document. */
export async function getStatus(url: string): Promise<StatusDocument> {
  const r = await fetch(`${url}/api/v1/status`);
  assert.is(r.status, 200);
  return (await r.json()) as StatusDocument;
}

/** The network of the site-fault files: origin → a and origin → b, b being the one that fails. */
export const ORIGIN_A_B: SiteDef[] = [{ name: 'origin' }, { name: 'a', upstream: 'origin' }, { name: 'b', upstream: 'origin' }];

/** Three sites carrying one mirror `m` of a tree that a test moves on with `nextTree`. */
export interface EvolvingNetwork {
  dir: string;
  /** The source tree of mirror `m`. */
  tree: string;
  /** The spec directory `pulpdist apply` reads. */
  specs: string;
  /** Environment for the binary (its own cache dir). */
  env: Record<string, string>;
  net: Map<string, NetSite>;
  /** A new version of the tree: one file changed, one added. */
  nextTree(): Promise<{ before: Record<string, string>; after: Record<string, string> }>;
  /** Stop the sites and remove the temp dir. */
  close(): Promise<void>;
}

/** Start ORIGIN_A_B with mirror `m` on all three in a fresh temp dir and converge it with one apply. */
export async function startEvolvingNetwork(prefix: string): Promise<EvolvingNetwork> {
  const { dir, cleanup } = await tempDir(prefix);
  const tree = path.join(dir, 'trees', 'm');
  await mkdir(tree, { recursive: true });
  const defs = ORIGIN_A_B.map((s) => (s.name === 'origin' ? { ...s, start: { allowedImportPaths: [path.join(dir, 'trees')] } } : s));
  const net = await startNetwork(defs, dir);
  const specs = path.join(dir, 'specs');
  const env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
  let generation = 0;
  let files: Record<string, string> = {};
  const nextTree = async () => {
    const before = files;
    generation++;
    files = { ...files, 'README': `generation ${generation}\n`, [`pkgs/p${generation}.rpm`]: `package ${generation} `.repeat(50) };
    await writeTreeFiles(tree, files);
    return { before, after: files };
  };
  await nextTree();
  await writeSpecs(specs, net, ORIGIN_A_B, [{ name: 'm', source: { path: tree }, origin: 'origin', sites: ['origin', 'a', 'b'] }]);
  const r = await pulpdist(['apply', '--specs', specs], env);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const close = async () => {
    await stopNetwork(net);
    await cleanup();
  };
  return { dir, tree, specs, env, net, nextTree, close };
}
