/**
 * The batch fetch's framing and planning (site/batch-protocol.ts, site/download-plan.ts): pure
 * functions, fed every split of an answer and the edges of the limits.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { batchRequestBody, FrameReader, frameLine, offersBatch, parseBatchRequest, BATCH_MAX_PATHS } from '../../site/batch-protocol.js';
import { planDownloads } from '../../site/download-plan.js';
import type { ManifestEntry } from '../../manifest/types.js';

/** Frames read from `answer` fed in pieces of `step` bytes; each handler may pause (a promise). */
async function read(answer: Buffer, step: number, pause = false) {
  const frames: { status: number; size: number; bytes: string }[] = [];
  const later = () => (pause ? new Promise<void>((r) => setImmediate(r)) : undefined);
  const reader = new FrameReader({
    start: (status, size) => {
      frames.push({ status, size, bytes: '' });
      return later();
    },
    data: (piece) => void (frames.at(-1)!.bytes += piece.toString('latin1')),
    end: () => later(),
  });
  for (let at = 0; at < answer.length; at += step) await reader.push(answer.subarray(at, at + step));
  return { frames, done: reader.done };
}

// The last file's 12 bytes hold what looks like a frame line: inside a file, bytes are bytes.
const ANSWER = Buffer.from(frameLine(200, 5) + 'hello' + frameLine(404, 0) + frameLine(200, 0) + frameLine(200, 12) + '200 3\nnot a!');

test('frames come out the same whatever the split of the answer, paused or not', async () => {
  for (const step of [1, 2, 3, 7, ANSWER.length]) {
    for (const pause of [false, true]) {
      const got = await read(ANSWER, step, pause);
      assert.equal(got.frames.map((f) => f.status), [200, 404, 200, 200], `step ${step}`);
      assert.is(got.frames[0]!.bytes, 'hello');
      assert.is(got.frames[3]!.bytes, '200 3\nnot a!');
      assert.ok(got.done, `step ${step}`);
    }
  }
});

test('an answer cut inside a frame is not done; a malformed or endless frame line throws', async () => {
  assert.is((await read(Buffer.from('200 10\nabc'), 4)).done, false);
  assert.is((await read(Buffer.from('200 1'), 4)).done, false);
  for (const bad of ['500 3\nabc', '200 -1\n', '200  3\n', 'HTTP/1.1 200 OK\r\n', '200 3\r\nabc', '200 ' + '9'.repeat(30) + '\n']) {
    const err = await read(Buffer.from(bad), 64).then(() => null, (e: Error) => e);
    assert.match(String(err?.message), /batch frame line/, JSON.stringify(bad));
  }
});

test('a request lists paths one per line; what cannot be served is refused with why', () => {
  assert.equal(parseBatchRequest(batchRequestBody(['a/b.rpm', 'c d,é.txt'])), ['a/b.rpm', 'c d,é.txt']);
  assert.equal(parseBatchRequest(Buffer.alloc(0)), { refused: 'no paths asked for' });
  assert.equal(parseBatchRequest(Buffer.from('a\n\nb')), { refused: 'an empty path' });
  assert.equal(parseBatchRequest(Buffer.from('a\r\nb')), { refused: 'paths must be UTF-8 lines without CR or NUL' });
  assert.equal(parseBatchRequest(Buffer.from([0x61, 0xff])), { refused: 'paths must be UTF-8 lines without CR or NUL' });
  assert.equal(parseBatchRequest(batchRequestBody(Array.from({ length: BATCH_MAX_PATHS + 1 }, (_, i) => `f${i}`))), { refused: `more than ${BATCH_MAX_PATHS} paths` });
  assert.ok(offersBatch('1'));
  assert.not.ok(offersBatch(undefined));
  assert.not.ok(offersBatch('2'));
});

const entry = (relativePath: string, size: number): ManifestEntry => ({ relativePath, sha256: relativePath.padEnd(64, '0'), size });

test('small files are grouped into batches within the limits; large ones, append guesses and lone files go by GET; the largest jobs first', () => {
  const limits = { fileMax: 100, files: 3, bytes: 250 };
  const missing = [entry('a', 10), entry('big', 101), entry('b', 100), entry('c', 100), entry('d', 60), entry('tail', 5), entry('e', 1), entry('f', 1), entry('g', 1), entry('h', 1)];
  const jobs = planDownloads(missing, true, (e) => e.relativePath === 'tail', limits);
  const shape = jobs.map((j) => ('batch' in j ? j.batch.map((e) => e.relativePath).join('+') : j.one.relativePath));
  assert.equal(shape, ['a+b+c', 'big', 'd+e+f', 'tail', 'g+h']);
  // A last group of one is a GET.
  assert.equal(planDownloads([entry('a', 1), entry('b', 1), entry('c', 1), entry('d', 1)], true, () => false, limits).map((j) => 'one' in j), [false, true]);
  // Not offered: every file by GET, the largest first (equal sizes in manifest order).
  assert.equal(planDownloads(missing, false, () => false, limits).map((j) => ('one' in j ? j.one.relativePath : '?')), ['big', 'b', 'c', 'd', 'a', 'tail', 'e', 'f', 'g', 'h']);
});

test.run();
