/**
 * `pulpdist cleanup` (issue 22): after a mirror is removed, or a version dropped by
 * `retainVersions`, the orphan cleanup gives back exactly the space only they used; a live
 * artifact is never removed, including one shared by both trees. Real `pulpdist site` processes
 * (origin → hub), the real binary; the sites' blob stores are measured on disk. A cleanup never
 * starts while a sync runs at the site (another controller's included).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
const sites: Record<string, RunningSite> = {};
let specs = '';
const env = (): Record<string, string> => ({ XDG_CACHE_HOME: path.join(dir, 'cache') });
const SHARED = randomBytes(50_000);
const A_ONLY = randomBytes(200_000);
const A2 = randomBytes(120_000);
const B_ONLY = randomBytes(300_000);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const blob = (site: string, b: Buffer) => path.join(dir, site, 'artifacts', sha(b).slice(0, 2), sha(b).slice(2));

async function blobBytes(site: string): Promise<number> {
  let n = 0;
  const root = path.join(dir, site, 'artifacts');
  for (const shard of await readdir(root)) for (const f of await readdir(path.join(root, shard))) n += (await stat(path.join(root, shard, f))).size;
  return n;
}

async function writeSpecs(mirrors: string[]): Promise<void> {
  const trees = path.join(dir, 'trees');
  const docs = [
    ['apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', `spec: {pulp: {url: "${sites.origin!.url}"}}`],
    ['apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: hub}', `spec: {pulp: {url: "${sites.hub!.url}"}, upstream: origin}`],
    ...mirrors.map((m) => ['apiVersion: pulpdist/v1', 'kind: Mirror', `metadata: {name: ${m}}`, `spec: {source: {path: "${trees}/${m}"}, origin: origin, sites: [origin, hub], retainVersions: 1}`]),
  ];
  await writeFile(path.join(specs, 'specs.yaml'), docs.map((d) => d.join('\n')).join('\n---\n') + '\n');
}

async function serves(site: string, m: string, file: string, want: Buffer): Promise<void> {
  const got = Buffer.from(await (await fetch(`${sites[site]!.url}/pulp/content/${m}/${file}`)).arrayBuffer());
  assert.ok(got.equals(want), `${site} serves ${m}/${file} byte-exact`);
}

let setup: Promise<void> = Promise.resolve();
async function prepare(): Promise<void> {
  ({ dir, cleanup } = await tempDir('pulpdist-cleanup-'));
  for (const [m, files] of [['a', { 'shared.bin': SHARED, 'a-only.bin': A_ONLY }], ['b', { 'shared.bin': SHARED, 'b-only.bin': B_ONLY }]] as const) {
    await mkdir(path.join(dir, 'trees', m), { recursive: true });
    for (const [f, b] of Object.entries(files)) await writeFile(path.join(dir, 'trees', m, f), b);
  }
  sites.origin = await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [path.join(dir, 'trees')] });
  sites.hub = await startSite({ dataDir: path.join(dir, 'hub') });
  specs = path.join(dir, 'specs');
  await mkdir(specs);
  await writeSpecs(['a', 'b']);
  const r = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
}

test.before(() => {
  setup = prepare();
  setup.catch(() => undefined);
});

test.after(async () => {
  await Promise.all(Object.values(sites).map((s) => s.stop()));
  await cleanup();
});

test('a removed mirror: its unique bytes come back, the shared artifact and the other mirror stay', async () => {
  await setup;
  await writeSpecs(['a']);
  const removed = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(removed.code, 0, removed.stdout + removed.stderr);
  const before = { origin: await blobBytes('origin'), hub: await blobBytes('hub') };
  assert.ok(existsSync(blob('hub', B_ONLY)), 'deleting the mirror leaves its artifacts as orphans');

  const r = await runCli(['cleanup', '--specs', specs, '--protection-time', '0'], { env: env(), timeoutMs: 120_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^hub: \d+ content units? and \d+ artifacts? removed, [\d.]+ [KMG]?i?B reclaimed, .* free \(/m);
  for (const site of ['origin', 'hub']) {
    const after = await blobBytes(site);
    const freed = before[site as 'origin' | 'hub'] - after;
    // b-only.bin and b's PULP_MANIFEST (a few hundred bytes) were b's alone.
    assert.ok(freed >= B_ONLY.length && freed < B_ONLY.length + 4096, `${site}: freed ${freed}, b-only is ${B_ONLY.length}`);
    assert.not.ok(existsSync(blob(site, B_ONLY)), `${site}: b-only.bin's blob is gone`);
    assert.ok(existsSync(blob(site, SHARED)), `${site}: the artifact a shares with b stays`);
    await serves(site, 'a', 'shared.bin', SHARED);
    await serves(site, 'a', 'a-only.bin', A_ONLY);
  }
  // Nothing left to clean: a second run removes nothing.
  const again = await runCli(['cleanup', '--specs', specs, '--site', 'hub', '--protection-time', '0', '--json'], { env: env() });
  assert.is(again.code, 0, again.stderr);
  const doc = JSON.parse(again.stdout) as { results: { site: string; result: string; removed: { content: number; artifacts: number } }[] };
  assert.equal(doc.results.map((x) => [x.site, x.result, x.removed]), [['hub', 'completed', { content: 0, artifacts: 0 }]]);
});

test('a version dropped by retainVersions frees its unique artifacts; the default protection time keeps young orphans', async () => {
  await setup;
  await rm(path.join(dir, 'trees', 'a', 'a-only.bin'));
  await writeFile(path.join(dir, 'trees', 'a', 'a2.bin'), A2);
  const r = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.ok(existsSync(blob('hub', A_ONLY)), 'the dropped version left a-only.bin as an orphan');
  // Protection 1 h (the default): a-only.bin was synced minutes ago, so it is kept.
  const kept = await runCli(['cleanup', '--specs', specs, '--site', 'hub'], { env: env() });
  assert.is(kept.code, 0, kept.stdout + kept.stderr);
  assert.ok(existsSync(blob('hub', A_ONLY)), 'an orphan younger than the protection time stays');
  const gone = await runCli(['cleanup', '--specs', specs, '--protection-time', '0'], { env: env() });
  assert.is(gone.code, 0, gone.stdout + gone.stderr);
  for (const site of ['origin', 'hub']) {
    assert.not.ok(existsSync(blob(site, A_ONLY)), `${site}: the dropped version's artifact is gone`);
    await serves(site, 'a', 'a2.bin', A2);
    await serves(site, 'a', 'shared.bin', SHARED);
  }
});

test('usage: a bad --protection-time or an unknown --site is exit 2 with the reason', async () => {
  await setup;
  const bad = await runCli(['cleanup', '--specs', specs, '--protection-time', 'soon'], { env: env() });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--protection-time must be 0 or a duration/);
  const unknown = await runCli(['cleanup', '--specs', specs, '--site', 'nope'], { env: env() });
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /unknown site "nope"/);
});

test('a sync running at the site: the cleanup is skipped there, says why, starts no task; after the sync it runs', async () => {
  await setup;
  // Another spec set (another team's controller, say) syncs a 2 MiB tree to hub at 512 KiB/s.
  const tree = path.join(dir, 'trees', 'slow');
  await mkdir(tree, { recursive: true });
  await writeFile(path.join(tree, 'slow.bin'), randomBytes(2 * 1024 * 1024));
  const other = path.join(dir, 'specs-slow');
  await mkdir(other, { recursive: true });
  await writeFile(path.join(other, 'specs.yaml'), [
    ['apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', `spec: {pulp: {url: "${sites.origin!.url}"}}`],
    ['apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: hub}', `spec: {pulp: {url: "${sites.hub!.url}"}, upstream: origin, limits: {bandwidth: 512KiB/s}}`],
    ['apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: slow}', `spec: {source: {path: "${tree}"}, origin: origin, sites: [origin, hub]}`],
  ].map((d) => d.join('\n')).join('\n---\n') + '\n');
  const count = async (query: string) => ((await (await fetch(`${sites.hub!.url}/pulp/api/v3/tasks/?${query}`)).json()) as { count: number }).count;
  const SYNC = 'name=pulp_file.app.tasks.synchronizing.synchronize&state__in=waiting,running';
  const CLEANUPS = 'name=pulpcore.app.tasks.orphan.orphan_cleanup';
  const applying = runCli(['apply', '--specs', other], { env: env(), timeoutMs: 120_000 });
  const end = Date.now() + 60_000;
  while ((await count(SYNC)) === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.is(await count(SYNC), 1, 'the slow sync is running at hub');
  const cleanupsBefore = await count(CLEANUPS);
  const skipped = await runCli(['cleanup', '--specs', specs, '--site', 'hub', '--protection-time', '0'], { env: env() });
  assert.is(skipped.code, 1, skipped.stdout + skipped.stderr);
  assert.is(skipped.stdout, 'hub: skipped: 1 sync is running or waiting at hub\n');
  assert.is(await count(CLEANUPS), cleanupsBefore, 'no cleanup task was started');
  const applied = await applying;
  assert.is(applied.code, 0, applied.stdout + applied.stderr);
  const ran = await runCli(['cleanup', '--specs', specs, '--site', 'hub', '--protection-time', '0'], { env: env() });
  assert.is(ran.code, 0, ran.stdout + ran.stderr);
  assert.match(ran.stdout, /^hub: \d+ content units? and \d+ artifacts? removed/);
  assert.is(await count(CLEANUPS), cleanupsBefore + 1);
});

test('a site that cannot be reached: one FAILED line with the cause, no stack, exit 1', async () => {
  await setup;
  const more = path.join(dir, 'specs-gone');
  await mkdir(more, { recursive: true });
  await writeFile(path.join(more, 'gone.yaml'), ['apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: gone}', 'spec: {pulp: {url: "http://127.0.0.1:9"}}', ''].join('\n'));
  const r = await runCli(['cleanup', '--specs', more, '--request-timeout', '5s'], { env: env(), timeoutMs: 120_000 });
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^gone: FAILED: .*127\.0\.0\.1:9/m);
  assert.not.match(r.stdout + r.stderr, /\n\s+at /);
});

test.run();
