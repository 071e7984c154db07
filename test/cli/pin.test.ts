/**
 * Pin and roll back (issue 20) with the real binary on three real embedded sites, origin → hub →
 * leaf: pin the leaf to an earlier tree by digest, by prefix and by version (its content app
 * serves those bytes exactly; hub and origin keep the latest, even as the source moves on), unpin
 * (the latest again, repository-backed), a pin to a pruned tree (plan error listing what is
 * retained), and a pinned hub (the leaf, wanting the latest, pulls from the origin). Status says
 * Synced to the pinned tree, with the pin.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { controllerIdOption } from '../../cli/options.js';
import { clientsFor } from '../../cli/pass-setup.js';
import { silentLogger } from '../../core/logger.js';
import type { HistoryDocument } from '../../reconcilers/history.js';
import { syncKey } from '../../reconcilers/names.js';
import { createPassMemory, reconcilePass } from '../../reconcilers/pass.js';
import { createSourceReader } from '../../sources/reader.js';
import { loadSpecPaths } from '../../spec/load.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { planJson } from '../../testkit/plan-json.js';
import { call, siteYaml, startChainSites, type RunningSite } from '../../testkit/site.js';
import { treeDigestOf } from '../../testkit/tree.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
const sites: Record<'origin' | 'hub' | 'leaf', RunningSite | undefined> = { origin: undefined, hub: undefined, leaf: undefined };
let specs = '';
let tree = '';
const env = (): Record<string, string> => ({ XDG_CACHE_HOME: path.join(dir, 'cache') });
/** Each tree applied, in order: its files and digest. */
const trees: { files: Record<string, string>; digest: string }[] = [];

function treeFiles(n: number): Record<string, string> {
  return { 'a.txt': `a, tree ${n}\n`, 'b/c.txt': n % 2 ? 'c odd\n' : 'c even\n' };
}

async function writeSpecs(pinLines: string[] = []): Promise<void> {
  await writeFile(path.join(specs, 'specs.yaml'), [
    siteYaml('origin', sites.origin!.url), '---',
    siteYaml('hub', sites.hub!.url, { upstream: 'origin' }), '---',
    siteYaml('leaf', sites.leaf!.url, { upstream: 'hub' }), '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: tools}', 'spec:', `  source: {path: "${tree}"}`, '  origin: origin',
    '  sites: [origin, hub, leaf]', '  retainVersions: 3', ...pinLines.map((x) => `  ${x}`), '',
  ].join('\n'));
}

async function apply(): Promise<string> {
  const a = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(a.code, 0, a.stdout + a.stderr);
  return a.stdout;
}

async function plan(): Promise<{ code: number | null; out: string }> {
  const p = await runCli(['plan', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  return { code: p.code, out: p.stdout + p.stderr };
}

/** Put tree n at the source (the old files removed) and apply it. */
async function newTree(n: number): Promise<void> {
  await rm(tree, { recursive: true, force: true });
  const files = treeFiles(n);
  for (const [p, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(tree, p)), { recursive: true });
    await writeFile(path.join(tree, p), text);
  }
  await apply();
  trees.push({ files, digest: treeDigestOf(files) });
}

async function served(site: 'origin' | 'hub' | 'leaf', file = 'a.txt'): Promise<string> {
  const res = await fetch(`${sites[site]!.url}/pulp/content/tools/${file}`);
  assert.is(res.status, 200, `${site} ${file}`);
  return res.text();
}

async function distributionAt(site: 'origin' | 'hub' | 'leaf'): Promise<{ repository: string | null; publication: string | null }> {
  return (await call(sites[site]!, 'GET', '/pulp/api/v3/distributions/file/file/?name=pulpdist.tools')).body.results[0];
}

let setup: Promise<void> = Promise.resolve();

async function prepare(): Promise<void> {
  ({ dir, cleanup } = await tempDir('pulpdist-pin-'));
  tree = path.join(dir, 'trees', 'tools');
  await startChainSites(dir, sites);
  specs = path.join(dir, 'specs');
  await mkdir(specs);
  await writeSpecs();
  for (const n of [0, 1, 2]) await newTree(n);
}

test.before(() => {
  setup = prepare();
  setup.catch(() => undefined); // reported by the first test that awaits it
});

test.after(async () => {
  await Promise.all(Object.values(sites).map((s) => s?.stop()));
  await cleanup();
});

test('pin the leaf to the first tree by digest: plan shows the rollback, the leaf serves those bytes, hub and origin the latest', async () => {
  await setup;
  const [t0, , t2] = trees;
  await writeSpecs(['pins:', `  leaf: ${t0!.digest}`]);
  const p = await plan();
  assert.is(p.code, 2, p.out);
  assert.ok(p.out.includes(`serves ${t0!.digest.slice(0, 12)}… (v1) instead of ${t2!.digest.slice(0, 12)}… (v3) (rollback; pinned by spec.pins.leaf)`), p.out);
  await apply();
  assert.is(await served('leaf'), t0!.files['a.txt']);
  assert.is(await served('leaf', 'b/c.txt'), t0!.files['b/c.txt']);
  assert.is(await served('hub'), t2!.files['a.txt']);
  assert.is(await served('origin'), t2!.files['a.txt']);
  const d = await distributionAt('leaf');
  assert.is(d.repository, null);
  assert.ok(d.publication?.includes('/publications/file/file/'));
  const again = await plan();
  assert.is(again.code, 0, again.out);
  // The JSON plan lists the pin (and matches its schema).
  const { doc } = await planJson(specs, env());
  assert.equal(doc.pins, [{ mirror: 'tools', site: 'leaf', digest: t0!.digest, version: 1, why: 'pinned by spec.pins.leaf' }]);
  // history names the pinned version as the one served (the distribution names its publication).
  const h = await runCli(['history', 'tools', '--specs', specs, '--site', 'leaf', '--json'], { env: env() });
  assert.is(h.code, 0, h.stderr);
  const leaf = (JSON.parse(h.stdout) as HistoryDocument).sites[0]!;
  assert.is(leaf.serving, 1);
  assert.equal(leaf.versions.filter((v) => v.serving).map((v) => v.treeDigest), [t0!.digest]);
});

test('status: the pinned leaf is Synced to its pinned tree and says so; the others are Synced to the source', async () => {
  await setup;
  const loaded = await loadSpecPaths([specs]);
  const deps = { clients: clientsFor(loaded.specs, silentLogger), log: silentLogger, now: () => new Date(), memory: createPassMemory(), sources: createSourceReader() };
  // The controller id `pulpdist apply` derived for this spec directory, so that its objects are ours.
  const controllerId = await controllerIdOption(undefined, specs);
  const result = await reconcilePass(loaded.specs, deps, { signal: AbortSignal.timeout(60_000), dryRun: true, controllerId });
  const cells = new Map(result.mirrors[0]!.sites.map((s) => [s.site, s]));
  const leaf = cells.get('leaf')!;
  assert.is(leaf.state, 'Synced', leaf.message);
  assert.equal(leaf.pin, { digest: trees[0]!.digest, version: 1, why: 'pinned by spec.pins.leaf' });
  assert.is(leaf.treeDigest, trees[0]!.digest);
  assert.is(leaf.version, 1);
  assert.match(leaf.message, /serves the pinned tree [0-9a-f]{12}… \(v1\): pinned by spec\.pins\.leaf/);
  for (const s of ['hub', 'origin']) {
    assert.is(cells.get(s)!.state, 'Synced');
    assert.is(cells.get(s)!.pin, undefined);
    assert.is(cells.get(s)!.treeDigest, trees[2]!.digest);
  }
  // The pass remembers the pinned leaf's version trees (only the leaf's: nothing else is pinned)…
  const known = deps.memory.versionTrees!;
  assert.equal([...known.keys()], [syncKey('tools', 'leaf')]);
  const leafTrees = known.get(syncKey('tools', 'leaf'))!;
  assert.equal([...leafTrees.values()].map((t) => t.digest).sort(), trees.slice(0, 3).map((t) => t.digest).sort());
  // …and takes them from memory next time (a version never changes): remembered wrongly, v2 would
  // hold the pinned tree too, and the newer of the two is the one to serve.
  const v2 = [...leafTrees.keys()].find((h) => h.endsWith('/versions/2/'))!;
  leafTrees.set(v2, { digest: trees[0]!.digest, files: 2, bytes: 1 });
  const second = await reconcilePass(loaded.specs, deps, { signal: AbortSignal.timeout(60_000), dryRun: true, controllerId });
  const again = second.mirrors[0]!.sites.find((s) => s.site === 'leaf')!;
  assert.is(again.pin?.version, 2);
  assert.is(again.state, 'OutOfSync');
});

test('the source moves on: origin and hub take the new tree, the pinned leaf does not sync', async () => {
  await setup;
  await newTree(3);
  assert.is(await served('origin'), trees[3]!.files['a.txt']);
  assert.is(await served('hub'), trees[3]!.files['a.txt']);
  assert.is(await served('leaf'), trees[0]!.files['a.txt']);
  const repo = (await call(sites.leaf!, 'GET', '/pulp/api/v3/repositories/file/file/?name=pulpdist.tools')).body.results[0];
  assert.match(repo.latest_version_href, /\/versions\/3\/$/);
});

test('pin by a 12-digit prefix, then by version: the leaf serves those trees', async () => {
  await setup;
  await writeSpecs(['pins:', `  leaf: ${trees[1]!.digest.slice(0, 12)}`]);
  const p = await plan();
  assert.ok(p.out.includes(`serves ${trees[1]!.digest.slice(0, 12)}… (v2) instead of ${trees[0]!.digest.slice(0, 12)}… (v1) (roll-forward; pinned by spec.pins.leaf)`), p.out);
  await apply();
  assert.is(await served('leaf'), trees[1]!.files['a.txt']);
  await writeSpecs(['pins:', '  leaf: v1']);
  await apply();
  assert.is(await served('leaf'), trees[0]!.files['a.txt']);
  assert.is((await plan()).code, 0);
});

test('unpin: the leaf returns to its repository and syncs the latest', async () => {
  await setup;
  await writeSpecs();
  const p = await plan();
  assert.is(p.code, 2, p.out);
  assert.match(p.out, /serves the latest \(v3\) again instead of [0-9a-f]{12}… \(no pin\)/);
  await apply();
  assert.is(await served('leaf'), trees[3]!.files['a.txt']);
  const d = await distributionAt('leaf');
  assert.is(d.publication, null);
  assert.ok(d.repository?.includes('/repositories/file/file/'));
  assert.is((await plan()).code, 0);
});

test('a pin to a pruned tree: plan error listing the digests the leaf retains, nothing changes', async () => {
  await setup;
  // retainVersions 3: the leaf now holds v2..v4 (trees 1..3); tree 0 is gone everywhere.
  await writeSpecs(['pins:', `  leaf: ${trees[0]!.digest}`]);
  const p = await plan();
  assert.is(p.code, 1, p.out);
  const listed = `it retains ${trees[3]!.digest.slice(0, 12)}… (v4), ${trees[2]!.digest.slice(0, 12)}… (v3), ${trees[1]!.digest.slice(0, 12)}… (v2)`;
  assert.ok(p.out.includes(`leaf does not retain tree ${trees[0]!.digest.slice(0, 12)}… and no site up its chain serves it; ${listed}`), p.out);
  const j = await planJson(specs, env());
  assert.is(j.code, 1);
  assert.equal(j.doc.errors?.map((e) => [e.site, e.mirror]), [['leaf', 'tools']]);
  assert.match(j.doc.errors![0]!.message, `leaf does not retain tree ${trees[0]!.digest.slice(0, 12)}…`);
  const a = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(a.code, 1, a.stdout);
  // The outcome names the pin as what keeps the pass from converging.
  assert.ok(a.stdout.includes(`leaf: mirror tools: leaf does not retain tree ${trees[0]!.digest.slice(0, 12)}…`), a.stdout);
  assert.is(await served('leaf'), trees[3]!.files['a.txt']);
});

test('pin the hub: the leaf, wanting the latest, pulls from the origin and serves the latest', async () => {
  await setup;
  await writeSpecs(['pins:', '  hub: v3']);
  await apply();
  await newTree(4);
  assert.is(await served('origin'), trees[4]!.files['a.txt']);
  assert.is(await served('hub'), trees[2]!.files['a.txt']);
  assert.is(await served('leaf'), trees[4]!.files['a.txt']);
  const remote = (await call(sites.leaf!, 'GET', '/pulp/api/v3/remotes/file/file/?name=pulpdist.tools')).body.results[0];
  assert.is(remote.url, `${sites.origin!.url}/pulp/content/tools/PULP_MANIFEST`);
  assert.is((await plan()).code, 0);
});

test('pin the leaf to the tree the pinned hub serves, pruned at the leaf: it syncs it from the hub', async () => {
  await setup;
  await writeSpecs(['pins:', '  hub: v3']);
  await newTree(5); // the leaf now retains trees 3..5; tree 2 only the hub still serves
  assert.is(await served('leaf'), trees[5]!.files['a.txt']);
  await writeSpecs(['pins:', '  hub: v3', `  leaf: ${trees[2]!.digest.slice(0, 16)}`]);
  const p = await plan();
  assert.is(p.code, 2, p.out);
  assert.ok(p.out.includes(`leaf does not retain ${trees[2]!.digest.slice(0, 12)}…: pulls it from hub (pinned by spec.pins.leaf)`), p.out);
  await apply();
  assert.is(await served('leaf'), trees[2]!.files['a.txt']);
  assert.is(await served('hub'), trees[2]!.files['a.txt']);
  assert.is(await served('origin'), trees[5]!.files['a.txt']);
  const again = await plan();
  assert.is(again.code, 0, again.out);
});

test.run();
