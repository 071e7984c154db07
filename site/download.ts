/**
 * The downloader of syncs: fetches a remote's PULP_MANIFEST and its files over http(s), or from
 * file:// under an allowed import path, verifying size and sha256 while streaming into a temp file
 * of the blob store, under an optional shared token bucket. Retries follow pulpcore's downloader:
 * 4xx other than 429 fail at once; 429, 5xx, connection errors and digest or size mismatches are
 * retried up to `max_retries` (default 3) with exponential backoff.
 * Error texts are pulpcore's, because clients and people compare them with real Pulp's.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TaskFailure } from './tasks.js';
import type { BlobStore, TempBlob } from './blobs.js';
import type { RemoteRecord } from './records.js';
import type { TokenBucket } from './token-bucket.js';

/** What one sync's downloads share. */
export interface DownloadDeps {
  blobs: BlobStore;
  remote: RemoteRecord;
  allowedImportPaths: string[];
  bucket: TokenBucket | null;
  agent: http.Agent | https.Agent;
  signal: AbortSignal;
  /** Called with every chunk's size as it is received. */
  onBytes: (n: number) => void;
}

class DownloadError extends TaskFailure {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

/** A keep-alive agent for one sync, sized to its concurrency. */
export function makeAgent(url: string, remote: RemoteRecord, concurrency: number): http.Agent | https.Agent {
  const opts = { keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency };
  if (url.startsWith('https:')) {
    return new https.Agent({
      ...opts,
      rejectUnauthorized: remote.tls_validation,
      ...(remote.ca_cert ? { ca: remote.ca_cert } : {}),
      ...(remote.client_cert ? { cert: remote.client_cert } : {}),
      ...(remote.client_key ? { key: remote.client_key } : {}),
    });
  }
  return new http.Agent(opts);
}

/** The URL of a manifest entry: the manifest URL with its last segment replaced (query kept). */
export function fileUrl(manifestUrl: string, relativePath: string): string {
  const u = new URL(manifestUrl);
  const dir = u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1);
  // Quote each segment as yarl does for aiohttp: sub-delimiters, ':' and '@' stay as they are.
  const quoted = relativePath
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/gi, (m) => decodeURIComponent(m)))
    .join('/');
  u.pathname = dir + quoted;
  return u.toString();
}

async function open(url: string, deps: DownloadDeps, redirects = 0, auth = true, extra: Record<string, string> = {}): Promise<Readable> {
  const u = new URL(url);
  if (u.protocol === 'file:') {
    const p = fileURLToPath(u);
    let real: string;
    try {
      real = await realpath(p);
    } catch {
      throw new DownloadError(`404, message='File not found', url=URL('${url}')`, false);
    }
    if (!deps.allowedImportPaths.some((a) => real.startsWith(a))) {
      throw new DownloadError(`The path '${real}' does not start with any of the allowed import paths`, false);
    }
    return createReadStream(real, { highWaterMark: 256 * 1024 });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DownloadError(`URL lacks a supported scheme: '${url}'`, false);
  const r = deps.remote;
  const headers: Record<string, string> = { 'User-Agent': 'pulpdist-site' };
  for (const h of r.headers ?? []) Object.assign(headers, h);
  Object.assign(headers, extra);
  if (auth && r.username !== null && r.password !== null) headers.Authorization = `Basic ${Buffer.from(`${r.username}:${r.password}`).toString('base64')}`;
  const mod = u.protocol === 'https:' ? https : http;
  const timeout = (r.sock_read_timeout ?? r.total_timeout ?? 300) * 1000;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { agent: deps.agent, headers, signal: deps.signal, timeout }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return resolve(res);
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && location && redirects < 10) {
        // aiohttp follows redirects; credentials go only to the origin they were given for.
        res.resume();
        const next = new URL(location, u);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          return reject(new DownloadError(`${status}, message='redirect to a non-HTTP URL refused', url=URL('${url}')`, false));
        }
        return resolve(open(next.href, deps, redirects + 1, auth && next.origin === u.origin, extra));
      }
      res.resume();
      reject(new DownloadError(`${status}, message='${res.statusMessage ?? ''}', url=URL('${url}')`, status === 429 || status >= 500));
    });
    req.on('timeout', () => req.destroy(new Error(`Timeout on reading data from socket: ${url}`)));
    req.on('error', (err) => reject(deps.signal.aborted ? deps.signal.reason : new DownloadError(`Cannot connect to ${url}: ${err.message}`, true)));
    req.end();
  });
}

/**
 * One GET of `url` with a `Range` header (http and https only), redirects followed as `open` does.
 * The answer may be 206 or a 200 that ignored the range: the caller checks `statusCode` and
 * `Content-Range`. Errors are the downloader's (`DownloadError`); no retries.
 */
export async function openRange(url: string, range: string, deps: DownloadDeps): Promise<IncomingMessage> {
  if (!/^https?:/i.test(url)) throw new DownloadError(`A range request needs an http(s) URL: '${url}'`, false);
  return (await open(url, deps, 0, true, { Range: range })) as IncomingMessage;
}

async function withRetries<T>(deps: DownloadDeps, fn: () => Promise<T>): Promise<T> {
  const retries = deps.remote.max_retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (deps.signal.aborted) throw deps.signal.reason;
      if (!(err instanceof DownloadError) || !err.retry || attempt >= retries) throw err;
      await sleep(100 * 2 ** attempt * (0.5 + Math.random()), undefined, { signal: deps.signal });
    }
  }
}

/** Fetch a (small) manifest into memory; at most `limit` bytes. */
export async function fetchManifest(url: string, deps: DownloadDeps, limit = 1024 ** 3): Promise<Buffer> {
  return withRetries(deps, async () => {
    const stream = await open(url, deps);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream) {
        const b = chunk as Buffer;
        size += b.length;
        if (size > limit) throw new DownloadError(`The manifest at ${url} is larger than ${limit} bytes`, false);
        await deps.bucket?.take(b.length, deps.signal);
        deps.onBytes(b.length);
        chunks.push(b);
      }
    } catch (err) {
      stream.destroy();
      throw asDownloadError(err, url, deps);
    }
    return Buffer.concat(chunks);
  });
}

/**
 * Download one file into a temp blob, verified while streaming. Nothing is kept unless size and
 * sha256 match; the temp file is removed on any failure. The verified temp file comes back closed
 * but not yet durable nor named by its digest: the caller passes it to `BlobStore.persistAll`.
 */
export async function downloadArtifact(url: string, expected: { sha256: string; size: number }, deps: DownloadDeps): Promise<{ path: string; sha256: string }> {
  return withRetries(deps, async () => {
    // Create the temp file while the request is in flight: both wait on I/O, so overlap them.
    const tmpP = deps.blobs.createTemp(expected.sha256);
    let stream: Readable;
    try {
      stream = await open(url, deps);
    } catch (err) {
      await tmpP.then((tmp) => deps.blobs.discardTemp(tmp), () => undefined);
      throw err;
    }
    let tmp: TempBlob;
    try {
      tmp = await tmpP;
    } catch (err) {
      stream.destroy();
      throw err;
    }
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of stream) {
        const b = chunk as Buffer;
        deps.signal.throwIfAborted();
        size += b.length;
        if (size > expected.size) {
          throw new DownloadError(`A file located at the url ${url} failed validation due to size. Expected '${expected.size}', Actual 'more than ${expected.size}'`, true);
        }
        if (deps.bucket) await deps.bucket.take(b.length, deps.signal);
        deps.onBytes(b.length);
        hash.update(b);
        deps.blobs.write(tmp, b);
      }
      const actual = hash.digest('hex');
      if (actual !== expected.sha256) {
        throw new DownloadError(`A file located at the url ${url} failed validation due to checksum. Expected '${expected.sha256}', Actual '${actual}'`, true);
      }
      if (size !== expected.size) {
        throw new DownloadError(`A file located at the url ${url} failed validation due to size. Expected '${expected.size}', Actual '${size}'`, true);
      }
    } catch (err) {
      stream.destroy();
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
