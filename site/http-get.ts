/**
 * The HTTP/1.1 client of syncs (GETs, and the POST of a batch fetch), on net/tls sockets that
 * each read into one buffer of their own, reused for every read (`onread`).
 *
 * Why not node:http (or undici): both hand every socket read to JavaScript as a new Buffer, whose
 * memory lies outside V8's heap. V8 counts such external bytes against an old-generation limit it
 * derives from the live heap, and the site's live heap is ~8 MiB: during a 1.1 GiB sync it ran a
 * full mark-compact every ~10 MiB (113 of them), ~2.5 s of CPU on the GC threads and the event loop,
 * a third of the sync's CPU (`npm run bench:sync`, docs/site.md). Here a body reaches the consumer
 * as a view of the connection's buffer, valid until the consumer returns (or the promise it returns
 * settles); no Buffer is allocated per read, but for the spares of `nextBuffer`.
 *
 * Only what syncs need: GET (and the POST of a batch fetch); keep-alive connections per origin;
 * Content-Length, chunked and read-until-close bodies; 1xx answers skipped; an idle timeout; abort
 * signals; TLS options; a forward proxy (`http-connect.ts`). Answers are read strictly (`http-head.ts`): what RFC 9112 says
 * a client must refuse is refused, and its connection closed.
 */
import type net from 'node:net';
import { routeTo, type GetProxy, type GetTls, type OnRead, type Route } from './http-connect.js';
import { HttpGetError } from './http-errors.js';
import { chunkSize, parseFields, parseHead } from './http-head.js';

export { HttpGetError, type GetProxy, type GetTls };

export interface GetOptions {
  /** Checked and put into request lines once per object (`GetClient.get`): not to be changed after a request sent it. */
  headers: Record<string, string>;
  /** A body makes the request a POST (a batch fetch, batch-protocol.ts); GET otherwise. */
  body?: Buffer;
  /** Idle time on the socket before the exchange fails. */
  timeoutMs: number;
  signal: AbortSignal;
}

export interface GetResponse {
  status: number;
  statusMessage: string;
  /** Lowercased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /**
   * Read the body: `onData` gets each piece as a view of the connection's buffer, valid only until
   * it returns (copy what must outlive that); a promise it returns pauses reading until it settles.
   * Resolves at the end of the body. Rejects on a connection error, a timeout, an abort, a throw or
   * rejection of `onData` (the connection is then closed). Call it once, or `discard`.
   */
  read(onData: (chunk: Buffer) => void | Promise<void>): Promise<void>;
  /** Drop the rest of the body, closing the connection (nothing once the body has ended). */
  discard(): void;
}

/** A reused connection the server had already closed: GET (and a batch POST, which only reads) is retried once. */
class StaleConnection extends Error {}

const MAX_HEAD = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
/** Bytes per socket read: larger reads mean fewer callbacks (loopback reads fill 128 KiB often). */
const BUFFER_SIZE = 128 * 1024;
/** Bytes of a spare buffer (TLS hands over at most a 16 KiB record per read). */
const SPARE_SIZE = 16 * 1024;
const EMPTY = Buffer.alloc(0);

type Framing =
  | { kind: 'length'; left: number }
  | { kind: 'chunked'; part: 'size' | 'data' | 'data-end' | 'trailer'; left: number; line: string }
  | { kind: 'close' };

/** One GET in progress on a connection. */
interface Exchange {
  /** Bytes of the answer received (a reused connection that closes before any was stale). */
  received: number;
  head: string;
  framing: Framing | null;
  onHead: (res: GetResponse) => void;
  onData: ((chunk: Buffer) => void | Promise<void>) | null;
  /** Whom the outcome goes to: the head's promise, then `read`'s (null in between). */
  waiter: { resolve: () => void; reject: (err: unknown) => void } | null;
  /** Null while in progress. */
  result: 'ok' | Error | null;
}

class Conn {
  readonly socket: net.Socket;
  /** The buffer reads go into while the consumer holds none of it. */
  private readonly own = Buffer.allocUnsafe(BUFFER_SIZE);
  /** The read being processed: `own`, or a spare that took a read while `own` was held. */
  private buf: Buffer = this.own;
  /** Reads that arrived while the consumer held bytes, in order (see `nextBuffer`). */
  private pending: Buffer[] = [];
  /** Unprocessed bytes of the last read: buf[start, end). */
  private start = 0;
  private end = 0;
  private ex: Exchange | null = null;
  /** The consumer holds buf (a head not yet read, or a promise from onData): reading is paused. */
  private held = false;
  private reusable = true;
  private used = 0;
  /**
   * The abort signal this connection listens to, and its listener. One listener for as long as the
   * requests bring the same signal (a sync's requests all do), not one added and removed per
   * request: EventTarget calls cost ~15 µs a file. An abort closes the connection, idle or not.
   */
  private signal: AbortSignal | null = null;
  private readonly onAbort = () => this.close(this.signal?.reason as Error);
  /** The peer ended its side (a read-until-close body ends here). */
  private eof = false;
  closed = false;

  constructor(
    readonly key: string,
    private readonly route: Route,
    private readonly release: (c: Conn) => void,
  ) {
    const onread: OnRead = { buffer: () => this.nextBuffer(), callback: (n: number, b: Buffer) => this.onRead(n, b) };
    const opened = route.open(onread);
    this.socket = opened.socket;
    if (!opened.onread) {
      // Reads as 'data' events (fresh buffers): the same processing, pausing the same way.
      this.socket.on('data', (d: Buffer) => {
        if (!this.onRead(d.length, d)) this.socket.pause();
      });
    }
    this.socket.setNoDelay(true);
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.close(new HttpGetError(err.message, err.code ?? 'error')));
    this.socket.on('end', () => this.onEof());
    this.socket.on('close', () => this.onEof());
    this.socket.on('timeout', () => this.close(new HttpGetError('Timeout on reading data from socket', 'timeout')));
  }

  /** Send one GET; resolves with the head of the answer. */
  request(url: URL, opts: GetOptions): Promise<GetResponse> {
    this.used++;
    return new Promise<GetResponse>((resolve, reject) => {
      if (opts.signal.aborted) {
        this.close(null);
        return reject(opts.signal.reason);
      }
      this.listen(opts.signal);
      this.ex = {
        received: 0,
        head: '',
        framing: null,
        onHead: resolve,
        onData: null,
        waiter: { resolve: () => undefined, reject },
        result: null,
      };
      const target = this.route.absoluteForm ? `${url.origin}${url.pathname}${url.search}` : `${url.pathname}${url.search}`;
      const length = opts.body ? `Content-Length: ${opts.body.length}\r\n` : '';
      this.socket.setTimeout(opts.timeoutMs);
      this.socket.write(`${opts.body ? 'POST' : 'GET'} ${target} HTTP/1.1\r\nHost: ${url.host}\r\n${fieldLines(opts.headers)}${fieldLines(this.route.headers)}${length}\r\n`);
      if (opts.body) this.socket.write(opts.body);
      this.resume();
    });
  }

  /**
   * The buffer for the next read (asked after every read). While the consumer holds bytes of
   * `own`, a spare: TLS goes on delivering the records it has decrypted after a pause, and must not
   * overwrite them. Plain TCP stops at once, so spares are rare there.
   */
  private nextBuffer(): Buffer {
    return this.held ? Buffer.allocUnsafe(SPARE_SIZE) : this.own;
  }

  private onRead(n: number, b: Buffer): boolean {
    const ex = this.ex;
    if (!ex) {
      this.close(new HttpGetError('unexpected bytes on an idle connection', 'protocol'));
      return false;
    }
    ex.received += n;
    if (this.held) {
      this.pending.push(b.subarray(0, n));
      return false;
    }
    this.buf = b;
    this.start = 0;
    this.end = n;
    return this.pump();
  }

  /** The consumer gave back what it held: process the rest of the read, then the reads that waited. */
  private unhold(): void {
    this.held = false;
    if (!this.pump()) return;
    while (this.pending.length > 0) {
      this.buf = this.pending.shift()!;
      this.start = 0;
      this.end = this.buf.length;
      if (!this.pump()) return;
    }
    if (this.eof) this.onEof();
    else this.resume();
  }

  private resume(): void {
    if (!this.closed && !this.held) this.socket.resume();
  }

  /** Process buf[start, end); false when reading must pause (the consumer holds the bytes). */
  private pump(): boolean {
    const ex = this.ex;
    while (ex && ex.result === null && !this.closed) {
      if (ex.framing === null) {
        if (this.start >= this.end || !this.parseHead(ex)) return true;
        if (ex.framing === null) continue; // a 1xx answer: the real head follows
        this.held = true; // until `read` or `discard`
        return false;
      }
      const piece = this.body(ex.framing);
      if (piece === 'more') return true;
      if (piece === 'end') {
        this.finish(ex);
        return !this.closed;
      }
      if (piece.length === 0) continue;
      let r: void | Promise<void>;
      try {
        r = ex.onData!(piece);
      } catch (err) {
        this.close(err as Error);
        return false;
      }
      if (r instanceof Promise) {
        this.held = true;
        r.then(
          () => this.unhold(),
          (err: Error) => this.close(err),
        );
        return false;
      }
    }
    return true;
  }

  /** Accumulate the head; true once it is complete (with `ex.framing` set, unless it was a 1xx). */
  private parseHead(ex: Exchange): boolean {
    const before = ex.head.length;
    // Only the head is text. When it ends inside this read (the usual case: head and the start of
    // the body arrive together), only its bytes are converted, not up to 128 KiB of body as well.
    const inRead = before === 0 ? this.buf.subarray(this.start, this.end).indexOf(HEAD_END) : -1;
    // A head that straddles reads takes at most what MAX_HEAD allows: beyond that it is refused.
    const upTo = inRead >= 0 ? this.start + inRead + 4 : Math.min(this.end, this.start + MAX_HEAD + 4 - before);
    ex.head += this.buf.toString('latin1', this.start, upTo);
    const at = ex.head.indexOf('\r\n\r\n');
    if (at < 0) {
      this.start = this.end;
      // A bare LF would never end the head: refuse it now rather than wait for the idle timeout.
      if (/(^|[^\r])\n/.test(ex.head)) this.close(new HttpGetError('a bare LF in the response head', 'protocol'));
      else if (ex.head.length > MAX_HEAD) this.close(new HttpGetError(`a response head longer than ${MAX_HEAD} bytes`, 'protocol'));
      return false;
    }
    this.start += at + 4 - before;
    const head = parseHead(ex.head.slice(0, at));
    ex.head = '';
    if (typeof head === 'string') {
      this.close(new HttpGetError(head, 'protocol'));
      return false;
    }
    if (head.framing === null) return true;
    if (!head.reusable) this.reusable = false;
    const f = head.framing;
    ex.framing = f.kind === 'length' ? { kind: 'length', left: f.length } : f.kind === 'chunked' ? { kind: 'chunked', part: 'size', left: 0, line: '' } : { kind: 'close' };
    const { status, statusMessage, headers } = head;
    ex.waiter = null;
    ex.onHead({
      status,
      statusMessage,
      headers,
      read: (onData) =>
        new Promise<void>((resolve, reject) => {
          if (ex.result === 'ok') return resolve();
          if (ex.result) return reject(ex.result);
          ex.onData = onData;
          ex.waiter = { resolve, reject };
          this.unhold();
        }),
      // Once the body has ended the connection may carry another GET: leave it alone then.
      discard: () => {
        if (this.ex === ex) this.close(null);
      },
    });
    return true;
  }

  /** The next piece of body in buf; 'more' when this read is used up, 'end' at the body's end. */
  private body(f: Framing): Buffer | 'more' | 'end' {
    if (f.kind === 'length' && f.left === 0) return 'end';
    if (this.start >= this.end) return f.kind === 'close' && this.eof && this.pending.length === 0 ? 'end' : 'more';
    if (f.kind === 'close') {
      const piece = this.buf.subarray(this.start, this.end);
      this.start = this.end;
      return piece;
    }
    if (f.kind === 'length' || f.part === 'data') {
      const n = Math.min(f.left, this.end - this.start);
      const piece = this.buf.subarray(this.start, this.start + n);
      this.start += n;
      f.left -= n;
      if (f.kind === 'chunked' && f.left === 0) f.part = 'data-end';
      return piece;
    }
    // Chunked framing's lines: a chunk's size, the CRLF after its data, trailers up to an empty line.
    const nl = this.buf.indexOf(10, this.start);
    const stop = nl < 0 || nl >= this.end ? this.end : nl;
    f.line += this.buf.toString('latin1', this.start, stop);
    this.start = stop < this.end ? stop + 1 : this.end;
    if (f.line.length > 4096) return this.malformed('a chunk line longer than 4096 bytes');
    if (stop === this.end) return 'more';
    // Every line of chunked framing ends with CRLF: a bare LF is refused, as llhttp does.
    if (!f.line.endsWith('\r')) return this.malformed('a bare LF in chunked framing');
    const line = f.line.slice(0, -1);
    f.line = '';
    if (f.part === 'data-end') {
      if (line !== '') return this.malformed('no CRLF after a chunk');
      f.part = 'size';
    } else if (f.part === 'size') {
      const size = chunkSize(line);
      if (typeof size === 'string') return this.malformed(size);
      f.left = size;
      f.part = f.left === 0 ? 'trailer' : 'data';
    } else if (line === '') {
      return 'end';
    } else {
      // Trailers are read by the same rules as the head, and otherwise ignored; framing fields
      // have no place there (RFC 9110 §6.5.1), and llhttp refuses a Content-Length.
      const t = parseFields([line]);
      if (typeof t === 'string') return this.malformed(`in the trailer: ${t}`);
      if ('content-length' in t.headers || 'transfer-encoding' in t.headers) return this.malformed('a framing field in the trailer');
    }
    return EMPTY;
  }

  private malformed(why: string): 'more' {
    this.close(new HttpGetError(why, 'protocol'));
    return 'more';
  }

  private finish(ex: Exchange): void {
    // Bytes past the body (nothing asked for them), or a body that ended with the connection.
    if (this.start < this.end || this.pending.length > 0 || ex.framing?.kind === 'close') this.reusable = false;
    ex.result = 'ok';
    this.ex = null;
    ex.waiter?.resolve();
    if (this.reusable && !this.closed) {
      this.socket.setTimeout(0);
      this.release(this);
    } else this.close(null);
  }

  /**
   * The peer ended or the socket closed. Bytes the consumer holds and reads that waited come first
   * (TLS can deliver the end right after the last records, while they are still held): `unhold`
   * calls back here once they are processed. A read-until-close body ends here.
   */
  private onEof(): void {
    this.eof = true;
    if (this.held) return;
    const ex = this.ex;
    if (ex?.result === null && ex.framing?.kind === 'close') this.pump();
    this.close(new HttpGetError('the connection closed before the end of the response', 'closed'));
  }

  /** Close the connection; a GET in progress fails with `err` (StaleConnection when it is one). */
  close(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.listen(null);
    this.socket.destroy();
    this.pending = [];
    const ex = this.ex;
    this.ex = null;
    if (!ex || ex.result !== null) return;
    const stale = this.used > 1 && ex.received === 0 && err instanceof HttpGetError && /^(closed|ECONNRESET|EPIPE)$/.test(err.code);
    ex.result = stale ? new StaleConnection(err.message) : (err ?? new HttpGetError('the connection was closed', 'closed'));
    ex.waiter?.reject(ex.result);
  }

  /** Listen to `signal` (null: to none) instead of the signal before. */
  private listen(signal: AbortSignal | null): void {
    if (signal === this.signal) return;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.signal = signal;
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }
}

/**
 * `name: value` lines of a header set, each ended by CRLF; checked and made once per set (a sync
 * sends the same set with every file). The sets a request sends are never changed once made
 * (download.ts freezes its own; a route's are fixed). Throws for a header that would smuggle lines.
 */
const fieldBlocks = new WeakMap<Record<string, string>, string>();

function fieldLines(headers: Record<string, string>): string {
  let block = fieldBlocks.get(headers);
  if (block === undefined) {
    block = '';
    for (const [k, v] of Object.entries(headers)) {
      // A CR or LF in a remote's header would smuggle lines into the request.
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || /[\0\r\n]/.test(v)) throw new HttpGetError(`an invalid request header '${k.slice(0, 40)}'`, 'protocol');
      block += `${k}: ${v}\r\n`;
    }
    fieldBlocks.set(headers, block);
  }
  return block;
}

/** Keep-alive connections per origin for one sync. */
export class GetClient {
  private readonly idle = new Map<string, Conn[]>();
  private readonly all = new Set<Conn>();

  constructor(private readonly opts: { maxIdle: number; tls?: GetTls; proxy?: GetProxy }) {}

  /** GET `url`; resolves with the head of the answer (see `GetResponse` for the body). */
  async get(url: URL, opts: GetOptions): Promise<GetResponse> {
    // Checked here, before any connection is made for it.
    fieldLines(opts.headers);
    const key = `${url.protocol}//${url.host}`;
    const pooled = this.take(key);
    if (pooled) {
      try {
        return await pooled.request(url, opts);
      } catch (err) {
        if (!(err instanceof StaleConnection)) throw err;
      }
    }
    return (await this.connect(key, url, opts)).request(url, opts);
  }

  private take(key: string): Conn | undefined {
    const list = this.idle.get(key);
    while (list?.length) {
      const c = list.pop()!;
      if (!c.closed) return c;
    }
    return undefined;
  }

  private async connect(key: string, url: URL, opts: GetOptions): Promise<Conn> {
    const route = await routeTo(url, this.opts, opts);
    const c = new Conn(key, route, (done) => {
      const list = this.idle.get(done.key) ?? [];
      if (list.length >= this.opts.maxIdle) return done.close(null);
      list.push(done);
      this.idle.set(done.key, list);
    });
    this.all.add(c);
    c.socket.once('close', () => this.all.delete(c));
    return c;
  }

  /** Close every connection. */
  destroy(): void {
    for (const c of this.all) c.close(null);
    this.idle.clear();
  }
}
