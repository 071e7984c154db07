/**
 * Item 3 of issue 8: crashes. A site SIGKILLed in the middle of a sync and restarted on its data
 * directory keeps a consistent store (every artifact file hashes to its name, the API lists only
 * artifacts it holds, the old tree still served, no temp file) and the next apply completes the
 * sync. A controller (`pulpdist run`) SIGKILLed mid-pass and restarted converges with no
 * duplicate object, and no blob crosses the WAN twice (the upstream's served-bytes counter). A site
 * SIGKILLed during a burst of API writes keeps every write it acknowledged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { appendFile, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { commitAndPush, makeRepo, writeFiles } from '../../testkit/git-server.js';
import { startSite } from '../../testkit/site.js';
import { TEMP_PREFIX } from '../../site/blobs.js';
import {
  assertServes, getStatus, listNames, mirrorDoc, pollUntil, pulpdist, restartSite, siteDocs, siteMetric, startNetwork, stopNetwork, tempLeft, writeSpecs,
  writeTreeFiles, type NetSite, type SiteDef,
} from './support.js';

// The leaf's inbound cap makes its syncs take seconds, so that a kill lands mid-sync; two sync
// slots let a restarted controller start a sync beside one its predecessor left running.
const SITES: SiteDef[] = [{ name: 'origin' }, { name: 'leaf', upstream: 'origin', extra: ['  limits: {concurrentSyncs: 2, bandwidth: 400KiB/s}'] }];
let dir = '';
let cleanup = async (): Promise<void> => {};
let net: Map<string, NetSite> | undefined;
let specs = '';
let tree = '';
let env: Record<string, string> = {};
let files: Record<string, Buffer> = {};
const leaf = (): NetSite => net!.get('leaf')!;
const origin = (): NetSite => net!.get('origin')!;

/** Every artifact file under the site's store hashes to its name; the API lists exactly those. */
async function assertStoreConsistent(n: NetSite): Promise<void> {
  const root = path.join(n.site.dataDir, 'artifacts');
  const onDisk: string[] = [];
  for (const a of await readdir(root).catch(() => [] as string[])) {
    for (const b of await readdir(path.join(root, a))) {
      if (b.startsWith(TEMP_PREFIX)) continue; // counted by tempLeft below
      const digest = createHash('sha256').update(await readFile(path.join(root, a, b))).digest('hex');
      assert.is(digest, a + b, `${n.name}: artifact ${a}/${b} holds other bytes`);
      onDisk.push(digest);
    }
  }
  const listed = (await (await fetch(`${n.direct()}/pulp/api/v3/artifacts/?limit=1000`)).json()) as { results: { sha256: string }[] };
  for (const a of listed.results) assert.ok(onDisk.includes(a.sha256), `${n.name}: listed artifact ${a.sha256} has no file`);
  assert.equal(await tempLeft(n), [], `${n.name}: no temp file`);
}

async function newVersion(count: number, size: number): Promise<{ before: Record<string, Buffer>; after: Record<string, Buffer>; bytes: number }> {
  const before = files;
  const add: Record<string, Buffer> = {};
  for (let i = 0; i < count; i++) add[`pkgs/v${Object.keys(files).length}-${i}.rpm`] = randomBytes(size);
  files = { ...files, ...add, 'README': Buffer.from(`version with ${Object.keys(files).length + count} files\n`) };
  await writeTreeFiles(tree, files);
  return { before, after: files, bytes: count * size + files['README']!.length };
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-faults-crashes-'));
  tree = path.join(dir, 'trees', 'm');
  mkdirSync(tree, { recursive: true });
  files = { 'README': Buffer.from('first\n') };
  await writeTreeFiles(tree, files);
  net = await startNetwork(SITES.map((s) => (s.name === 'origin' ? { ...s, start: { allowedImportPaths: [path.join(dir, 'trees')] } } : s)), dir);
  specs = path.join(dir, 'specs');
  env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
  await writeSpecs(specs, net, SITES, [{ name: 'm', source: { path: tree }, origin: 'origin', sites: ['origin', 'leaf'] }]);
  const r = await pulpdist(['apply', '--specs', specs], env);
  assert.is(r.code, 0, r.stdout + r.stderr);
});

test.after(async () => {
  await stopNetwork(net);
  await cleanup();
});

test('SIGKILL of a site mid-sync, restart: the store is consistent, the old tree still served, and the next apply completes', async () => {
  const { before, after } = await newVersion(16, 64 * 1024);
  const got0 = await siteMetric(leaf(), 'pulpdist_site_sync_bytes_downloaded_total');
  const applying = pulpdist(['apply', '--specs', specs, '--request-timeout', '2s'], env);
  await pollUntil('the leaf to be mid-download', async () => {
    const got = await siteMetric(leaf(), 'pulpdist_site_sync_bytes_downloaded_total').catch(() => 0);
    return got - got0 > 100 * 1024 ? true : undefined;
  }, 60_000, 20);
  await leaf().site.kill();
  const r = await applying;
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /leaf/);
  await restartSite(leaf());
  // The task the kill interrupted is failed, not left running forever.
  const tasks = (await (await fetch(`${leaf().direct()}/pulp/api/v3/tasks/?limit=100`)).json()) as { results: { state: string; name: string }[] };
  assert.equal(tasks.results.filter((t) => t.state === 'running' || t.state === 'waiting'), [], 'no task left running after the restart');
  assert.ok(tasks.results.some((t) => t.state === 'failed'), 'the interrupted sync is failed');
  await assertStoreConsistent(leaf());
  await assertServes(leaf(), 'm', before, 'leaf after the crash');
  await assertServes(origin(), 'm', after, 'origin');
  const again = await pulpdist(['apply', '--specs', specs], env);
  assert.is(again.code, 0, again.stdout + again.stderr);
  await assertServes(leaf(), 'm', after, 'leaf after the next apply');
  await assertStoreConsistent(leaf());
  assert.equal(await listNames(leaf(), 'repositories'), ['pulpdist.m']);
});

test('SIGKILL of the controller mid-sync, restart: converges, no duplicate objects, no blob crosses twice', async () => {
  const repos = path.join(dir, 'repos');
  mkdirSync(repos, { recursive: true });
  const { work } = makeRepo(repos, 'specs', { 'specs/sites.yaml': siteDocs(net!, SITES), 'specs/m.yaml': mirrorDoc({ name: 'm', source: { path: tree }, origin: 'origin', sites: ['origin', 'leaf'] }) });
  const args = ['--repo', work, '--path', 'specs', '--interval', '1s', '--state-dir', path.join(dir, 'state'), '--status-branch', ''];
  let ctl: ControllerProcess | undefined = await startControllerProcess(args);
  try {
    await pollUntil('the first pass', async () => ((await getStatus(ctl!.url)).mirrors[0]?.sites.every((s) => s.state === 'Synced') ? true : undefined), 60_000);
    const served0 = await siteMetric(origin(), 'pulpdist_site_content_bytes_served_total');
    const got0 = await siteMetric(leaf(), 'pulpdist_site_sync_bytes_downloaded_total');
    // A new mirror n whose tree holds 1 MiB of new blobs; the controller dies while the leaf
    // downloads them (its sync goes on at the site).
    const nTree = path.join(dir, 'trees', 'n');
    const blobs: Record<string, Buffer> = {};
    for (let i = 0; i < 16; i++) blobs[`pkgs/n-${i}.rpm`] = randomBytes(64 * 1024);
    const bytes = 16 * 64 * 1024;
    await writeTreeFiles(nTree, blobs);
    writeFiles(work, { 'specs/n.yaml': mirrorDoc({ name: 'n', source: { path: nTree }, origin: 'origin', sites: ['origin', 'leaf'], extra: ['  basePath: n'] }) });
    commitAndPush(work, 'add n');
    await pollUntil('the leaf to be mid-download', async () => {
      const got = await siteMetric(leaf(), 'pulpdist_site_sync_bytes_downloaded_total');
      return got - got0 > 100 * 1024 ? true : undefined;
    }, 60_000, 20);
    assert.is(await ctl.kill(), 'SIGKILL');
    // Meanwhile m's tree gains the same blobs: the restarted controller must sync m at the leaf
    // too, and must not download them beside the sync its predecessor left running.
    await writeTreeFiles(tree, blobs);
    files = { ...files, ...blobs };
    ctl = await startControllerProcess(args);
    await pollUntil('m and n Synced after the restart', async () => {
      const d = await getStatus(ctl!.url);
      return d.mirrors.length === 2 && d.mirrors.every((m) => m.sites.length === 2 && m.sites.every((s) => s.state === 'Synced' && s.treeDigest === m.treeDigest)) ? d : undefined;
    }, 90_000);
    // Measured before the checks below, which read content too. The new blobs crossed from origin
    // to leaf once; manifests add a little.
    const served = (await siteMetric(origin(), 'pulpdist_site_content_bytes_served_total')) - served0;
    const got = (await siteMetric(leaf(), 'pulpdist_site_sync_bytes_downloaded_total')) - got0;
    assert.ok(served >= bytes && served < bytes + 16 * 1024, `origin served ${served} bytes for ${bytes} new`);
    assert.ok(got >= bytes && got < bytes + 16 * 1024, `leaf downloaded ${got} bytes for ${bytes} new`);
    for (const n of net!.values()) {
      for (const kind of ['repositories', 'remotes', 'distributions'] as const) assert.equal(await listNames(n, kind), ['pulpdist.m', 'pulpdist.n'], `${n.name} ${kind}`);
      await assertServes(n, 'm', files);
      await assertServes(n, 'n', blobs);
      await assertStoreConsistent(n);
    }
    assert.is(await ctl.stop(), 0);
    ctl = undefined;
  } finally {
    await ctl?.kill();
  }
});

test('SIGKILL during a burst of API writes: every acknowledged object survives the restart; a torn journal tail is dropped', async () => {
  const site = await startSite({ dataDir: path.join(dir, 'site-burst') });
  try {
    const acked: string[] = [];
    const refused: string[] = [];
    let next = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (!killed && next < 400) {
        const name = `burst-${next++}`;
        try {
          const r = await fetch(`${site.url}/pulp/api/v3/repositories/file/file/`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }) });
          if (r.status === 201) acked.push(name);
          else refused.push(`${name}: ${r.status} ${await r.text()}`);
        } catch {
          return; // the site died under this request: not acknowledged
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await pollUntil('60 acknowledged creates', async () => (acked.length >= 60 ? true : undefined), 30_000, 2);
    killed = true;
    await site.kill();
    await Promise.all(workers);
    assert.equal(refused, [], 'every create before the kill succeeded');
    // A crash in the middle of an append leaves half a line: the restart must drop it, not fail.
    await appendFile(path.join(site.dataDir, 'metadata', 'journal.jsonl'), '[{"put":"repositories","v":{"id":"torn-');
    await site.restart();
    const list = (await (await fetch(`${site.url}/pulp/api/v3/repositories/file/file/?limit=1000`)).json()) as { results: { name: string }[] };
    const names = list.results.map((r) => r.name);
    assert.equal(acked.filter((n) => !names.includes(n)), [], 'every acknowledged repository is there');
    assert.is(new Set(names).size, names.length, 'no duplicate names');
    const after = await fetch(`${site.url}/pulp/api/v3/repositories/file/file/`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'after-restart' }) });
    assert.is(after.status, 201);
    await after.arrayBuffer();
    assert.not.match(site.stderr(), /internal error/);
  } finally {
    await site.stop();
  }
});

test('two applies racing on the same sites (an operator and a CI job): both converge, no duplicate objects, the next apply changes nothing', async () => {
  const raceSpecs = path.join(dir, 'race-specs');
  const mirrors = ['m', 'p1', 'p2', 'p3'].map((name) => ({ name, source: { path: tree }, origin: 'origin', sites: ['origin', 'leaf'] }));
  await writeSpecs(raceSpecs, net!, SITES, mirrors);
  const [r1, r2] = await Promise.all([1, 2].map((i) => pulpdist(['apply', '--specs', raceSpecs], { XDG_CACHE_HOME: path.join(dir, `race-cache-${i}`) })));
  for (const r of [r1!, r2!]) {
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.not.match(r.stdout + r.stderr, /internal error|without the label/);
  }
  for (const n of net!.values()) {
    for (const kind of ['repositories', 'remotes', 'distributions'] as const) {
      const names = await listNames(n, kind);
      for (const m of ['pulpdist.m', 'pulpdist.p1', 'pulpdist.p2', 'pulpdist.p3']) assert.is(names.filter((x) => x === m).length, 1, `${n.name} ${kind} ${m}`);
    }
    for (const m of ['p1', 'p2', 'p3']) await assertServes(n, m, files);
  }
  const again = await pulpdist(['apply', '--specs', raceSpecs], { XDG_CACHE_HOME: path.join(dir, 'race-cache-1') });
  assert.is(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /^0 changes made/m);
});

test.run();
