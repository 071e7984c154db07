/**
 * Append-aware downloads. Logs and other growing files change by appending, and whole-file content
 * addressing would resend them in full. When the new manifest lists a blob the site lacks at a path
 * where the repository's previous version held a shorter file, the file has probably grown in
 * place: fetch only the bytes past the old size (`Range: bytes=OLD-`), stream the old blob followed
 * by that tail through the sha256 and size check into a temp blob, and keep it only when the whole
 * file's digest and size match the manifest. Content addressing stays the truth: the guess only
 * chooses what to fetch, never what to accept. The old bytes are hashed again only when the store
 * holds no hash state of the old blob from when it verified it: going on from that state trusts
 * the stored blob exactly as a sync that reuses a blob by its digest does.
 *
 * A cheap probe comes first: the last `PROBE_BYTES` of the old size (`bytes=OLD-K-(OLD-1)`), which
 * must equal the old blob's last bytes and come with `Content-Range: …/NEW`. A file rewritten whole
 * that happens to grow (metadata) fails the probe and costs K bytes instead of its whole tail.
 * Any failure (non-206, other Content-Range, different bytes, wrong digest, an error) returns
 * `fallback` and the caller downloads the whole file as usual: a wrong guess never fails a sync.
 * The upstream computes nothing per client: both Pulp's content app and ours serve ranges of
 * stored files.
 */
import { createHash } from 'node:crypto';
import { constants, fstatSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { readChunks } from '../core/buffer-pool.js';
import type { ManifestEntry } from '../manifest/types.js';
import type { TempBlob } from './blobs.js';
import { writeFully } from './durable-io.js';
import { openRange, throttled, type DownloadDeps } from './download.js';
import type { GetResponse } from './http-get.js';

/** Bytes of the old size's end fetched first to check the guess. @default 4096 */
export const PROBE_BYTES = 4096;

/** The file a path held in the repository's previous version: the prefix a grown file should start with. */
export interface AppendBasis {
  /** The stored blob of the old file, and its digest. */
  blobPath: string;
  sha256: string;
  size: number;
}

/** What an append attempt gave. */
export type AppendResult =
  | { kind: 'appended'; path: string; sha256: string; tailBytes: number; fromHashState: boolean }
  | { kind: 'fallback'; reason: string; receivedBytes: number };

/**
 * The append candidates of a sync: for each missing blob, the stored blob the same path held in the
 * previous version when it was shorter than the new file (and not empty). `stored(sha256)` is the
 * size of a blob on disk, or null. Keyed by the new blob's sha256.
 */
export function appendBases(
  previous: ReadonlyMap<string, { sha256: string; size: number }>,
  missing: readonly ManifestEntry[],
  stored: (sha256: string) => number | null,
  blobPath: (sha256: string) => string,
): Map<string, AppendBasis> {
  const out = new Map<string, AppendBasis>();
  for (const e of missing) {
    const old = previous.get(e.relativePath);
    if (!old || old.size <= 0 || old.size >= e.size || old.sha256 === e.sha256) continue;
    if (stored(old.sha256) !== old.size) continue;
    out.set(e.sha256, { blobPath: blobPath(old.sha256), sha256: old.sha256, size: old.size });
  }
  return out;
}

/** The guess was wrong or the upstream cannot serve ranges: download the whole file instead. */
class Fallback extends Error {}

/** `Content-Range: bytes START-END/TOTAL` of a 206, checked against what was asked. */
function checkRange(res: GetResponse, start: number, end: number, total: number): void {
  if (res.status !== 206) throw new Fallback(`answered ${res.status} to a range request`);
  const want = `bytes ${start}-${end}/${total}`;
  const got = (res.headers['content-range'] ?? '').trim();
  if (got !== want) throw new Fallback(`Content-Range '${got}', expected '${want}'`);
}

/** Read a whole (small) range body; more than `limit` bytes is a mismatch. Counted as received. */
async function readBody(res: GetResponse, limit: number, deps: DownloadDeps): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  await res.read(
    throttled(deps, (chunk) => {
      size += chunk.length;
      deps.onBytes(chunk.length);
      if (size > limit) throw new Fallback(`range body longer than ${limit} bytes`);
      chunks.push(Buffer.from(chunk)); // a copy: the piece is a view of a reused buffer
    }),
  );
  return Buffer.concat(chunks);
}

/** The last `n` bytes of a file of `size` bytes. */
async function readEnd(file: string, size: number, n: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    let off = 0;
    while (off < n) {
      const { bytesRead } = await fh.read(buf, off, n - off, size - n + off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}

/**
 * Try to build the new file from the old blob plus the upstream's tail. On success the verified temp
 * blob comes back closed, not yet durable, as from `downloadArtifact`. Throws only when the sync is
 * aborted; every other failure is a `fallback` (the temp file removed).
 */
export async function downloadAppended(url: string, expected: { sha256: string; size: number }, basis: AppendBasis, deps: DownloadDeps): Promise<AppendResult> {
  let received = 0;
  const counted: DownloadDeps = {
    ...deps,
    onBytes: (n) => {
      received += n;
      deps.onBytes(n);
    },
  };
  let tmp: TempBlob | null = null;
  let body: GetResponse | null = null;
  let tailP: Promise<GetResponse> | null = null;
  let copied: Promise<void> | null = null;
  try {
    const k = Math.min(PROBE_BYTES, basis.size);
    body = await openRange(url, `bytes=${basis.size - k}-${basis.size - 1}`, counted);
    checkRange(body, basis.size - k, basis.size - 1, expected.size);
    const [theirs, ours] = await Promise.all([readBody(body, k, counted), readEnd(basis.blobPath, basis.size, k)]);
    if (ours.length !== k) throw new Fallback('the old blob is shorter than recorded');
    if (!theirs.equals(ours)) throw new Fallback('the bytes before the old end differ: not an append');

    // The tail request is in flight while the old blob is copied and hashed. The copy is the
    // kernel's (copyFile, on a pool thread; a reflink where the filesystem has them). The hash
    // goes on from the state the store kept when it verified the old blob (BlobStore.finishHash),
    // so a log appended to day after day costs the hash of its tail only; without one (the blob
    // came before this process started), this thread hashes the old blob first.
    tailP = openRange(url, `bytes=${basis.size}-`, counted);
    tailP.catch(() => undefined);
    tmp = await deps.blobs.createTemp(expected.sha256);
    copied = copyFile(basis.blobPath, tmp.path, constants.COPYFILE_FICLONE);
    copied.catch(() => undefined);
    const kept = deps.blobs.hashStateAfter(basis.sha256);
    const hash = kept ?? createHash('sha256');
    let size = kept ? basis.size : await readChunks(basis.blobPath, (chunk) => void hash.update(chunk), { signal: deps.signal });
    await copied;
    // The copy (and the hash, if it read the blob) must have seen the old blob whole: a blob never
    // changes, but it could be removed.
    const copiedSize = fstatSync(tmp.fd).size;
    if (size !== basis.size || copiedSize !== basis.size) throw new Fallback(`the old blob gave ${size} and ${copiedSize} bytes, not ${basis.size}`);
    body = await tailP;
    tailP = null;
    checkRange(body, basis.size, expected.size - 1, expected.size);
    const fd = tmp.fd;
    await body.read(
      throttled(deps, (chunk) => {
        if (size + chunk.length > expected.size) throw new Fallback('the tail is longer than announced');
        counted.onBytes(chunk.length);
        hash.update(chunk);
        // At `size`: the temp file's offset is not used (the copy wrote through another descriptor).
        writeFully(fd, chunk, size);
        size += chunk.length;
      }),
    );
    if (size !== expected.size) throw new Fallback(`got ${size} bytes, expected ${expected.size}`);
    const actual = deps.blobs.finishHash(hash, size, expected.sha256);
    if (actual !== expected.sha256) throw new Fallback(`old bytes + tail have sha256 ${actual}, expected ${expected.sha256}`);
    deps.blobs.closeTemp(tmp);
    return { kind: 'appended', path: tmp.path, sha256: expected.sha256, tailBytes: expected.size - basis.size, fromHashState: kept !== null };
  } catch (err) {
    body?.discard();
    // A tail request still in flight when the copy failed: free its connection when it answers.
    tailP?.then((r) => r.discard(), () => undefined);
    // The copy cannot be stopped; removing its file before it opens it would let it make a new one.
    await copied?.catch(() => undefined);
    if (tmp) deps.blobs.discardTemp(tmp);
    if (deps.signal.aborted) throw deps.signal.reason;
    return { kind: 'fallback', reason: (err as Error)?.message ?? String(err), receivedBytes: received };
  }
}
