/**
 * The content app sends file bytes through pooled buffers a chunk (1 MiB) at a time
 * (core/buffer-pool.ts). Sizes around the chunk size, ranges across chunk boundaries, many
 * requests at once and a client that goes away mid-body must all leave every answer byte-exact:
 * a buffer given back too early would show as another file's bytes in some answer.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { call, runTask, startSite, type RunningSite } from '../../testkit/site.js';
import { sha256, writeTree } from '../../testkit/tree.js';

const MiB = 1024 * 1024;
const SIZES: Record<string, number> = { 'one.bin': 1, 'under.bin': MiB - 1, 'exact.bin': MiB, 'over.bin': MiB + 1, 'big.bin': 3.5 * MiB, 'small.txt': 3000 };

let tmp: string;
let site: RunningSite;
let base: string;
const files = new Map<string, Buffer>();

async function setUp(): Promise<void> {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-chunks-'));
  const src = path.join(tmp, 'src');
  for (const [name, size] of Object.entries(SIZES)) files.set(name, randomBytes(size));
  await writeTree(src, [...files].map(([p, bytes]) => ({ path: p, bytes })));
  site = await startSite({ allowedImportPaths: [src] });
  const repo = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'chunks', autopublish: true });
  const remote = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'chunks', url: `file://${src}/PULP_MANIFEST` });
  const sync = await runTask(site, 'POST', `${repo.body.pulp_href}sync/`, { remote: remote.body.pulp_href, mirror: true });
  assert.is(sync.state, 'completed', JSON.stringify(sync.error));
  const dist = await runTask(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'chunks', base_path: 'chunks', repository: repo.body.pulp_href });
  base = (await call(site, 'GET', dist.created_resources[0])).body.base_url as string;
}

let ready: Promise<void>;
test.before(() => {
  ready = setUp();
});
test.after(async () => {
  await ready.catch(() => undefined);
  await site?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function get(name: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(base + name, { headers });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

test('every size around the chunk size comes back whole, 24 requests at a time', async () => {
  await ready;
  const names = [...files.keys()];
  const all = await Promise.all(Array.from({ length: 4 }, () => names.map(async (n) => ({ n, r: await get(n) }))).flat());
  for (const { n, r } of all) {
    assert.is(r.status, 200, n);
    assert.is(r.headers.get('content-length'), String(files.get(n)!.length), n);
    assert.is(sha256(r.body), sha256(files.get(n)!), n);
  }
});

test('ranges inside, across and at the ends of chunks are the exact bytes', async () => {
  await ready;
  const big = files.get('big.bin')!;
  const cases: Array<[string, number, number]> = [
    [`bytes=${MiB - 10}-${MiB + 10}`, MiB - 10, MiB + 10],
    [`bytes=${MiB}-`, MiB, big.length - 1],
    ['bytes=-100', big.length - 100, big.length - 1],
    [`bytes=100-${3 * MiB + 5}`, 100, 3 * MiB + 5],
  ];
  for (const [range, start, end] of cases) {
    const r = await get('big.bin', { Range: range });
    assert.is(r.status, 206, range);
    assert.is(r.headers.get('content-range'), `bytes ${start}-${end}/${big.length}`, range);
    assert.ok(r.body.equals(big.subarray(start, end + 1)), range);
  }
});

test('a client gone mid-body leaves the next answers intact', async () => {
  await ready;
  const url = new URL(base + 'big.bin');
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
    });
  }
  const after = await Promise.all(['big.bin', 'over.bin', 'under.bin'].map(async (n) => ({ n, r: await get(n) })));
  for (const { n, r } of after) assert.is(sha256(r.body), sha256(files.get(n)!), n);
});

test('HEAD answers the length and no body', async () => {
  await ready;
  const res = await fetch(base + 'over.bin', { method: 'HEAD' });
  assert.is(res.status, 200);
  assert.is(res.headers.get('content-length'), String(MiB + 1));
  assert.is((await res.arrayBuffer()).byteLength, 0);
});

test.run();
