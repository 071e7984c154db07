/**
 * The blob store's durability ordering: concurrent syncs share one store, so a `syncDirs` that
 * finds nothing left to flush must still wait for another call's flush that took its renames.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, fstatSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobStore, BULK_MIN, LIST_SHARDS_AT, TEMP_PREFIX } from '../../site/blobs.js';
import { createFsFlusher } from '../../site/flush.js';

const MiB = 1024 * 1024;

for (const mode of ['syncfs', 'fdatasync'] as const) {
  test(`${mode}: a syncDirs that finds the dirty set empty waits for the flush that took it`, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-blobs-'));
    const savedPath = process.env.PATH;
    try {
      // No `sync` on PATH: the store falls back to fdatasync and an fsync per directory.
      if (mode === 'fdatasync') process.env.PATH = dir;
      const blobs = new BlobStore(dir);
      await blobs.init();
      process.env.PATH = savedPath;
      assert.is(blobs.durability, mode);
      await blobs.putBytes(Buffer.from('one blob, renamed into its shard directory\n'));
      const done: string[] = [];
      // The first call takes the dirty directories; the second finds none of its own.
      const first = blobs.syncDirs().then(() => done.push('first'));
      const second = blobs.syncDirs().then(() => done.push('second'));
      await Promise.all([first, second]);
      assert.equal(done, ['first', 'second']);
      // With nothing dirty and nothing in flight, a call returns without flushing.
      await blobs.syncDirs();
      await blobs.close();
    } finally {
      process.env.PATH = savedPath;
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('init makes all 256 shard directories; a shard removed since is made again by the next blob in it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-blobs-'));
  try {
    const blobs = new BlobStore(dir);
    await blobs.init();
    const shards = readdirSync(path.join(dir, 'artifacts')).sort();
    assert.is(shards.length, 256);
    assert.is(shards[0], '00');
    assert.is(shards[255], 'ff');
    const bytes = Buffer.from('a blob whose shard was removed by hand\n');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await rm(path.dirname(blobs.pathOf(sha256)), { recursive: true });
    assert.is(await blobs.putBytes(bytes), sha256);
    assert.equal(readFileSync(blobs.pathOf(sha256)), bytes);
    await blobs.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('sizesFor answers as sizeOf for every blob, from a listing of the shards or a stat each, and with a shard removed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-blobs-'));
  try {
    const blobs = new BlobStore(dir);
    await blobs.init();
    const stored: string[] = [];
    for (let i = 0; i < 40; i++) stored.push(await blobs.putBytes(Buffer.from(`stored blob ${i}\n`.repeat(i + 1))));
    // A temp file left in a shard is no blob; nor are digests never stored.
    const tmp = await blobs.createTemp(stored[0]!);
    blobs.closeTemp(tmp);
    const absent = Array.from({ length: 40 }, (_, i) => createHash('sha256').update(`absent ${i}`).digest('hex'));
    const want = (sha256: string) => blobs.sizeOf(sha256);
    assert.is(want(stored[3]!), 'stored blob 3\n'.length * 4);
    assert.is(want(absent[0]!), null);
    // Many asked for against few held: listed. Few asked for, or many held: a stat each. Both answer alike.
    for (const [count, held] of [[LIST_SHARDS_AT, 40], [LIST_SHARDS_AT - 1, 40], [LIST_SHARDS_AT, LIST_SHARDS_AT * 4 + 1]] as const) {
      const sizeOf = blobs.sizesFor(count, held);
      for (const sha256 of [...stored, ...absent]) assert.is(sizeOf(sha256), want(sha256), `${count} asked for, ${held} held: ${sha256}`);
    }
    await rm(path.dirname(blobs.pathOf(absent[1]!)), { recursive: true });
    const sizeOf = blobs.sizesFor(LIST_SHARDS_AT, 40);
    for (const sha256 of [...stored, ...absent]) assert.is(sizeOf(sha256), want(sha256), `a shard removed: ${sha256}`);
    await blobs.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Write `n` distinct closed temp blobs, as a sync's downloads leave them for `persistAll`. */
async function temps(blobs: BlobStore, n: number, tag: string): Promise<{ path: string; sha256: string }[]> {
  const out: { path: string; sha256: string }[] = [];
  for (let i = 0; i < n; i++) {
    const bytes = Buffer.from(`${tag} ${i}\n`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const tmp = await blobs.createTemp(sha256);
    blobs.write(tmp, bytes);
    blobs.closeTemp(tmp);
    out.push({ path: tmp.path, sha256 });
  }
  return out;
}

test('a small sync is made durable file by file, a large one by one syncfs (spawning `sync` costs more than a few fdatasyncs)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-blobs-'));
  try {
    const blobs = new BlobStore(dir);
    await blobs.init();
    assert.is(blobs.durability, 'syncfs');
    const small = await temps(blobs, 3, 'small');
    await blobs.persistAll(small);
    await blobs.syncDirs();
    assert.is(blobs.syncfsRuns, 0, 'no syncfs for 3 files in at most 3 directories');
    for (const f of small) {
      assert.not.ok(existsSync(f.path));
      assert.is(createHash('sha256').update(await readFile(blobs.pathOf(f.sha256))).digest('hex'), f.sha256);
    }
    const large = await temps(blobs, BULK_MIN * 4, 'large');
    await blobs.persistAll(large);
    assert.is(blobs.syncfsRuns, 1, 'one syncfs before the renames');
    await blobs.syncDirs();
    assert.is(blobs.syncfsRuns, 2, 'one syncfs for the directories of many renames');
    for (const f of large) assert.ok(existsSync(blobs.pathOf(f.sha256)));
    await blobs.close();
    await noShellFor(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('concurrent flushes share runs: each waits for one that started after its call, and the ones waiting share the next', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-flush-'));
  try {
    const flusher = createFsFlusher(dir);
    assert.ok(await flusher.probe());
    const first = flusher.flush();
    const waiting = Array.from({ length: 5 }, () => flusher.flush());
    assert.is(waiting[0], waiting[4], 'the callers that arrived during a run share the next one');
    assert.is.not(first, waiting[0]);
    await Promise.all([first, ...waiting]);
    assert.is(flusher.runs, 2);
    await flusher.flush();
    assert.is(flusher.runs, 3, 'with none under way, a flush starts its own');
    flusher.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('background flushes come every eighth of what a sync expects to write, between 16 MiB and the flusher\'s limit', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-flush-'));
  const flusher = createFsFlusher(dir, 64 * MiB);
  try {
    assert.ok(await flusher.probe());
    const kicksAt = async (expected: number, writes: number[]): Promise<number[]> => {
      flusher.expect(expected);
      const kicked: number[] = [];
      for (const w of writes) {
        const before = flusher.runs;
        flusher.wrote(w * MiB);
        kicked.push(flusher.runs - before);
        // Waits for a background run under way, so the next write may start one.
        await flusher.flush();
      }
      return kicked;
    };
    // 128 MiB expected: every 16 MiB.
    assert.equal(await kicksAt(128 * MiB, [15, 1, 16]), [0, 1, 1]);
    // 1 GiB: every 64 MiB (the limit), not every 128.
    assert.equal(await kicksAt(1024 * MiB, [32, 31, 1]), [0, 0, 1]);
    // 8 MiB: at least 16 MiB apart.
    assert.equal(await kicksAt(8 * MiB, [8, 7, 1]), [0, 0, 1]);
  } finally {
    flusher.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** Pids of the syncfs shells running for `dir` (found in /proc, as an operator would with ps). */
function shellsFor(dir: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (argv[1] === '-c' && argv[2]?.includes('sync --file-system') && argv[4] === dir) pids.push(Number(pid));
  }
  return pids;
}

/** Closing stops the shell: it is gone within a few seconds (a signal is not delivered at once). */
async function noShellFor(dir: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (shellsFor(dir).length > 0) {
    if (Date.now() > deadline) throw new Error(`the syncfs shell for ${dir} still runs 5 s after the store was closed`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a temp blob written in pieces of any size holds exactly those bytes, written in whole 1 MiB chunks until it is closed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-blobs-'));
  try {
    const blobs = new BlobStore(dir);
    await blobs.init();
    const bytes = randomBytes(5 * MiB + 12_345);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const tmp = await blobs.createTemp(sha256);
    // Socket-sized pieces that cross chunk boundaries: only whole chunks reach the file meanwhile.
    let off = 0;
    for (; off < 1.5 * MiB; off += 65_000) blobs.write(tmp, bytes.subarray(off, Math.min(off + 65_000, 1.5 * MiB)));
    off = 1.5 * MiB;
    assert.is(fstatSync(tmp.fd).size, MiB);
    // A large piece: the held-back half chunk is completed, then whole chunks, the rest held back.
    blobs.write(tmp, bytes.subarray(off, off + 2.75 * MiB));
    off += 2.75 * MiB;
    assert.is(fstatSync(tmp.fd).size, 4 * MiB);
    blobs.write(tmp, bytes.subarray(off, off + 1));
    blobs.write(tmp, bytes.subarray(off + 1));
    assert.is(fstatSync(tmp.fd).size, 5 * MiB);
    blobs.closeTemp(tmp);
    assert.ok((await readFile(tmp.path)).equals(bytes));

    // Nothing held back and a piece of whole chunks and more: the chunks are written as they are.
    const other = await blobs.createTemp(sha256);
    blobs.write(other, bytes.subarray(0, 2 * MiB + 10));
    assert.is(fstatSync(other.fd).size, 2 * MiB);
    // Dropped: the held-back bytes are never written, and the file is gone.
    blobs.discardTemp(other);
    assert.not.ok(existsSync(other.path));
    await blobs.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('temp files are created on the event loop while creates are fast, and on the thread pool for a while after a slow one', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-blobs-'));
  try {
    const blobs = new BlobStore(dir);
    await blobs.init();
    const bytes = Buffer.from('a blob created on the event loop, then one created on the pool\n');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const shard = path.dirname(blobs.pathOf(sha256));
    const temps = () => readdirSync(shard).filter((n) => n.startsWith(TEMP_PREFIX)).length;
    // On the event loop: the file exists before the call returns.
    const onLoop = blobs.createTemp(sha256);
    assert.is(temps(), 1);
    const a = await onLoop;
    // A slow create closes the gate: the next one goes to libuv's pool, and works the same.
    blobs.createGate.slowAt(performance.now());
    assert.not.ok(blobs.createGate.synchronousAt(performance.now()));
    const b = await blobs.createTemp(sha256);
    assert.is(temps(), 2);
    for (const tmp of [a, b]) {
      blobs.write(tmp, bytes);
      blobs.closeTemp(tmp);
      assert.ok(readFileSync(tmp.path).equals(bytes));
    }
    blobs.discardTemp(a);
    blobs.discardTemp(b);
    assert.is(temps(), 0);
    await blobs.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('syncfs runs in one long-lived shell, not a process per run; a shell that dies fails the run it held, and the next run starts another', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-flush-'));
  const flusher = createFsFlusher(dir);
  try {
    assert.ok(await flusher.probe());
    for (let i = 0; i < 5; i++) await flusher.flush();
    assert.is(flusher.runs, 5);
    assert.is(flusher.shells, 1);
    const [pid, ...others] = shellsFor(dir);
    assert.ok(pid, 'the shell runs');
    assert.equal(others, []);
    // It gets PATH and nothing else of this process's environment (a site's secrets live there).
    const names = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => kv.slice(0, kv.indexOf('=')));
    assert.equal(names, ['PATH']);
    // Killed before the request is written: the run can only end by the shell's exit.
    process.kill(pid!, 'SIGKILL');
    const err = await flusher.flush().then(() => null, (e: Error) => e);
    assert.match(err?.message ?? '', /^syncfs of .* failed: the syncfs shell exited \(SIGKILL\)$/);
    await flusher.flush();
    assert.is(flusher.shells, 2);
    assert.equal(shellsFor(dir).length, 1);
  } finally {
    flusher.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
