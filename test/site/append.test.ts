/**
 * Append-aware downloads (site/append.ts) through real processes: an origin `pulpdist site`
 * importing a tree from file://, a leaf syncing from the origin's content app, and a second site
 * syncing from a plain HTTP tree server that ignores Range. An appended file moves only a probe and
 * its tail (asserted in bytes the origin served and the leaf received); a rewritten file that grew,
 * and an appended file whose prefix changed, fall back to whole downloads; every file comes out of
 * the leaf byte for byte.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, mirrorAt, runTask, startSite, waitTask, type RunningSite } from '../../testkit/site.js';
import { appendBases } from '../../site/append.js';
import { sha256, tempFiles, writeTree, type TreeFile } from '../../testkit/tree.js';

const KiB = 1024;
const PROBE = 4096;

let tmp: string;
let src: string;
let plain: string;
let tree: TreeServer;
let origin: RunningSite;
let leaf: RunningSite;
let other: RunningSite;
const files = new Map<string, Buffer>();
const m: Record<string, { repo: string; remote: string; dist: string }> = {};

async function metric(site: RunningSite, name: string): Promise<number> {
  const text = await (await fetch(`${site.url}/pulpdist/metrics`)).text();
  const found = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  if (!found) throw new Error(`${site.url} has no metric ${name}`);
  return Number(found[1]);
}

const setUp = (site: RunningSite, url: string) => mirrorAt(site, 'pulpdist.logs', url, 'logs');

async function sync(site: RunningSite, x: { repo: string; remote: string }) {
  const task = await runTask(site, 'POST', `${x.repo}sync/`, { remote: x.remote, mirror: true });
  assert.is(task.state, 'completed', JSON.stringify(task.error));
  return task;
}

/** The `appended=N appendFallbacks=M` fields of the site's last sync summary line. */
function lastSyncSummary(site: RunningSite): { appended: number; fallbacks: number } {
  const lines = site.stderr().split('\n').filter((l) => /\bsync\b.*\bappended=/.test(l));
  const last = lines.at(-1) ?? '';
  const n = (k: string) => Number(new RegExp(`\\b${k}=(\\d+)`).exec(last)?.[1] ?? NaN);
  return { appended: n('appended'), fallbacks: n('appendFallbacks') };
}

/** Write the current `files` into `dir` with its manifest; returns the manifest's length. */
async function writeFiles(dir: string): Promise<number> {
  const list: TreeFile[] = [...files].map(([p, bytes]) => ({ path: p, bytes }));
  return Buffer.byteLength(await writeTree(dir, list));
}

async function leafServesFiles(site: RunningSite, x: { dist: string }) {
  const base = (await call(site, 'GET', x.dist)).body.base_url as string;
  for (const [p, bytes] of files) {
    const res = await fetch(base + p);
    assert.is(res.status, 200, p);
    assert.is(sha256(Buffer.from(await res.arrayBuffer())), sha256(bytes), p);
  }
  const listed = (await (await fetch(`${base}PULP_MANIFEST`)).text()).trim().split('\n').length;
  assert.is(listed, files.size);
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-append-'));
  src = path.join(tmp, 'src');
  plain = path.join(tmp, 'plain');
  files.set('logs/app.log', randomBytes(200 * KiB));
  files.set('logs/edited.log', randomBytes(100 * KiB));
  files.set('logs/shrunk.log', randomBytes(50 * KiB));
  files.set('repodata/meta.xml', randomBytes(40 * KiB));
  files.set('pkgs/a.bin', randomBytes(10 * KiB));
  await writeFiles(src);
  await writeFiles(plain);
  tree = await serveTree(plain);
  origin = await startSite({ allowedImportPaths: [src] });
  leaf = await startSite();
  other = await startSite();
  m.origin = await setUp(origin, `file://${src}/PULP_MANIFEST`);
  await sync(origin, m.origin);
  const base = (await call(origin, 'GET', m.origin.dist)).body.base_url as string;
  m.leaf = await setUp(leaf, `${base}PULP_MANIFEST`);
  await sync(leaf, m.leaf);
  m.other = await setUp(other, `${tree.url}/PULP_MANIFEST`);
  await sync(other, m.other);
});

test.after(async () => {
  for (const s of [origin, leaf, other]) await s?.stop();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('append candidates: a shorter, stored, non-empty file at the same path; keyed by the new digest', () => {
  const h = (c: string) => c.repeat(64);
  const previous = new Map([
    ['grew', { sha256: h('a'), size: 100 }],
    ['same-size', { sha256: h('b'), size: 200 }],
    ['shrank', { sha256: h('c'), size: 300 }],
    ['empty', { sha256: h('d'), size: 0 }],
    ['gone-blob', { sha256: h('e'), size: 100 }],
  ]);
  const missing = [
    { relativePath: 'grew', sha256: h('1'), size: 150 },
    { relativePath: 'same-size', sha256: h('2'), size: 200 },
    { relativePath: 'shrank', sha256: h('3'), size: 250 },
    { relativePath: 'empty', sha256: h('4'), size: 10 },
    { relativePath: 'gone-blob', sha256: h('5'), size: 150 },
    { relativePath: 'new-path', sha256: h('6'), size: 150 },
  ];
  const stored = (sha: string) => (sha === h('e') ? null : previous.get([...previous].find(([, v]) => v.sha256 === sha)![0])!.size);
  const bases = appendBases(previous, missing, stored, (sha) => `/blobs/${sha.slice(0, 2)}`);
  assert.equal([...bases], [[h('1'), { blobPath: '/blobs/aa', sha256: h('a'), size: 100 }]]);
});

test('an appended file moves only its tail; a grown rewrite and a changed prefix fall back; bytes identical', async () => {
  const appendedTail = randomBytes(16 * KiB);
  files.set('logs/app.log', Buffer.concat([files.get('logs/app.log')!, appendedTail]));
  // Rewritten whole and larger: the probe of the old end differs, so only the probe is wasted.
  files.set('repodata/meta.xml', randomBytes(60 * KiB));
  // First byte changed and appended: the probe matches, the tail arrives, the digest does not.
  const edited = Buffer.concat([files.get('logs/edited.log')!, randomBytes(8 * KiB)]);
  edited[0] = edited[0]! ^ 0xff;
  files.set('logs/edited.log', edited);
  // Shorter: never an append candidate.
  files.set('logs/shrunk.log', files.get('logs/shrunk.log')!.subarray(0, 30 * KiB));
  const manifestBytes = await writeFiles(src);
  await sync(origin, m.origin);

  const served0 = await metric(origin, 'pulpdist_site_content_bytes_served_total');
  const received0 = await metric(leaf, 'pulpdist_site_sync_bytes_downloaded_total');
  await sync(leaf, m.leaf);
  const served = (await metric(origin, 'pulpdist_site_content_bytes_served_total')) - served0;
  const received = (await metric(leaf, 'pulpdist_site_sync_bytes_downloaded_total')) - received0;
  const expected =
    manifestBytes +
    (PROBE + appendedTail.length) + // app.log: probe + tail, not its 216 KiB
    (PROBE + 60 * KiB) + // meta.xml: probe, then whole
    (PROBE + 8 * KiB + edited.length) + // edited.log: probe + tail, digest mismatch, then whole
    30 * KiB; // shrunk.log: whole
  assert.is(served, expected);
  assert.is(received, expected);
  assert.equal(lastSyncSummary(leaf), { appended: 1, fallbacks: 2 });
  await leafServesFiles(leaf, m.leaf);
});

test('an upstream that ignores Range (200 to a range request): whole download, same bytes', async () => {
  files.set('logs/app.log', Buffer.concat([files.get('logs/app.log')!, randomBytes(4 * KiB)]));
  await writeFiles(plain);
  await sync(other, m.other);
  // app.log, meta.xml and edited.log all grew since this site last synced: three guesses, none served as a range.
  assert.equal(lastSyncSummary(other), { appended: 0, fallbacks: 3 });
  await leafServesFiles(other, m.other);
});

test('a second append on top of an appended blob moves only the new tail', async () => {
  const tail = randomBytes(3 * KiB + 7);
  files.set('logs/app.log', Buffer.concat([files.get('logs/app.log')!, tail]));
  const manifestBytes = await writeFiles(src);
  await sync(origin, m.origin);
  const served0 = await metric(origin, 'pulpdist_site_content_bytes_served_total');
  await sync(leaf, m.leaf);
  const served = (await metric(origin, 'pulpdist_site_content_bytes_served_total')) - served0;
  // The leaf last saw app.log before the 4 KiB the plain-server test added, so its tail is both.
  assert.is(served, manifestBytes + PROBE + 4 * KiB + tail.length);
  assert.equal(lastSyncSummary(leaf), { appended: 1, fallbacks: 0 });
  await leafServesFiles(leaf, m.leaf);
});

test('a sync canceled while a tail arrives leaves no temp file and no version; the next one appends', async () => {
  const tail = randomBytes(256 * KiB);
  files.set('logs/app.log', Buffer.concat([files.get('logs/app.log')!, tail]));
  const manifestBytes = await writeFiles(src);
  await sync(origin, m.origin);
  // 64 KiB/s: the probe passes at once (burst), the 256 KiB tail takes seconds.
  const capped = await runTask(leaf, 'PATCH', m.leaf!.remote, { pulpdist_bandwidth_limit: 64 * KiB });
  assert.is(capped.state, 'completed');
  const before = (await call(leaf, 'GET', m.leaf!.repo)).body.latest_version_href;
  const r = await call(leaf, 'POST', `${m.leaf!.repo}sync/`, { remote: m.leaf!.remote, mirror: true });
  assert.is(r.status, 202, r.text);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const t = (await call(leaf, 'GET', r.body.task)).body;
    const bytes = t.progress_reports.find((p: any) => p.code === 'pulpdist.downloading.bytes')?.done ?? 0;
    // Past the manifest and the probe: the tail is streaming.
    if (bytes > manifestBytes + PROBE + 8 * KiB) break;
    assert.is(t.state, 'running', 'the sync must still be running when the tail starts');
    if (Date.now() > deadline) throw new Error(`the tail did not start within 20 s (${bytes} bytes)`);
    await new Promise((res) => setTimeout(res, 20));
  }
  const c = await call(leaf, 'PATCH', r.body.task, { state: 'canceled' });
  assert.is(c.status, 200, c.text);
  const t = await waitTask(leaf, r.body.task);
  assert.is(t.state, 'canceled');
  assert.is((await call(leaf, 'GET', m.leaf!.repo)).body.latest_version_href, before);
  assert.equal(await tempFiles(leaf.dataDir), []);

  const uncapped = await runTask(leaf, 'PATCH', m.leaf!.remote, { pulpdist_bandwidth_limit: null });
  assert.is(uncapped.state, 'completed');
  await sync(leaf, m.leaf!);
  assert.equal(lastSyncSummary(leaf), { appended: 1, fallbacks: 0 });
  await leafServesFiles(leaf, m.leaf!);
});

/** `appendHashStates=N` of the site's last sync summary: appends that hashed only their tail. */
function appendsFromHashState(site: RunningSite): number {
  const last = site.stderr().split('\n').filter((l) => /\bsync\b.*\bappended=/.test(l)).at(-1) ?? '';
  return Number(/\bappendHashStates=(\d+)/.exec(last)?.[1] ?? NaN);
}

test('a log of 1 MiB and more hashes only its tail, going on from the state kept when its old blob was verified; a restarted site hashes the old bytes once, then keeps the state again', async () => {
  const dataDir = path.join(tmp, 'restarted-leaf');
  let site = await startSite({ dataDir });
  try {
    files.set('logs/big.log', randomBytes(2048 * KiB));
    await writeFiles(src);
    await sync(origin, m.origin);
    const base = (await call(origin, 'GET', m.origin!.dist)).body.base_url as string;
    const x = await setUp(site, `${base}PULP_MANIFEST`);
    await sync(site, x);
    const grow = async () => {
      files.set('logs/big.log', Buffer.concat([files.get('logs/big.log')!, randomBytes(5 * KiB + 3)]));
      await writeFiles(src);
      await sync(origin, m.origin!);
      await sync(site, x);
      assert.equal(lastSyncSummary(site), { appended: 1, fallbacks: 0 });
      await leafServesFiles(site, x);
    };
    await grow();
    assert.is(appendsFromHashState(site), 1, 'the state of the whole download is kept');
    await grow();
    assert.is(appendsFromHashState(site), 1, 'and the state of an appended blob');
    // States live in memory: after a restart the old bytes are read and hashed again, once.
    await site.stop();
    site = await startSite({ dataDir });
    await grow();
    assert.is(appendsFromHashState(site), 0);
    await grow();
    assert.is(appendsFromHashState(site), 1);
  } finally {
    await site.stop();
  }
});

test.run();
