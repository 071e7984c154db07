/**
 * A tree the controller cannot write (issue 16): its owner keeps TREE/PULP_MANIFEST current with
 * `pulpdist manifest`, and `pulpdist apply`, run without write access (as root: without the
 * capabilities that override file permissions), publishes it without writing anything into it. A
 * change the owner has not content-addressed yet fails with a clear error, and the tree stays
 * untouched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { runUnprivileged, treeSnapshot as snapshot } from '../../testkit/unprivileged.js';
import { siteYaml, startSite, type RunningSite } from '../../testkit/site.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let tree = '';
let specsDir = '';
let cacheHome = '';
const sites = new Map<string, RunningSite>();

const unprivileged = (args: string[]) => runUnprivileged(args, { XDG_CACHE_HOME: cacheHome, HOME: cacheHome });

function setWritable(writable: boolean): void {
  for (const d of [tree, path.join(tree, 'sub')]) fs.chmodSync(d, writable ? 0o755 : 0o555);
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-read-only-'));
  fs.chmodSync(dir, 0o755); // the unprivileged user must reach the tree and the specs
  tree = path.join(dir, 'trees', 'ro');
  fs.mkdirSync(path.join(tree, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(tree, 'sub', 'b.bin'), Buffer.alloc(70_000, 7));
  // The owner content-addresses the tree.
  const m = await runCli(['manifest', tree, '-o', path.join(tree, 'PULP_MANIFEST'), '--no-cache']);
  assert.is(m.code, 0, m.stderr);
  setWritable(false);
  cacheHome = path.join(dir, 'cache');
  fs.mkdirSync(cacheHome, { mode: 0o777 });
  fs.chmodSync(cacheHome, 0o777);
  for (const n of ['origin', 'leaf']) {
    sites.set(n, await startSite({ dataDir: path.join(dir, `site-${n}`), ...(n === 'origin' ? { allowedImportPaths: [path.join(dir, 'trees')] } : {}) }));
  }
  specsDir = path.join(dir, 'specs');
  fs.mkdirSync(specsDir);
  const site = (n: string, upstream?: string) => siteYaml(n, sites.get(n)!.url, upstream ? { upstream } : {});
  fs.writeFileSync(path.join(specsDir, 'sites.yaml'), `${site('origin')}\n---\n${site('leaf', 'origin')}\n`);
  fs.writeFileSync(path.join(specsDir, 'ro.yaml'), ['apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: ro}', 'spec:', `  source: {path: "${tree}"}`, '  origin: origin', '  sites: [origin, leaf]', ''].join('\n'));
});

test.after(async () => {
  await Promise.all([...sites.values()].map((s) => s.stop()));
  setWritable(true);
  await cleanup();
});

test('the tree cannot be written by the user running apply', async () => {
  const probe = await unprivileged(['manifest', tree, '-o', path.join(tree, 'probe'), '--no-cache']);
  assert.is(probe.code, 1, probe.stderr);
  assert.match(probe.stderr, /cannot write the manifest .*probe \(EACCES\)/);
});

test('apply publishes a read-only tree whose owner keeps its PULP_MANIFEST, writing nothing into it', async () => {
  const before = snapshot(tree);
  const a = await unprivileged(['apply', '--specs', specsDir]);
  assert.is(a.code, 0, a.stdout + a.stderr);
  assert.match(a.stdout, /Converged/);
  const leaf = sites.get('leaf')!.url;
  assert.is(await (await fetch(`${leaf}/pulp/content/ro/a.txt`)).text(), 'alpha\n');
  assert.ok(Buffer.from(await (await fetch(`${leaf}/pulp/content/ro/sub/b.bin`)).arrayBuffer()).equals(Buffer.alloc(70_000, 7)));
  assert.equal(snapshot(tree), before);
});

test('a change the owner has not content-addressed: a clear error, nothing published, the tree untouched', async () => {
  setWritable(true);
  fs.writeFileSync(path.join(tree, 'sub', 'c.txt'), 'new\n');
  setWritable(false);
  const before = snapshot(tree);
  const a = await unprivileged(['apply', '--specs', specsDir]);
  assert.not.match(a.stdout, /Converged/);
  assert.match(a.stdout + a.stderr, /cannot write the manifest .*PULP_MANIFEST \(EACCES\)/);
  assert.is((await fetch(`${sites.get('leaf')!.url}/pulp/content/ro/sub/c.txt`)).status, 404);
  assert.equal(snapshot(tree), before);
});

test.run();
