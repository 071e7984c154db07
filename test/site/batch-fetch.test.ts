/**
 * Batch fetches between embedded sites (site/batch-protocol.ts), with real `pulpdist site`
 * processes: small files travel in one request between two sites that both speak it; a downstream
 * that does not (`--no-batch`), and an upstream that does not offer it (a plain HTTP tree, a
 * `--no-batch` site), get plain per-file GETs; the content app's answer by hand; and a corrupted
 * blob inside a batched answer is rejected while the rest is kept, then fetched again once the
 * upstream serves it right.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { askBatch } from '../../testkit/batch-answer.js';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, mirrorAt, runTask, startSite, type RunningSite, type SiteMirror } from '../../testkit/site.js';
import { randomFiles, sha256, writeTree, type TreeFile } from '../../testkit/tree.js';

let tmp: string;
let tree: TreeServer;
let files: TreeFile[];
const sites: Record<string, RunningSite> = {};
/** Content-app base URL of each site's distribution. */
const base: Record<string, string> = {};

const BIG = 'images/big.img';

async function metric(site: RunningSite, name: string): Promise<number> {
  const text = await (await fetch(`${site.url}/pulpdist/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)![1]);
}

const contentRequests = (s: RunningSite) => metric(s, 'pulpdist_site_content_requests_total');

/** A mirror of the manifest at `url` at site `name`; notes its distribution's base URL. */
async function mirrorOf(name: string, url: string): Promise<SiteMirror> {
  const m = await mirrorAt(sites[name]!, 'tree', url, 'tree');
  base[name] = (await call(sites[name]!, 'GET', m.dist)).body.base_url;
  return m;
}

function sync(name: string, m: { repo: string; remote: string }) {
  return runTask(sites[name]!, 'POST', `${m.repo}sync/`, { remote: m.remote, mirror: true });
}

/** The fields of the site's newest `sync` log line. */
function lastSyncLine(name: string): Record<string, string> {
  const line = sites[name]!.stderr().split('\n').filter((l) => / sync /.test(l) && l.includes('cpuMs=')).at(-1) ?? '';
  return Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

async function assertServesTree(name: string): Promise<void> {
  for (const f of files) {
    const res = await fetch(base[name] + f.path);
    assert.is(res.status, 200, `${name} ${f.path}`);
    assert.is(sha256(Buffer.from(await res.arrayBuffer())), sha256(f.bytes), `${name} ${f.path}`);
  }
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-batch-'));
  // 60 small files (batched) and one over the batch limit of 4 MiB (always a GET).
  files = [...randomFiles(60, 3000), { path: BIG, bytes: randomBytes(5 * 1024 * 1024) }];
  await writeTree(tmp, files);
  tree = await serveTree(tmp);
  sites.origin = await startSite();
  sites.plainOrigin = await startSite({ extraArgs: ['--no-batch'] });
  for (const n of ['origin', 'plainOrigin']) {
    const m = await mirrorOf(n, `${tree.url}/PULP_MANIFEST`);
    const t = await sync(n, m);
    assert.is(t.state, 'completed', JSON.stringify(t.error));
    // A plain HTTP tree offers no batches: one GET per file.
    assert.is(lastSyncLine(n).batchRequests, '0');
  }
  assert.is(tree.requests().length, 2 * (files.length + 1));
});

test.after(async () => {
  for (const s of Object.values(sites)) await s.stop();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('between two embedded sites, the small files come in one batch request, verified, byte for byte', async () => {
  sites.leaf = await startSite();
  const before = await contentRequests(sites.origin!);
  const t = await sync('leaf', await mirrorOf('leaf', `${base.origin}PULP_MANIFEST`));
  assert.is(t.state, 'completed', JSON.stringify(t.error));
  // The manifest, one batch of 60 files, one GET for the large file.
  assert.is((await contentRequests(sites.origin!)) - before, 3);
  const line = lastSyncLine('leaf');
  assert.is(line.batchRequests, '1');
  assert.is(line.batched, '60');
  assert.is(line.files, String(files.length));
  await assertServesTree('leaf');
});

/** Site `leaf` (started with `extraArgs`) syncs from `upstream` by plain GETs: one request per file, and the manifest's. */
async function assertSyncsByGets(leaf: string, upstream: string, extraArgs: string[]): Promise<void> {
  sites[leaf] = await startSite({ extraArgs });
  const before = await contentRequests(sites[upstream]!);
  const t = await sync(leaf, await mirrorOf(leaf, `${base[upstream]}PULP_MANIFEST`));
  assert.is(t.state, 'completed', JSON.stringify(t.error));
  assert.is((await contentRequests(sites[upstream]!)) - before, files.length + 1);
  assert.is(lastSyncLine(leaf).batchRequests, '0');
  await assertServesTree(leaf);
}

test('a downstream that does not speak it (--no-batch) gets the same files by plain GETs', async () => {
  await assertSyncsByGets('plainLeaf', 'origin', ['--no-batch']);
});

test('an upstream that does not offer it (--no-batch) is fetched from by plain GETs', async () => {
  assert.is((await fetch(`${base.plainOrigin}PULP_MANIFEST`)).headers.get('pulpdist-batch'), null);
  assert.is((await fetch(`${base.origin}PULP_MANIFEST`)).headers.get('pulpdist-batch'), '1');
  await assertSyncsByGets('leafOfPlain', 'plainOrigin', []);
});

/** POST a batch request for `paths` to `url`; the answer's status, headers and frames. */
test('the content app answers a batch request frame by frame, resolving paths as GETs do', async () => {
  const [a, b] = [files[0]!, files[1]!];
  const got = await askBatch(`${base.origin}PULP_MANIFEST`, [a.path, 'no/such/file', `x/../../${b.path}`, a.path, 'PULP_MANIFEST']);
  assert.is(got.status, 200);
  assert.is(got.echo, '1');
  assert.is(got.type, 'application/vnd.pulpdist.batch');
  assert.ok(got.done, 'the answer ends between frames');
  assert.equal(got.frames.map((f) => f.status), [200, 404, 200, 200, 200]);
  assert.is(sha256(got.frames[0]!.bytes), sha256(a.bytes));
  assert.is(got.frames[1]!.bytes.length, 0);
  // `..` stops at the distribution's root, as it does for a GET.
  assert.is(sha256(got.frames[2]!.bytes), sha256(b.bytes));
  assert.is(sha256(got.frames[3]!.bytes), sha256(a.bytes));
  assert.is(got.frames[4]!.bytes.toString(), await (await fetch(`${base.origin}PULP_MANIFEST`)).text());
});

test('a batch request is refused where it has no place: no header, not the manifest, no paths, a site that does not offer it', async () => {
  const url = `${base.origin}PULP_MANIFEST`;
  assert.is((await askBatch(url, [files[0]!.path], false)).status, 405);
  assert.is((await askBatch(`${base.origin}${files[0]!.path}`, [files[1]!.path])).status, 404);
  const empty = await askBatch(url, ['']);
  assert.is(empty.status, 400);
  assert.match(empty.text, 'no paths asked for');
  assert.is((await askBatch(`${base.plainOrigin}PULP_MANIFEST`, [files[0]!.path])).status, 405);
  // GETs are unchanged beside it.
  assert.is((await fetch(base.origin + files[0]!.path)).status, 200);
});

/** A TCP proxy to `target` that cuts the first batch answer (the answer to a POST) after `bytes` bytes. */
async function cuttingProxy(target: URL, bytes: number): Promise<{ url: string; cuts: () => number; close: () => Promise<void> }> {
  let cuts = 0;
  const server = net.createServer((client) => {
    const up = net.connect(Number(target.port), target.hostname);
    let post = false;
    let answered = 0;
    client.on('data', (d) => {
      if (d.toString('latin1', 0, 5) === 'POST ') post = true;
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      if (post && cuts === 0 && answered + d.length > bytes) {
        // The answer's first `bytes` bytes, then the end of the connection.
        cuts++;
        client.end(d.subarray(0, bytes - answered));
        up.destroy();
        return;
      }
      if (post) answered += d.length;
      client.write(d);
    });
    const end = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', end).on('close', end);
    up.on('error', end).on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, cuts: () => cuts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('a batch answer cut short: the files it did not bring whole come by GET, and the sync completes', async () => {
  const origin = new URL(base.origin!);
  const proxy = await cuttingProxy(origin, 40_000);
  try {
    sites.leaf3 = await startSite();
    const t = await sync('leaf3', await mirrorOf('leaf3', `${proxy.url}${origin.pathname}PULP_MANIFEST`));
    assert.is(t.state, 'completed', JSON.stringify(t.error));
    assert.is(proxy.cuts(), 1);
    const line = lastSyncLine('leaf3');
    assert.is(line.batchRequests, '1');
    // About 13 of the 60 files fit in 40 kB: the rest, and the one cut in two, came by GET.
    assert.ok(Number(line.batchFallbacks) > 40 && Number(line.batched) > 5, JSON.stringify(line));
    assert.is(Number(line.batched) + Number(line.batchFallbacks), 60);
    assert.match(sites.leaf3!.stderr(), 'batch answer cut short');
    await assertServesTree('leaf3');
  } finally {
    await proxy.close();
  }
});

test('a corrupted blob inside a batched answer is rejected, the rest are kept, and the next sync fetches only it', async () => {
  const victim = files[7]!;
  const digest = sha256(victim.bytes);
  const blobPath = path.join(sites.origin!.dataDir, 'artifacts', digest.slice(0, 2), digest.slice(2));
  const good = await readFile(blobPath);
  const bad = Buffer.from(good);
  bad[100] = bad[100]! ^ 0xff;
  await writeFile(blobPath, bad);
  try {
    sites.leaf2 = await startSite();
    const m = await mirrorOf('leaf2', `${base.origin}PULP_MANIFEST`);
    const failed = await sync('leaf2', m);
    assert.is(failed.state, 'failed');
    // The batch rejected it, then GETs (retried) got the same wrong bytes: pulpcore's message.
    assert.match(failed.error.description, `${victim.path} failed validation due to checksum`);
    assert.match(sites.leaf2!.stderr(), `batch fetch did not bring every file: fetching those by GET`);
    assert.match(sites.leaf2!.stderr(), `path=${victim.path}`);
    // Every other file was verified and kept; the corrupted one was not.
    const held = new Set<string>();
    const root = path.join(sites.leaf2!.dataDir, 'artifacts');
    for (const shard of await readdir(root)) for (const f of await readdir(path.join(root, shard))) held.add(shard + f);
    for (const f of files) assert.is(held.has(sha256(f.bytes)), f !== victim, f.path);
    // Recorded as artifacts (in no content yet): reused by the next sync, or removed by orphan cleanup.
    const artifacts = await call(sites.leaf2!, 'GET', '/pulp/api/v3/artifacts/?limit=1000');
    assert.is(artifacts.body.count, files.length - 1);
  } finally {
    await writeFile(blobPath, good);
  }
  const before = await contentRequests(sites.origin!);
  const t = await sync('leaf2', { repo: (await call(sites.leaf2!, 'GET', '/pulp/api/v3/repositories/file/file/')).body.results[0].pulp_href, remote: (await call(sites.leaf2!, 'GET', '/pulp/api/v3/remotes/file/file/')).body.results[0].pulp_href });
  assert.is(t.state, 'completed', JSON.stringify(t.error));
  // The manifest and the one file: a batch of one is a plain GET.
  assert.is((await contentRequests(sites.origin!)) - before, 2);
  assert.is(lastSyncLine('leaf2').files, '1');
  await assertServesTree('leaf2');
});

test.run();
