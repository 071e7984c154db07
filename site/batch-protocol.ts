/**
 * Batch fetch: an extension between embedded sites for syncs of many small files. A sync from a
 * real Pulp costs the upstream one HTTP request per file (≈ 0.6 ms of its CPU each, more than the
 * bytes of a small file cost); between two embedded sites, a downstream may instead ask for many
 * files in one request and get them back to back in one answer.
 *
 * Negotiated: the content app answers a GET of a publication's manifest with `Pulpdist-Batch: 1`.
 * Only a downstream that saw it sends `POST <the manifest's URL>` with the same header and the
 * relative paths it wants, one per line (as the manifest names them, resolved against the
 * manifest's directory exactly as a GET of the file's URL would be). A real Pulp never sends the
 * header, so a sync from it makes the plain per-file GETs pulp_file makes; a downstream that does
 * not speak the extension never POSTs, and gets the same files by GET.
 *
 * The answer (200, `Pulpdist-Batch: 1`, `Content-Type: application/vnd.pulpdist.batch`) is one
 * frame per requested path, in the request's order: the line `<status> <size>\n` (status 200 or
 * 404), then `size` bytes of the file. Nothing is trusted: the downstream verifies each file's
 * sha256 and size against its manifest before keeping it, and fetches whatever did not arrive
 * whole and verified with a plain GET, which retries and fails as a GET does.
 */

/** Request and answer header (lower case, as Node gives headers). */
export const BATCH_HEADER = 'pulpdist-batch';
export const BATCH_VERSION = '1';
export const BATCH_CONTENT_TYPE = 'application/vnd.pulpdist.batch';

/** Most paths in one request, and most bytes of its body: a bound on what one request costs. */
export const BATCH_MAX_PATHS = 4096;
export const BATCH_MAX_BODY = 1024 * 1024;

/** The longest frame line: "404 " plus a size of at most 16 digits, and the newline. */
const MAX_FRAME_LINE = 24;

/** True when an answer's header says that the upstream offers batch fetches. */
export function offersBatch(value: string | string[] | undefined): boolean {
  return typeof value === 'string' && value.trim() === BATCH_VERSION;
}

/** The body of a request for these relative paths. */
export function batchRequestBody(paths: readonly string[]): Buffer {
  return Buffer.from(paths.join('\n'), 'utf8');
}

/** The relative paths a request asks for, or why it cannot be served. Pure. */
export function parseBatchRequest(body: Buffer): string[] | { refused: string } {
  if (body.length === 0) return { refused: 'no paths asked for' };
  if (body.length > BATCH_MAX_BODY) return { refused: `a request body longer than ${BATCH_MAX_BODY} bytes` };
  const text = body.toString('utf8');
  if (text.includes('\ufffd') || text.includes('\r') || text.includes('\0')) return { refused: 'paths must be UTF-8 lines without CR or NUL' };
  const paths = text.split('\n');
  if (paths.length > BATCH_MAX_PATHS) return { refused: `more than ${BATCH_MAX_PATHS} paths` };
  if (paths.some((p) => p === '')) return { refused: 'an empty path' };
  return paths;
}

/** The line that starts a frame. */
export function frameLine(status: 200 | 404, size: number): string {
  return `${status} ${size}\n`;
}

/** What a reader of an answer is told, frame by frame. */
export interface FrameHandlers {
  /** A frame starts; a promise pauses reading until it settles. */
  start(status: number, size: number): void | Promise<void>;
  /** The next bytes of the current frame's file: a view, valid only until the call returns. */
  data(piece: Buffer): void;
  /** The current frame's file is complete; a promise pauses reading until it settles. */
  end(): void | Promise<void>;
}

/**
 * Reads an answer's frames from the pieces of its body, in any split. `push` consumes a piece
 * synchronously unless a handler returns a promise; it then returns one, settled once the piece is
 * consumed (the download client pauses the connection meanwhile, so a promise per piece would
 * stall every read). Throws on a malformed frame line.
 */
export class FrameReader {
  private line = '';
  /** Bytes of the current frame's file still to come; -1 between frames. */
  private left = -1;
  frames = 0;

  constructor(private readonly on: FrameHandlers) {}

  /** Between frames, with nothing of the next one read. */
  get done(): boolean {
    return this.left < 0 && this.line === '';
  }

  /** Inside a frame's file bytes (the frame started and has not ended). */
  get inFrame(): boolean {
    return this.left >= 0;
  }

  push(piece: Buffer, from = 0): void | Promise<void> {
    let at = from;
    while (at < piece.length || this.left === 0) {
      let paused: void | Promise<void> = undefined;
      if (this.left === 0) {
        this.left = -1;
        paused = this.on.end();
      } else if (this.left < 0) {
        const nl = piece.indexOf(10, at);
        const stop = nl < 0 ? piece.length : nl;
        this.line += piece.toString('latin1', at, stop);
        if (this.line.length > MAX_FRAME_LINE) throw new Error('a batch frame line too long');
        at = stop;
        if (nl < 0) break;
        at++;
        const m = /^(200|404) (\d{1,16})$/.exec(this.line);
        if (!m) throw new Error(`a malformed batch frame line ${JSON.stringify(this.line.slice(0, MAX_FRAME_LINE))}`);
        this.line = '';
        this.left = Number(m[2]);
        this.frames++;
        paused = this.on.start(Number(m[1]), this.left);
      } else {
        const n = Math.min(this.left, piece.length - at);
        this.on.data(piece.subarray(at, at + n));
        at += n;
        this.left -= n;
      }
      if (paused) {
        const resumeAt = at;
        return paused.then(() => this.push(piece, resumeAt));
      }
    }
  }
}
