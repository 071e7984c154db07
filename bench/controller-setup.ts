/**
 * The bench:controller fixture: three embedded sites (origin → hub → leaf, real `pulpdist site`
 * processes), a bare spec repository served by `git http-backend`, tiny source trees, and helpers
 * to push specs and to wait for a mirror to be Synced everywhere on the status endpoint.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StatusDocument } from '../core/status.js';
import { startDemoSite, type DemoSite } from '../demo/sites.js';
import { commitAndPush, makeRepo, startGitServer, writeFiles, type RunningGitServer } from '../testkit/git-server.js';

export interface Fixture {
  dir: string;
  trees: string;
  sites: DemoSite[];
  git: RunningGitServer;
  bare: string;
  work: string;
  repoUrl: string;
  close(): Promise<void>;
}

export const siteYaml = (name: string, url: string, upstream?: string): string =>
  `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: ${name}}\nspec:\n  pulp: {url: "${url}"}\n  limits: {concurrentSyncs: 8}\n${upstream ? `  upstream: ${upstream}\n` : ''}`;

export const mirrorYaml = (name: string, tree: string): string =>
  `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: ${name}}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, hub, leaf]\n`;

/** Start the sites and the Git server; the repository holds the three Site specs under `specs/`. */
export async function startFixture(dir: string, signal: AbortSignal, opts: { siteLog?: (line: string) => void } = {}): Promise<Fixture> {
  const trees = path.join(dir, 'trees');
  mkdirSync(trees, { recursive: true });
  const sites: DemoSite[] = [];
  for (const name of ['origin', 'hub', 'leaf']) {
    sites.push(await startDemoSite({ name, dataDir: path.join(dir, 'site-' + name), allowedImportPaths: [trees], signal, ...(opts.siteLog ? { onLog: opts.siteLog } : {}) }));
  }
  const { bare, work } = makeRepo(dir, 'specs', {
    'specs/sites/origin.yaml': siteYaml('origin', sites[0]!.url),
    'specs/sites/hub.yaml': siteYaml('hub', sites[1]!.url, 'origin'),
    'specs/sites/leaf.yaml': siteYaml('leaf', sites[2]!.url, 'hub'),
  });
  const git = await startGitServer(dir);
  return {
    dir,
    trees,
    sites,
    git,
    bare,
    work,
    repoUrl: `${git.url}/specs.git`,
    async close() {
      await git.close();
      for (const s of sites) await s.stop();
    },
  };
}

/** A small source tree: `files` files of `size` bytes, distinct per name. */
export function makeTree(trees: string, name: string, files: number, size: number): string {
  const root = path.join(trees, name);
  mkdirSync(root, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(path.join(root, `f${i}.bin`), Buffer.alloc(size, `${name}-${i}-`));
  return root;
}

/** Commit and push mirror specs (and their trees); returns the commit. */
export function pushMirrors(f: Fixture, names: string[], opts: { files: number; size: number }): string {
  const files: Record<string, string> = {};
  for (const n of names) files[`specs/mirrors/${n}.yaml`] = mirrorYaml(n, makeTree(f.trees, n, opts.files, opts.size));
  writeFiles(f.work, files);
  return commitAndPush(f.work, `add ${names.length} mirror(s)`);
}

/** Poll `/api/v1/status` until `pred` holds; resolves with the time it held (ms since epoch). */
export async function waitFor(url: string, pred: (d: StatusDocument) => boolean, timeoutMs: number, signal: AbortSignal): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    signal.throwIfAborted();
    const d = await fetch(`${url}/api/v1/status`, { signal }).then((r) => r.json() as Promise<StatusDocument>, () => null);
    if (d && pred(d)) return Date.now();
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting on ${url}`);
}

/** True when every named mirror is Synced at every one of its sites. */
export const syncedEverywhere = (d: StatusDocument, names: Iterable<string>): boolean => {
  const byName = new Map(d.mirrors.map((m) => [m.name, m]));
  for (const n of names) {
    const m = byName.get(n);
    if (!m || m.sites.length === 0 || !m.sites.every((c) => c.state === 'Synced')) return false;
  }
  return true;
};
