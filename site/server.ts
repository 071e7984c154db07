/**
 * The embedded Pulp-compatible site: one HTTP server with the API at `/pulp/api/v3/`, the content
 * app at `/pulp/content/` and our counters at `/pulpdist/metrics`. It opens the store (replaying the
 * journal, sweeping temp blobs, failing tasks a previous process left running), then listens.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/redact.js';
import { BlobStore } from './blobs.js';
import { majorGcCount } from './gc.js';
import { CONTENT_PREFIX, serveContent } from './content-app.js';
import { ApiError, NOT_FOUND, newCid, sendJson, type Ctx } from './http.js';
import { API_ROUTES } from './routes.js';
import { methodNotAllowed, type Site } from './site.js';
import { API, timestamp } from './records.js';
import { Store } from './store.js';
import type { SiteMetrics } from './sync.js';
import { TaskManager } from './tasks.js';
import { siteRegistry } from './metrics.js';
import { BlobReads } from './blob-reads.js';
import { href } from './records.js';

export interface SiteOptions {
  dataDir: string;
  host: string;
  port: number;
  /** `base_url` origin; default: the origin the site listens on. */
  contentOrigin?: string;
  allowedImportPaths?: string[];
  /** Basic auth for the API (not status/, not the content app). */
  auth?: { username: string; password: string };
  log: Logger;
  version: string;
  /** Tasks running at once. @default 8 */
  workers?: number;
  /**
   * Batch fetches between embedded sites (batch-protocol.ts): offered by the content app and used
   * by syncs from an upstream that offers them. Off: plain per-file GETs only, as with real Pulp.
   * @default true
   */
  batch?: boolean;
}

export interface RunningSiteServer {
  url: string;
  site: Site;
  close(graceMs?: number): Promise<void>;
}

export async function startSiteServer(opts: SiteOptions): Promise<RunningSiteServer> {
  const dataDir = path.resolve(opts.dataDir);
  const store = await Store.open(dataDir);
  const blobs = new BlobStore(dataDir);
  const swept = await blobs.init();
  if (swept) opts.log.warn('removed temp files a previous run left behind', { count: swept });
  // syncfs in bulk, or an fdatasync per blob where `sync -f` is missing (docs/site.md, Durability).
  if (blobs.durability !== 'syncfs') opts.log.warn('syncfs unavailable (coreutils `sync -f`): blobs are made durable one fdatasync at a time, which is slower', { durability: blobs.durability });
  const workerId = crypto.randomUUID();
  const tasks = new TaskManager(store, opts.log, href.worker(workerId), opts.workers ?? 8);
  const recovered = await tasks.recover();
  if (recovered) opts.log.warn('tasks left unfinished by a previous run marked failed', { count: recovered });
  const metrics: SiteMetrics = { contentBytesServed: 0, contentRequests: 0, syncBytesDownloaded: 0, syncFilesDownloaded: 0 };
  majorGcCount(); // counts from here on
  let listenOrigin = '';
  const shutdown = new AbortController();
  const site: Site = {
    store,
    blobs,
    reads: new BlobReads(),
    tasks,
    metrics,
    log: opts.log,
    contentOrigin: () => (opts.contentOrigin ?? listenOrigin).replace(/\/+$/, ''),
    allowedImportPaths: (opts.allowedImportPaths ?? []).map((p) => path.resolve(p)),
    workerId,
    startedAt: timestamp(),
    version: opts.version,
    dataDir,
    batch: opts.batch !== false,
  };
  const registry = siteRegistry(metrics, site.reads);
  const server = http.createServer((req, res) => {
    void handle(site, registry, opts, req, res, shutdown.signal);
  });
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (err) {
    // A busy port: let go of the store (its lock and journal) before the caller reports it.
    await tasks.shutdown(0);
    await store.close();
    throw err;
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  listenOrigin = `http://${host}:${addr.port}`;
  return {
    url: listenOrigin,
    site,
    async close(graceMs = 2000) {
      shutdown.abort();
      server.close();
      await tasks.shutdown(graceMs);
      server.closeAllConnections();
      await store.close();
      blobs.close();
    },
  };
}

async function handle(site: Site, registry: Registry, opts: SiteOptions, req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal): Promise<void> {
  const t0 = performance.now();
  const rawUrl = req.url ?? '/';
  const query = rawUrl.indexOf('?');
  const pathOnly = query < 0 ? rawUrl : rawUrl.slice(0, query);
  res.on('finish', () => {
    site.log.info('request', { method: req.method, path: redact(pathOnly), status: res.statusCode, ms: Math.round(performance.now() - t0) });
  });
  try {
    if (pathOnly.startsWith(CONTENT_PREFIX)) return await serveContent(site, req, res, pathOnly);
    if (pathOnly === '/pulpdist/metrics') return await metricsText(registry, req, res);
    await api(site, opts, req, res, signal);
  } catch (err) {
    if (!res.headersSent) {
      site.log.error('internal error', { method: req.method, path: redact(pathOnly), error: err });
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ detail: 'Internal server error.' }));
    } else res.destroy();
  }
}

async function api(site: Site, opts: SiteOptions, req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal): Promise<void> {
  const host = req.headers.host ?? '127.0.0.1';
  const url = new URL(req.url ?? '/', `http://${host}`);
  const incoming = req.headers['correlation-id'];
  const ctx: Ctx = {
    req,
    res,
    method: (req.method ?? 'GET').toUpperCase(),
    url,
    origin: `http://${host}`,
    cid: typeof incoming === 'string' && /^[0-9a-zA-Z-]{1,64}$/.test(incoming) ? incoming : newCid(),
    allow: 'GET, HEAD, OPTIONS',
    signal,
  };
  try {
    if (!url.pathname.startsWith(API)) throw NOT_FOUND();
    const parts = url.pathname.slice(API.length).split('/');
    if (parts.at(-1) !== '') throw NOT_FOUND();
    const route = API_ROUTES.match(ctx.method, parts);
    if (route) ctx.allow = route.allow;
    // status/ is public, as Pulp's is; everything else (OPTIONS too) needs the credentials.
    const isPublic = parts.length === 2 && parts[0] === 'status';
    if (opts.auth && !isPublic) checkAuth(req, opts.auth);
    if (ctx.method === 'OPTIONS' && !isPublic) return sendJson(ctx, 200, { name: parts.slice(0, -1).join('/'), description: '', renders: ['application/json'], parses: ['application/json'] });
    if (!route) throw NOT_FOUND();
    if (!route.handler) throw methodNotAllowed(ctx.method);
    return await route.handler(site, ctx, route.params);
  } catch (err) {
    if (err instanceof ApiError) {
      if (!res.headersSent) sendJson(ctx, err.status, err.body, err.headers);
      if (err.headers.Connection === 'close') req.socket.destroySoon?.();
      return;
    }
    throw err;
  }
}

function checkAuth(req: http.IncomingMessage, auth: { username: string; password: string }): void {
  const challenge = { 'WWW-Authenticate': 'Basic realm="api"', Vary: 'Accept, Cookie' };
  const header = req.headers.authorization;
  const token = header ? /^Basic\s+(.*)$/i.exec(header.trim())?.[1] : undefined;
  if (token === undefined) throw new ApiError(401, { detail: 'Authentication credentials were not provided.' }, challenge);
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new ApiError(401, { detail: 'Invalid basic header. Credentials not correctly base64 encoded.' }, challenge);
  const ok = safeEqual(decoded.slice(0, colon), auth.username) && safeEqual(decoded.slice(colon + 1), auth.password);
  if (!ok) throw new ApiError(401, { detail: 'Invalid username/password.' }, { 'WWW-Authenticate': 'Basic realm="api"' });
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Our counters in Prometheus text (site/metrics.ts). */
async function metricsText(registry: Registry, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
