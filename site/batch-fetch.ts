/**
 * The downstream's side of a batch fetch (batch-protocol.ts): many files in one request, each
 * streamed into its own temp blob and verified by sha256 and size before it is kept. What did not
 * arrive whole and verified — a file the upstream lacks, a corrupted one, the rest of an answer cut
 * short — is handed back, to be fetched by a plain GET (which retries, and fails the sync as a GET
 * does). Nothing here retries: a batch is an optimisation, never the only way to a file.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ManifestEntry } from '../manifest/types.js';
import { batchRequestBody, BATCH_HEADER, FrameReader, offersBatch } from './batch-protocol.js';
import type { TempBlob } from './blobs.js';
import { failedStatus, openBatch, throttled, type DownloadDeps } from './download.js';

/** Temp blobs created ahead of the frame being read (their creation waits on the filesystem). */
const TEMP_AHEAD = 8;

export interface BatchOutcome {
  /** Verified temp blobs, closed, not yet durable (for `BlobStore.persistAll`). */
  verified: { path: string; sha256: string }[];
  /** Entries to fetch by plain GET, with why the batch did not bring them. */
  left: { entry: ManifestEntry; why: string }[];
  /** The upstream would not serve a batch (no offer in its answer, or an error status): plain GETs from here on. */
  refused: boolean;
}

/** Fetch `entries` (relative to the manifest at `manifestUrl`) in one batch request. */
export async function downloadBatch(manifestUrl: string, entries: ManifestEntry[], deps: DownloadDeps): Promise<BatchOutcome> {
  const out: BatchOutcome = { verified: [], left: [], refused: false };
  const leaveFrom = (i: number, why: string) => {
    for (const entry of entries.slice(i)) out.left.push({ entry, why });
  };
  let res;
  try {
    res = await openBatch(manifestUrl, batchRequestBody(entries.map((e) => e.relativePath)), deps);
  } catch (err) {
    if (deps.signal.aborted) throw deps.signal.reason;
    out.refused = failedStatus(err) !== undefined; // an answer with an error status, not a lost connection
    leaveFrom(0, `batch request failed: ${(err as Error).message}`);
    return out;
  }
  if (!offersBatch(res.headers[BATCH_HEADER])) {
    res.discard();
    out.refused = true;
    leaveFrom(0, 'the upstream answered a batch request without batch framing');
    return out;
  }

  /** Temp blobs by entry, created ahead; `blob` once created, so a frame can start without waiting. */
  const temps: Array<{ made: Promise<TempBlob>; blob: TempBlob | null; taken: boolean } | undefined> = [];
  const tempAt = (i: number) => {
    const e = entries[i];
    if (!e || temps[i]) return;
    const slot = { made: deps.blobs.createTemp(e.sha256), blob: null as TempBlob | null, taken: false };
    slot.made.then((b) => (slot.blob = b), () => undefined);
    temps[i] = slot;
  };
  /** The frame being read: its entry's index, its temp blob (null: its bytes are not kept), its hash. */
  let at = -1;
  let tmp: TempBlob | null = null;
  let hash: Hash | null = null;
  let why = '';
  let size = 0;
  const begin = (t: TempBlob) => {
    if (why) return deps.blobs.discardTemp(t);
    tmp = t;
    hash = createHash('sha256');
  };
  const reader = new FrameReader({
    start: (status, frameSize) => {
      at++;
      const e = entries[at];
      if (!e) throw new Error('a batch answer with more frames than files asked for');
      for (let i = at; i < at + TEMP_AHEAD; i++) tempAt(i);
      size = 0;
      why = status !== 200 ? `the upstream has no file at this path (${status})` : frameSize !== e.size ? `failed validation due to size. Expected '${e.size}', Actual '${frameSize}'` : '';
      const slot = temps[at]!;
      slot.taken = true;
      if (slot.blob) return begin(slot.blob);
      return slot.made.then(begin);
    },
    data: (piece) => {
      deps.onBytes(piece.length);
      if (!tmp || !hash) return;
      size += piece.length;
      hash.update(piece);
      deps.blobs.write(tmp, piece);
    },
    end: () => {
      const e = entries[at]!;
      const t = tmp;
      tmp = null;
      if (t && hash) {
        const actual = deps.blobs.finishHash(hash, size, e.sha256);
        if (actual === e.sha256 && size === e.size) {
          deps.blobs.closeTemp(t);
          out.verified.push({ path: t.path, sha256: e.sha256 });
          return;
        }
        deps.blobs.discardTemp(t);
        why = actual !== e.sha256 ? `failed validation due to checksum. Expected '${e.sha256}', Actual '${actual}'` : `failed validation due to size. Expected '${e.size}', Actual '${size}'`;
      }
      out.left.push({ entry: e, why });
    },
  });
  try {
    await res.read(throttled(deps, (piece) => reader.push(piece)));
    if (reader.frames < entries.length || !reader.done) throw new Error(`a batch answer with ${reader.frames} of ${entries.length} files`);
  } catch (err) {
    res.discard();
    if (deps.signal.aborted) throw deps.signal.reason;
    // The frame being read when the answer broke off, and every one after it, are fetched by GET.
    const t = tmp as TempBlob | null;
    if (t) deps.blobs.discardTemp(t);
    tmp = null;
    leaveFrom(reader.inFrame ? at : at + 1, `batch answer cut short: ${(err as Error).message}`);
  } finally {
    // Temp blobs made ahead for frames that never came.
    await Promise.all(temps.map((slot) => (slot && !slot.taken ? slot.made.then((t) => deps.blobs.discardTemp(t), () => undefined) : undefined)));
  }
  return out;
}
