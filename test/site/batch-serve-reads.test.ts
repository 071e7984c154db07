/**
 * How the content app reads the files of a batch answer (site/batch-serve.ts): on the event loop
 * while its reads are fast, with no promise per file; on libuv's thread pool (files opened ahead,
 * reads awaited) once a call waited for the disk. A site runs in this process so that its
 * BlobReads can be given edges that play a slow disk (the clock and the block-input count, as in
 * blob-reads.test.ts); the files, the HTTP and the answers are real.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { BlobReads } from '../../site/blob-reads.js';
import { SLOW_CALL_MS } from '../../site/io-gate.js';
import { startSiteServer, type RunningSiteServer } from '../../site/server.js';
import { askBatch } from '../../testkit/batch-answer.js';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { playedDisk, playedReadEdges } from '../../testkit/played-reads.js';
import { call, mirrorAt, runTask, type RunningSite } from '../../testkit/site.js';
import { randomFiles, sha256, writeTree, type TreeFile } from '../../testkit/tree.js';

let tmp = '';
let tree: TreeServer | undefined;
let server: RunningSiteServer | undefined;
let files: TreeFile[] = [];
let manifestUrl = '';

/**
 * Edges that play a disk on which, when `slow`, every synchronous open and read waits
 * (testkit/played-reads.ts), for a BlobReads whose budget one such wait uses up.
 */
function playedEdges(slow: boolean) {
  const { e, calls } = playedReadEdges(playedDisk({ disk: slow ? SLOW_CALL_MS : 0 }));
  return { edges: e, count: (kind: string) => calls.filter((c) => c === kind).length };
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-batch-reads-'));
  // Small files, and one larger than the answer's 1 MiB buffer, so that a file spans two sends.
  files = [...randomFiles(40, 3000), { path: 'big/one.bin', bytes: randomBytes(1536 * 1024) }];
  await writeTree(path.join(tmp, 'tree'), files);
  tree = await serveTree(path.join(tmp, 'tree'));
  server = await startSiteServer({ dataDir: path.join(tmp, 'site'), host: '127.0.0.1', port: 0, log: silentLogger, version: 'test' });
  // The testkit's API helpers need only the address of this in-process site.
  const site = { url: server.url } as RunningSite;
  const m = await mirrorAt(site, 'tree', `${tree.url}/PULP_MANIFEST`, 'tree');
  const task = await runTask(site, 'POST', `${m.repo}sync/`, { remote: m.remote, mirror: true });
  assert.is(task.state, 'completed', JSON.stringify(task.error));
  manifestUrl = `${(await call(site, 'GET', m.dist)).body.base_url}PULP_MANIFEST`;
});

test.after(async () => {
  await server?.close();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** Ask for every file (and one path the site lacks) and check each frame byte for byte. */
async function askAll(): Promise<void> {
  const got = await askBatch(manifestUrl, [...files.map((f) => f.path), 'no/such/file']);
  assert.is(got.status, 200);
  assert.ok(got.done, 'the answer ends between frames');
  assert.equal(got.frames.map((f) => f.status), [...files.map(() => 200), 404]);
  files.forEach((f, i) => assert.is(sha256(got.frames[i]!.bytes), sha256(f.bytes), f.path));
}

test('fast reads: every file opened and read on the event loop, none on the pool', async () => {
  const played = playedEdges(false);
  server!.site.reads = new BlobReads(played.edges, SLOW_CALL_MS);
  await askAll();
  assert.is(played.count('open:sync'), files.length);
  assert.is(played.count('open:pool') + played.count('read:pool'), 0);
  // One read per file, and one more for the file that spans the buffer's end.
  assert.is(played.count('read:sync'), files.length + 1);
});

test('a call that waits for the disk: the rest of the batch is opened ahead and read on the pool, and comes byte for byte', async () => {
  const played = playedEdges(true);
  server!.site.reads = new BlobReads(played.edges, SLOW_CALL_MS);
  await askAll();
  // The first open and the first read were slow: each sent its kind to the pool.
  assert.is(played.count('open:sync'), 1);
  assert.is(played.count('read:sync'), 1);
  assert.is(played.count('open:pool'), files.length - 1);
  assert.is(played.count('read:pool'), files.length);
  assert.is(server!.site.reads.slow, 2);
});

test.run();
