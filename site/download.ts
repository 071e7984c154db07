/**
 * The downloader of syncs: fetches a remote's PULP_MANIFEST and its files over http(s) (with
 * `http-get.ts`, whose bodies are views of reused buffers), or from file:// under an allowed import path, verifying size and sha256 while streaming into a temp file
 * of the blob store, under an optional shared token bucket. Retries follow pulpcore's downloader:
 * 4xx other than 429 fail at once; 429, 5xx, connection errors and digest or size mismatches are
 * retried up to `max_retries` (default 3) with exponential backoff.
 * Error texts are pulpcore's, because clients and people compare them with real Pulp's.
 */
import { createHash } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readChunks } from '../core/buffer-pool.js';
import { decideRedirect, httpGetOptions, OutboundPolicyError, remotePolicy, withoutCredentials, type OutboundPolicy } from '../core/outbound.js';
import { withRetries } from '../core/retry.js';
import { BATCH_HEADER, BATCH_VERSION, offersBatch } from './batch-protocol.js';
import { TaskFailure } from './tasks.js';
import type { BlobStore, TempBlob } from './blobs.js';
import { GetClient, HttpGetError, type GetResponse } from './http-get.js';
import type { RemoteRecord } from './records.js';
import type { TokenBucket } from './token-bucket.js';

/** What one sync's downloads share. */
export interface DownloadDeps {
  blobs: BlobStore;
  remote: RemoteRecord;
  allowedImportPaths: string[];
  bucket: TokenBucket | null;
  client: GetClient;
  signal: AbortSignal;
  /** Called with every chunk's size as it is received. */
  onBytes: (n: number) => void;
}

/** A body from http(s) or a file: `read` hands each piece to `onData` (see `GetResponse.read`); headers for http(s). */
export type Body = Pick<GetResponse, 'read' | 'discard'> & Partial<Pick<GetResponse, 'headers'>>;

class DownloadError extends TaskFailure {
  constructor(
    message: string,
    readonly retry: boolean,
    /** The HTTP status of the answer that failed it, when there was one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The HTTP status of the answer a download failed on; undefined when none came (no connection, a timeout). */
export function failedStatus(err: unknown): number | undefined {
  return err instanceof DownloadError ? err.status : undefined;
}

/**
 * The connections of one sync: kept alive, as many idle as its concurrency, under the remote's
 * outbound policy (core/outbound.ts: TLS settings, timeout, its forward proxy — an http:// proxy
 * as aiohttp supports, with `proxy_username`/`proxy_password` sent to the proxy alone).
 */
export function makeClient(remote: RemoteRecord, concurrency: number): GetClient {
  return new GetClient({ maxIdle: concurrency, ...httpGetOptions(policyOf(remote)) });
}

function policyOf(remote: RemoteRecord): OutboundPolicy {
  try {
    return remotePolicy(remote);
  } catch (err) {
    if (err instanceof OutboundPolicyError) throw new DownloadError(err.message, false);
    throw err;
  }
}

/**
 * The URLs of a manifest's entries: the manifest URL with its last segment replaced (query kept),
 * each segment quoted as yarl quotes it for aiohttp (sub-delimiters, ':' and '@' stay as they are).
 * The manifest URL is parsed once, not once per file: for http(s), a quoted path that has no dot
 * segment is what the URL parser would keep as it is, so the URL is put together as a string
 * (test/site/file-urls.test.ts holds it to the parser's answer).
 */
export function fileUrls(manifestUrl: string): (relativePath: string) => string {
  const u = new URL(manifestUrl);
  const dir = u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1);
  const parsed = (quoted: string) => {
    const f = new URL(u);
    f.pathname = dir + quoted;
    return f.href;
  };
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return (relativePath) => parsed(quotePath(relativePath));
  const base = new URL(u);
  base.pathname = dir;
  const head = base.href.slice(0, base.href.length - base.search.length - base.hash.length);
  const tail = u.search + u.hash;
  return (relativePath) => {
    const quoted = quotePath(relativePath);
    return DOT_SEGMENT.test(quoted) ? parsed(quoted) : head + quoted + tail;
  };
}

/** A path whose characters all stay as they are when quoted. */
const KEPT = /^[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/;
/** A `.` or `..` segment, which the URL parser resolves. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

function quotePath(relativePath: string): string {
  if (KEPT.test(relativePath)) return relativePath;
  return relativePath
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/gi, (m) => decodeURIComponent(m)))
    .join('/');
}

/**
 * `fn` for every piece of a body, once the bandwidth cap has granted its bytes. Uncapped, `fn` runs
 * as the piece arrives; capped, it runs after the wait, while the connection is paused (so the
 * piece stays valid).
 */
export function throttled(deps: DownloadDeps, fn: (chunk: Buffer) => void | Promise<void>): (chunk: Buffer) => void | Promise<void> {
  const bucket = deps.bucket;
  if (!bucket) return fn;
  return async (chunk) => {
    await bucket.take(chunk.length, deps.signal);
    await fn(chunk);
  };
}

/**
 * A body from http(s) or file://. For file://, only the manifest's real path is held to the allowed
 * import paths (as Pulp checks the remote's url); a file it lists is opened as pulpcore's
 * FileDownloader opens it, following symlinks wherever they lead. A read-only tree's view
 * (sources/view.ts) relies on that: its files are reached through links out of the allowed path.
 * The manifest parser refuses `..` segments, so a listed file's path stays under the manifest's
 * directory.
 */
async function open(url: string, deps: DownloadDeps, what: 'manifest' | 'file'): Promise<Body> {
  const u = new URL(url);
  if (u.protocol !== 'file:') return openHttp(u, deps);
  let real: string;
  try {
    // A file: stat (which follows links) only to answer a missing one with pulpcore's 404.
    real = what === 'manifest' ? await realpath(fileURLToPath(u)) : (await stat(fileURLToPath(u)), fileURLToPath(u));
  } catch {
    throw new DownloadError(`404, message='File not found', url=URL('${url}')`, false);
  }
  if (what === 'manifest' && !deps.allowedImportPaths.some((a) => real.startsWith(a))) {
    throw new DownloadError(`The path '${real}' does not start with any of the allowed import paths`, false);
  }
  let discarded = false;
  return {
    read: async (onData) => {
      await readChunks(real, onData, { signal: deps.signal, stopped: () => discarded });
    },
    discard: () => {
      discarded = true;
    },
  };
}

/** What every request to a remote sends and obeys. */
interface RemoteRequest {
  headers: Readonly<Record<string, string>>;
  timeoutMs: number;
  maxRedirects: number;
}

/**
 * Worked out once per remote record, not once per file: a record is replaced, never changed, when
 * the remote is updated (api-remotes.ts), so a sync keeps what it started with.
 */
const requests = new WeakMap<RemoteRecord, RemoteRequest>();

function requestOf(r: RemoteRecord): RemoteRequest {
  let q = requests.get(r);
  if (!q) {
    const { timeoutMs, maxRedirects } = policyOf(r);
    // Frozen: the GET client checks a header set once (http-get.ts), so it must not change after.
    q = { headers: Object.freeze(withHeaders(r, {})), timeoutMs, maxRedirects };
    requests.set(r, q);
  }
  return q;
}

/** The remote's headers, then `extra`, then its credentials. */
function withHeaders(r: RemoteRecord, extra: Record<string, string>): Record<string, string> {
  const given: Record<string, string> = { 'User-Agent': 'pulpdist-site' };
  for (const h of r.headers ?? []) Object.assign(given, h);
  Object.assign(given, extra);
  if (r.username !== null && r.password !== null) given.Authorization = `Basic ${Buffer.from(`${r.username}:${r.password}`).toString('base64')}`;
  return given;
}

/**
 * A GET with the remote's headers and credentials; redirects followed under the outbound policy
 * (core/outbound.ts): credentials — the remote's username/password and any credential header —
 * only while on the origin they were given for, https → http refused, at most 10 hops. A non-2xx
 * answer is a DownloadError.
 */
async function openHttp(url: URL, deps: DownloadDeps, extra?: Record<string, string>, post?: Buffer): Promise<GetResponse> {
  let u = url;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DownloadError(`URL lacks a supported scheme: '${url.href}'`, false);
  const { headers: base, timeoutMs, maxRedirects } = requestOf(deps.remote);
  const given = extra ? withHeaders(deps.remote, extra) : base;
  let credentials = true;
  for (let hops = 1; ; hops++) {
    const headers = credentials ? given : withoutCredentials(given);
    let res: GetResponse;
    try {
      res = await deps.client.get(u, { headers, timeoutMs, signal: deps.signal, body: post });
    } catch (err) {
      if (deps.signal.aborted) throw deps.signal.reason;
      // A proxy that refuses the tunnel (407, 403) answers the same on a retry.
      const retry = !(err instanceof HttpGetError && err.code === 'proxy-refused');
      throw new DownloadError(`Cannot connect to ${u.href}: ${(err as Error).message}`, retry);
    }
    const status = res.status;
    if (status >= 200 && status < 300) return res;
    res.discard();
    const location = res.headers.location;
    // A POST (a batch fetch) is never redirected: its caller falls back to GETs, which may be.
    if (![301, 302, 303, 307, 308].includes(status) || !location || post) {
      throw new DownloadError(`${status}, message='${res.statusMessage}', url=URL('${u.href}')`, status === 429 || status >= 500, status);
    }
    // aiohttp follows redirects too; what it may not do with credentials is the policy's.
    const verdict = decideRedirect(u, location, { hops, credentials, maxRedirects });
    if ('refused' in verdict) throw new DownloadError(`${status}, message='${verdict.refused}', url=URL('${u.href}')`, false);
    u = verdict.next;
    credentials = verdict.credentials;
  }
}

/**
 * One GET of `url` with a `Range` header (http and https only), redirects followed as for files.
 * The answer may be 206 or a 200 that ignored the range: the caller checks `status` and
 * `Content-Range`. Errors are the downloader's (`DownloadError`); no retries.
 */
export async function openRange(url: string, range: string, deps: DownloadDeps): Promise<GetResponse> {
  if (!/^https?:/i.test(url)) throw new DownloadError(`A range request needs an http(s) URL: '${url}'`, false);
  return openHttp(new URL(url), deps, { Range: range });
}

/**
 * The POST of a batch fetch (batch-protocol.ts) to a manifest's URL, with the remote's headers and
 * credentials; not redirected, no retries. Errors are the downloader's (`DownloadError`).
 */
export async function openBatch(manifestUrl: string, body: Buffer, deps: DownloadDeps): Promise<GetResponse> {
  return openHttp(new URL(manifestUrl), deps, { [BATCH_HEADER]: BATCH_VERSION, 'Content-Type': 'text/plain; charset=utf-8' }, body);
}

/** pulpcore's downloader: retries of what may help, 100 ms doubling, jittered by ×0.5–1.5. */
function retrying<T>(deps: DownloadDeps, fn: () => Promise<T>): Promise<T> {
  return withRetries(fn, {
    retries: deps.remote.max_retries ?? 3,
    retryable: (err) => err instanceof DownloadError && err.retry,
    delayMs: (attempt) => 100 * 2 ** (attempt - 1) * (0.5 + Math.random()),
    signal: deps.signal,
  });
}

/**
 * Fetch a (small) manifest into memory; at most `limit` bytes. `batch`: the upstream offers batch
 * fetches of its files (only an embedded site does).
 */
export async function fetchManifest(url: string, deps: DownloadDeps, limit = 1024 ** 3): Promise<{ bytes: Buffer; batch: boolean }> {
  return retrying(deps, async () => {
    const body = await open(url, deps, 'manifest');
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      await body.read(
        throttled(deps, (chunk) => {
          size += chunk.length;
          if (size > limit) throw new DownloadError(`The manifest at ${url} is larger than ${limit} bytes`, false);
          deps.onBytes(chunk.length);
          chunks.push(Buffer.from(chunk)); // a copy: the piece is a view of a reused buffer
        }),
      );
    } catch (err) {
      body.discard();
      throw asDownloadError(err, url, deps);
    }
    return { bytes: Buffer.concat(chunks), batch: offersBatch(body.headers?.[BATCH_HEADER]) };
  });
}

/**
 * Download one file into a temp blob, verified while streaming. Nothing is kept unless size and
 * sha256 match; the temp file is removed on any failure. The verified temp file comes back closed
 * but not yet durable nor named by its digest: the caller passes it to `BlobStore.persistAll`.
 */
export async function downloadArtifact(url: string, expected: { sha256: string; size: number }, deps: DownloadDeps): Promise<{ path: string; sha256: string }> {
  return retrying(deps, async () => {
    // The request goes out first and the temp file is made while it is in flight (on the event
    // loop while creates are fast: BlobStore.createTemp).
    const bodyP = open(url, deps, 'file');
    const tmpP = deps.blobs.createTemp(expected.sha256);
    // Its failure is handled below, once the request has answered: not an unhandled rejection meanwhile.
    tmpP.catch(() => undefined);
    let body: Body;
    try {
      body = await bodyP;
    } catch (err) {
      await tmpP.then((tmp) => deps.blobs.discardTemp(tmp), () => undefined);
      throw err;
    }
    let tmp: TempBlob;
    try {
      tmp = await tmpP;
    } catch (err) {
      body.discard();
      throw err;
    }
    const hash = createHash('sha256');
    let size = 0;
    try {
      await body.read(
        throttled(deps, (chunk) => {
          size += chunk.length;
          if (size > expected.size) {
            throw new DownloadError(`A file located at the url ${url} failed validation due to size. Expected '${expected.size}', Actual 'more than ${expected.size}'`, true);
          }
          deps.onBytes(chunk.length);
          hash.update(chunk);
          deps.blobs.write(tmp, chunk);
        }),
      );
      const actual = deps.blobs.finishHash(hash, size, expected.sha256);
      if (actual !== expected.sha256) {
        throw new DownloadError(`A file located at the url ${url} failed validation due to checksum. Expected '${expected.sha256}', Actual '${actual}'`, true);
      }
      if (size !== expected.size) {
        throw new DownloadError(`A file located at the url ${url} failed validation due to size. Expected '${expected.size}', Actual '${size}'`, true);
      }
    } catch (err) {
      body.discard();
      deps.blobs.discardTemp(tmp);
      throw asDownloadError(err, url, deps);
    }
    deps.blobs.closeTemp(tmp);
    return { path: tmp.path, sha256: expected.sha256 };
  });
}

function asDownloadError(err: unknown, url: string, deps: DownloadDeps): unknown {
  if (deps.signal.aborted) return deps.signal.reason;
  if (err instanceof DownloadError) return err;
  // A body cut short by the server ("aborted", ECONNRESET) is retried like aiohttp's payload error.
  return new DownloadError(`Response payload is not completed: ${url} (${(err as Error).message ?? String(err)})`, true);
}
