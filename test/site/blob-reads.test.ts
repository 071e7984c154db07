/**
 * The content app's blob reads (site/blob-reads.ts): synchronous while they are fast, on the
 * thread pool for a while (longer while the disk stays slow) once waits for the disk have held the
 * event loop up for WAIT_BUDGET_MS within about a second. Real files throughout; a slow disk
 * cannot be made on demand here, so the clock and the block-input count are the edges that play
 * it: a call that advances the clock by SLOW_CALL_MS took that long, and one that adds to the
 * count read from the disk.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BlobReads, WAIT_BUDGET_MS } from '../../site/blob-reads.js';
import { MAX_POOL_MS, MIN_POOL_MS, SLOW_CALL_MS, WAIT_DECAY_MS } from '../../site/io-gate.js';
import { tempDir } from '../../testkit/cli.js';
import { BOTH_KINDS, playedDisk, playedReadEdges, type PlayedDisk } from '../../testkit/played-reads.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-blob-reads-'));
});
test.after(async () => cleanup());

/** A BlobReads on edges that play `clock` (with the site's wait budget unless told), and the calls they made. */
function played(clock: PlayedDisk, waitBudgetMs = WAIT_BUDGET_MS): { reads: BlobReads; calls: string[] } {
  const { e, calls } = playedReadEdges(clock);
  return { reads: new BlobReads(e, waitBudgetMs), calls };
}

async function readWhole(reads: BlobReads, file: string, size: number): Promise<string> {
  const fd = await reads.open(file);
  try {
    const buf = Buffer.alloc(size);
    let got = 0;
    for (let n = -1; n !== 0 && got < size; got += n) n = await reads.read(fd, buf, got, Math.min(4, size - got), got);
    return buf.subarray(0, got).toString();
  } finally {
    closeSync(fd);
  }
}

test('fast calls stay synchronous; reads that waited for the disk send reads (not opens) to the pool for MIN_POOL_MS once their waits reach the budget, then they come back', async () => {
  const file = path.join(dir, 'blob');
  writeFileSync(file, 'twelve bytes');
  const clock = playedDisk({ ms: 1000 });
  const { reads, calls } = played(clock);

  assert.is(await readWhole(reads, file, 12), 'twelve bytes');
  assert.equal(calls.splice(0), ['open:sync', 'read:sync', 'read:sync', 'read:sync']);
  assert.is(reads.slow, 0);

  // Slow, but no block input: a busy machine, not the disk. Reads stay synchronous.
  clock.disk = WAIT_BUDGET_MS * 5;
  clock.input = false;
  assert.is(await readWhole(reads, file, 12), 'twelve bytes');
  assert.equal(calls.splice(0), ['open:sync', 'read:sync', 'read:sync', 'read:sync']);
  assert.is(reads.slow, 0);

  // Reads that wait for the disk a little: each is counted, and reads stay synchronous.
  clock.disk = SLOW_CALL_MS;
  clock.input = true;
  clock.slow = new Set(['read']);
  assert.is(await readWhole(reads, file, 12), 'twelve bytes');
  assert.equal(calls.splice(0), ['open:sync', 'read:sync', 'read:sync', 'read:sync']);
  assert.is(reads.slow, 3);
  assert.equal(reads.synchronous, { open: true, read: true });

  // A read whose wait uses up the budget: the reads after it use the pool; opens do not.
  clock.disk = WAIT_BUDGET_MS;
  assert.is(await readWhole(reads, file, 12), 'twelve bytes');
  assert.equal(calls.splice(0), ['open:sync', 'read:sync', 'read:pool', 'read:pool']);
  assert.is(reads.slow, 4);
  assert.equal(reads.synchronous, { open: true, read: false });

  // Just before MIN_POOL_MS has passed: still the pool. At MIN_POOL_MS: synchronous again.
  clock.disk = 0;
  clock.ms += MIN_POOL_MS - 1;
  assert.equal(reads.synchronous, { open: true, read: false });
  clock.ms += 1;
  assert.equal(reads.synchronous, { open: true, read: true });

  // Just under the threshold is fast, disk or not.
  clock.disk = SLOW_CALL_MS - 0.01;
  clock.slow = BOTH_KINDS;
  assert.is(await readWhole(reads, file, 12), 'twelve bytes');
  assert.equal(calls.splice(0), ['open:sync', 'read:sync', 'read:sync', 'read:sync']);
  assert.is(reads.slow, 4);
});

test('waits add up within about a second: two waits of 60% of the budget in a row send reads to the pool, the same waits seconds apart do not', async () => {
  const file = path.join(dir, 'spread');
  writeFileSync(file, 'ab');
  const wait = WAIT_BUDGET_MS * 0.6;
  /** Read the two bytes one at a time, `apartMs` between the reads; how the reads went. */
  const twoReads = async (apartMs: number): Promise<string[]> => {
    const clock = playedDisk({ ms: 1000, disk: wait, slow: new Set(['read']) });
    const { reads, calls } = played(clock);
    const fd = await reads.open(file);
    const buf = Buffer.alloc(2);
    try {
      await reads.read(fd, buf, 0, 1, 0);
      clock.ms += apartMs;
      await reads.read(fd, buf, 1, 1, 1);
      // A third read shows where the gate stands.
      await reads.read(fd, buf, 0, 2, 0);
    } finally {
      closeSync(fd);
    }
    assert.is(buf.toString(), 'ab');
    return calls;
  };
  assert.equal(await twoReads(0), ['open:sync', 'read:sync', 'read:sync', 'read:pool']);
  assert.equal(await twoReads(WAIT_DECAY_MS / 10), ['open:sync', 'read:sync', 'read:sync', 'read:pool']);
  assert.equal(await twoReads(WAIT_DECAY_MS * 3), ['open:sync', 'read:sync', 'read:sync', 'read:sync']);
});

test('an open that used up the budget, slow again soon after a stay on the pool: twice as long each time, up to MAX_POOL_MS; after a long fast stretch it starts over', async () => {
  const file = path.join(dir, 'one-byte');
  writeFileSync(file, 'x');
  const clock = playedDisk({ slow: new Set(['open']) });
  // Each wait uses up a budget of its own length; a wait longer than a stay starts its stay late,
  // so one of SLOW_CALL_MS, and the budget to match, show the stays to the millisecond.
  const { reads } = played(clock, SLOW_CALL_MS);
  /** One slow open now; how long reads then stay on the pool (checked to the millisecond). */
  const stayAfterSlowOpen = async (): Promise<number> => {
    clock.disk = SLOW_CALL_MS;
    await reads.open(file).then(closeSync);
    clock.disk = 0;
    let stay = 0;
    assert.ok(reads.synchronous.read, 'reads stay synchronous');
    while (!reads.synchronous.open) {
      clock.ms += 1;
      stay += 1;
    }
    return stay;
  };
  const stays: number[] = [];
  for (let i = 0; i < 7; i++) stays.push(await stayAfterSlowOpen());
  const doubling = [1, 2, 4, 8, 16, 32, 64].map((k) => Math.min(k * MIN_POOL_MS, MAX_POOL_MS));
  assert.equal(stays, doubling);
  // A slow open after a long fast stretch starts over at the shortest stay.
  clock.ms += 60_000;
  assert.is(await stayAfterSlowOpen(), MIN_POOL_MS);
  assert.is(reads.slow, 8);
});

test('errors reject on either path and a slow failing call still counts', async () => {
  const { reads } = played(playedDisk({ disk: WAIT_BUDGET_MS }));
  const missing = path.join(dir, 'missing');
  const sync = await reads.open(missing).then(() => null, (err: NodeJS.ErrnoException) => err.code);
  assert.is(sync, 'ENOENT');
  assert.is(reads.slow, 1);
  const pooled = await reads.open(missing).then(() => null, (err: NodeJS.ErrnoException) => err.code);
  assert.is(pooled, 'ENOENT');
});

test('openNow and readNow make the call now while their gate is open, answer undefined (and call nothing) while it is closed, and throw the call\'s error', async () => {
  const file = path.join(dir, 'now');
  writeFileSync(file, 'abcdef');
  const clock = playedDisk();
  const { reads, calls } = played(clock);
  const buf = Buffer.alloc(6);

  const fd = reads.openNow(file);
  assert.type(fd, 'number');
  assert.is(reads.readNow(fd!, buf, 0, 3, 0), 3);
  assert.equal(calls.splice(0), ['open:sync', 'read:sync']);

  // A read that waited for the disk as long as the budget closes the read gate: readNow declines, openNow still opens.
  clock.disk = WAIT_BUDGET_MS;
  clock.slow = new Set(['read']);
  assert.is(reads.readNow(fd!, buf, 3, 3, 3), 3);
  assert.is(buf.toString(), 'abcdef');
  assert.is(reads.readNow(fd!, buf, 0, 3, 0), undefined);
  const fd2 = reads.openNow(file);
  assert.type(fd2, 'number');
  assert.equal(calls.splice(0), ['read:sync', 'open:sync']);
  // `read` goes to the pool meanwhile and gets the bytes.
  assert.is(await reads.read(fd2!, buf, 0, 6, 0), 6);
  assert.equal(calls.splice(0), ['read:pool']);
  closeSync(fd!);
  closeSync(fd2!);

  // A slow open closes the open gate the same way.
  clock.slow = new Set(['open']);
  const fd3 = reads.openNow(file);
  closeSync(fd3!);
  assert.is(reads.openNow(file), undefined);
  assert.equal(calls.splice(0), ['open:sync']);

  clock.ms += MAX_POOL_MS;
  clock.disk = 0;
  assert.throws(() => reads.openNow(path.join(dir, 'missing-now')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
});

test('the real edges: a blob read whole, synchronously', async () => {
  const file = path.join(dir, 'ten-thousand');
  const body = 'x'.repeat(10_000);
  writeFileSync(file, body);
  const reads = new BlobReads();
  assert.is(await readWhole(reads, file, body.length), body);
});

test.run();
