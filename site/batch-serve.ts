/**
 * The upstream's side of a batch fetch (batch-protocol.ts): the files asked for, framed back to
 * back in one answer. Small files are packed into the same pooled 1 MiB buffers, so a thousand
 * small files cost a few socket writes instead of a thousand answers. While the page cache answers,
 * a batch of small files costs no promise per file (blob-reads.ts `openNow`, `readNow`); once opens
 * go to the thread pool, the next files are opened while earlier ones are read.
 */
import { closeSync, fstatSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ioBuffers } from '../core/buffer-pool.js';
import type { BlobReads } from './blob-reads.js';
import { BATCH_CONTENT_TYPE, BATCH_HEADER, BATCH_MAX_BODY, BATCH_VERSION, frameLine, parseBatchRequest } from './batch-protocol.js';
import { blobsOf } from './content-lookup.js';
import { contentInnerPath } from './content-path.js';
import { ApiError, readBody } from './http.js';
import type { PublicationRecord } from './records.js';
import { handedOver } from './send-io.js';
import type { Site } from './site.js';

/** Files opened ahead of the one being read. */
const OPEN_AHEAD = 8;

/** Answer a batch request made of `pub`'s manifest URL; `dir` is the manifest's directory in it. */
export async function serveBatch(site: Site, req: IncomingMessage, res: ServerResponse, pub: PublicationRecord, dir: string): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req, BATCH_MAX_BODY);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return refuse(res, err.status, 'a request body too large');
  }
  const paths = parseBatchRequest(body);
  if ('refused' in paths) return refuse(res, 400, paths.refused);
  const t = site.store.t;
  // Resolved now, against the tables of this instant, as the GETs of the same paths would be.
  const blobAt = blobsOf(t, pub);
  const files = paths.map((p): Served | null => {
    const blob = blobAt(contentInnerPath(dir + p));
    if (!blob) return null;
    // A unit's size is its artifact's; the manifest's is read from its descriptor.
    const size = blob.artifact_id === undefined ? undefined : t.artifacts.get(blob.artifact_id)?.size;
    return { file: site.blobs.pathOf(blob.sha256), size };
  });
  const opens: Array<Promise<number | null> | undefined> = [];
  const openAt = (i: number) => {
    const f = files[i];
    if (i < files.length && opens[i] === undefined) opens[i] = f === null || f === undefined ? Promise.resolve(null) : site.reads.open(f.file).catch(() => null);
  };
  res.writeHead(200, { [BATCH_HEADER]: BATCH_VERSION, 'Content-Type': BATCH_CONTENT_TYPE });
  const out = new PackedWriter(res, site.reads);
  let next = 0;
  try {
    for (; next < files.length; next++) {
      const f = files[next] ?? null;
      // While the page cache answers, each file is opened when its turn comes, on the event loop
      // (blob-reads.ts); once opens go to the thread pool, the next ones are opened ahead.
      let fd = f === null ? null : opens[next] === undefined ? openNow(site.reads, f.file) : undefined;
      if (fd === undefined) {
        for (let i = next; i < next + OPEN_AHEAD; i++) openAt(i);
        fd = await opens[next];
      }
      if (fd === null || fd === undefined || f === null) {
        // `put` answers a promise only when it had to send the buffer first.
        const put = out.put(frameLine(404, 0));
        if (put !== true && !(await put)) return;
        continue;
      }
      try {
        // Fewer bytes than a unit's artifact records (a blob damaged on disk) cut the answer below;
        // the downstream verifies every file's sha256 in any case.
        const size = f.size ?? fstatSync(fd).size;
        const put = out.put(frameLine(200, size));
        if (put !== true && !(await put)) return;
        const copied = out.copy(fd, size);
        const sent = typeof copied === 'number' ? copied : await copied;
        site.metrics.contentBytesServed += sent;
        // Fewer bytes than the frame line promised: only cutting the answer tells the downstream.
        if (sent < size) return void res.destroy();
      } finally {
        closeSync(fd);
      }
      if (out.gone) return;
    }
    await out.end();
  } finally {
    out.release();
    // Files opened ahead of an answer cut short.
    for (let i = next + 1; i < opens.length; i++) void opens[i]?.then((fd) => fd !== null && closeSync(fd));
  }
}

/** A file a batch asks for: its blob, and its size when the tables know it. */
interface Served {
  file: string;
  size: number | undefined;
}

/** An open made now (`BlobReads.openNow`); null when it failed (the file is answered 404). */
function openNow(reads: BlobReads, file: string): number | null | undefined {
  try {
    return reads.openNow(file);
  } catch {
    return null;
  }
}

function refuse(res: ServerResponse, status: number, why: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
  res.end(`${status}: ${why}`);
}

/**
 * Frames packed into one pooled buffer: when it is full it goes to the socket, and is filled again
 * once the socket took it. One buffer per answer, not two alternating: with four downstreams'
 * batches in flight at once, a second buffer each outgrew the pool, and fresh 1 MiB buffers cost
 * more in page faults than the overlap saved (origin CPU, 4 leaves × 192 MiB: 0.82–0.99 s with
 * two, 0.67–0.95 s with one). `gone` once the client went away.
 */
class PackedWriter {
  private buf = ioBuffers.take();
  private fill = 0;
  gone = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly reads: BlobReads,
  ) {}

  /**
   * Append a frame line; false when the client went away. Synchronous unless the buffer is full and
   * must be sent first: most frames of a batch of small files cost no promise.
   */
  put(line: string): boolean | Promise<boolean> {
    if (this.buf.length - this.fill < line.length) return this.flush().then((ok) => ok && this.put(line));
    this.fill += this.buf.write(line, this.fill, 'latin1');
    return true;
  }

  /**
   * Append `size` bytes of `fd`; returns the bytes copied (fewer when the file is short or the
   * client went away). Synchronous while the reads run on the event loop and the buffer has room.
   */
  copy(fd: number, size: number): number | Promise<number> {
    let done = 0;
    while (done < size && this.fill < this.buf.length) {
      let n;
      try {
        n = this.reads.readNow(fd, this.buf, this.fill, Math.min(this.buf.length - this.fill, size - done), done);
      } catch {
        return done;
      }
      if (n === undefined) break;
      if (n === 0) return done;
      this.fill += n;
      done += n;
    }
    return done < size ? this.copyRest(fd, size, done) : done;
  }

  /** `copy` from `done` on, sending the buffer when it is full and reading on the pool when the gate says so. */
  private async copyRest(fd: number, size: number, done: number): Promise<number> {
    while (done < size) {
      if (this.fill === this.buf.length && !(await this.flush())) return done;
      const n = await this.reads.read(fd, this.buf, this.fill, Math.min(this.buf.length - this.fill, size - done), done).catch(() => 0);
      if (n === 0) return done;
      this.fill += n;
      done += n;
    }
    return done;
  }

  /** Send what is packed; true once the socket took it (the buffer can be filled again). */
  private async flush(last = false): Promise<boolean> {
    if (!(await handedOver(this.res, this.buf.subarray(0, this.fill), last))) this.gone = true;
    this.fill = 0;
    return !this.gone;
  }

  /** Send the rest and end the answer. */
  async end(): Promise<void> {
    await this.flush(true);
  }

  /** Give the buffer back, unless a write that failed may still refer to it. */
  release(): void {
    if (!this.gone && this.buf.length > 0) ioBuffers.give(this.buf);
    this.buf = Buffer.alloc(0);
  }
}
