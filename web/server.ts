/**
 * The read-only status endpoint (DESIGN.md "Status"): the HTML overview, the JSON API, Prometheus
 * metrics, liveness and readiness, and the optional Git webhook. node:http, no framework.
 *
 * It must stay fast while a pass is running and 200 clients poll it, so per request it does no
 * more than a map lookup: everything derived from a status document (its redacted JSON, the
 * per-mirror JSON, the page) is computed once per document *identity* and reused. The controller
 * therefore replaces the document when something changes and never mutates one it handed over.
 *
 * The document holds no credential by construction; every string in it still goes through
 * `redact` before it is served, so a secret that slipped into a message cannot leave the process.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { gzip as gzipCb } from 'node:zlib';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { PulpdistError, UsageError, messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redact, redactStrings } from '../core/redact.js';
import type { StatusDocument } from '../core/status.js';
import { metricsText, type Metrics } from './metrics.js';
import { RouteTable } from '../core/routes.js';
import { Payload, acceptsGzip, readBody, send, type Body } from './http.js';
import { PAGE_CSP, renderStatusPage } from './page.js';
import { parseView, viewQuery } from './page-view.js';
import type { MirrorHistory } from '../status/sync-history.js';
import { DeliveryDedupe, verifyWebhook } from './webhook.js';
import { historyRoute, type HistorySource } from './history-route.js';

export interface StatusServerOptions {
  /** `host:port` (`[::1]:port` for IPv6, `:port` for every interface); port 0 picks a free one. */
  listen: string;
  /** The current document; called on every request, so it must be cheap (return a reference). */
  getStatus: () => StatusDocument;
  /** Whether `/readyz` answers 200 (first pass done, Git reachable). */
  isReady: () => boolean;
  /** With several replicas: `active`, or `standby (…)`, said by `/readyz`. */
  role?: () => string;
  metrics: Metrics;
  /** Enables `POST /hooks/git`: deliveries authenticated by `secret` call `onPush`. */
  webhook?: { secret: string; onPush: () => void };
  log: Logger;
  /** Aborting it closes the server. */
  signal?: AbortSignal;
  /** Largest request body accepted (webhook payloads). @default 1 MiB */
  maxBodyBytes?: number;
  /** Clock for the page's ages. @default () => new Date() */
  now?: () => Date;
  /** The page is re-rendered at most this often for an unchanged document (its ages move on). @default 5000 */
  pageMaxAgeMs?: number;
  /** A mirror's recent syncs (status/sync-history.ts): `GET /api/v1/mirrors/NAME/syncs` and the page's expanded rows. */
  recentSyncs?: (mirror: string) => MirrorHistory | undefined;
  /** Enables `GET /api/v1/mirrors/NAME/history` (history-route.ts): a mirror's history, read from Pulp. */
  history?: HistorySource;
}

export interface StatusServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Stop listening, let in-flight answers finish (briefly), then drop every connection. */
  close(): Promise<void>;
}

/** The endpoint could not listen on its address (taken, not allowed, not local). */
export class StatusListenError extends PulpdistError {
  constructor(
    message: string,
    readonly listen: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** A `host:port` listen address split; throws UsageError on anything else. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`invalid listen address "${listen}" (use host:port, e.g. 127.0.0.1:8080, [::1]:8080 or :8080)`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  return { host, port };
}

/** What one document becomes, computed lazily, once. */
class Snapshot {
  readonly json: Payload;
  private readonly safe: StatusDocument;
  private mirrorsJson: Payload | undefined;
  private sitesJson: Payload | undefined;
  private byName: Map<string, Payload> | undefined;

  constructor(readonly doc: StatusDocument) {
    // Redact string by string: redacting the serialized text could cut across JSON syntax.
    const text = JSON.stringify(doc, redactStrings);
    this.json = new Payload(text);
    this.safe = JSON.parse(text) as StatusDocument;
  }

  /** The redacted document (the page renders from it, so it is redacted too). */
  redacted(): StatusDocument {
    return this.safe;
  }

  mirrors(): Payload {
    return (this.mirrorsJson ??= new Payload(JSON.stringify(this.redacted().mirrors)));
  }

  sites(): Payload {
    return (this.sitesJson ??= new Payload(JSON.stringify(this.redacted().sites)));
  }

  mirror(name: string): Payload | undefined {
    this.byName ??= new Map(this.redacted().mirrors.map((m) => [m.name, new Payload(JSON.stringify(m))]));
    return this.byName.get(name);
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The history as served: every string redacted, as the document is. */
function redactHistory(h: MirrorHistory | undefined): MirrorHistory | undefined {
  return h && (JSON.parse(JSON.stringify(h, redactStrings)) as MirrorHistory);
}
const TEXT_TYPE = 'text/plain; charset=utf-8';
/** Distinct page views kept rendered for one document. */
const MAX_CACHED_PAGES = 64;
const gzipAsync = promisify(gzipCb);

/** Start the endpoint; resolves once it listens. */
export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const { getStatus, isReady, metrics, webhook, log, signal, maxBodyBytes = 1024 * 1024, now = () => new Date(), pageMaxAgeMs = 5000 } = opts;
  const { host, port } = parseListen(opts.listen);
  signal?.throwIfAborted();

  let snapshot: Snapshot | undefined;
  const current = (): Snapshot => {
    const doc = getStatus();
    if (snapshot?.doc !== doc) snapshot = new Snapshot(doc);
    return snapshot;
  };
  // Rendered pages of the current document, by view (the canonical query): a page refreshing
  // itself, or many people on the same filtered view, costs one render per document.
  let pages = new Map<string, { at: number; body: Body }>();
  let pagesOf: Snapshot | undefined;
  let recorded: StatusDocument | undefined;
  const dedupe = new DeliveryDedupe();

  const json = (status: number, value: unknown): Body => ({ status, type: JSON_TYPE, text: JSON.stringify(value) });
  const notFound = (what: string): Body => json(404, { error: 'not found', message: what });

  const ok = (): Body => ({ status: 200, type: TEXT_TYPE, text: 'ok\n' });

  function readyz(): Body {
    let ready = false;
    try {
      ready = isReady();
    } catch (err) {
      log.warn('readiness check failed', { error: messageOf(err) });
    }
    const role = opts.role?.();
    if (role !== undefined) return { status: ready ? 200 : 503, type: TEXT_TYPE, text: `${ready ? 'ready' : 'not ready'}: ${role}\n` };
    return ready ? ok() : { status: 503, type: TEXT_TYPE, text: 'not ready: the first pass has not completed or Git is unreachable\n' };
  }

  async function scrape(req: IncomingMessage): Promise<Body> {
    const doc = getStatus();
    // The controller records each document too; doing it here as well guarantees a scrape
    // reflects the document being served, and recording is idempotent.
    if (doc !== recorded) {
      metrics.recordStatus(doc);
      recorded = doc;
    }
    const text = redact(await metricsText(metrics.registry));
    // Prometheus asks for gzip; a scrape of thousands of series shrinks tenfold. Off the event loop.
    if (acceptsGzip(req) && text.length > 1024) {
      return { status: 200, type: metrics.registry.contentType, text: '', headers: { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' }, raw: await gzipAsync(text) };
    }
    return { status: 200, type: metrics.registry.contentType, text };
  }

  function statusPage(req: IncomingMessage): Body {
    const snap = current();
    const t = now();
    const view = parseView(new URL(req.url ?? '/', 'http://x').searchParams);
    // The replica's role is on the page: a change of role renders it anew.
    const role = opts.role?.();
    const key = viewQuery(view) + (view.ignored.length ? `#${view.ignored.join(';')}` : '') + (role ? `@${role}` : '');
    if (pagesOf !== snap || pages.size >= MAX_CACHED_PAGES) {
      pages = new Map();
      pagesOf = snap;
    }
    let page = pages.get(key);
    if (!page || t.getTime() - page.at > pageMaxAgeMs) {
      const text = renderStatusPage(snap.redacted(), { now: t, view, ...(role ? { role } : {}), ...(opts.recentSyncs ? { history: (m: string) => redactHistory(opts.recentSyncs?.(m)) } : {}) });
      page = { at: t.getTime(), body: { status: 200, type: 'text/html; charset=utf-8', text: new Payload(text), headers: { 'Content-Security-Policy': PAGE_CSP } } };
      pages.set(key, page);
    }
    return page.body;
  }

  function mirror(raw: string): Body {
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return json(400, { error: 'bad request', message: 'the mirror name is not valid percent-encoding' });
    }
    const sub = /^(.*)\/syncs$/.exec(name);
    const m = current().mirror(sub ? sub[1]! : name);
    if (m === undefined) return notFound(`no mirror named ${JSON.stringify(redact(sub ? sub[1]! : name))}; GET /api/v1/mirrors lists them`);
    if (!sub) return { status: 200, type: JSON_TYPE, text: m };
    return json(200, { mirror: sub[1], sites: redactHistory(opts.recentSyncs?.(sub[1]!)) ?? {} });
  }

  const history = opts.history ? historyRoute(opts.history, { now: () => now().getTime() }) : null;
  async function mirrorHistory(raw: string): Promise<Body> {
    if (!history) return notFound('history is served only by a running controller (pulpdist run)');
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return json(400, { error: 'bad request', message: 'the mirror name is not valid percent-encoding' });
    }
    return history(name);
  }

  // Every route and the methods it takes, once: dispatch and the Allow of a 405 both come from here.
  const routes = new RouteTable<Handler>([
    { path: '/', handlers: { GET: statusPage } },
    { path: '/api/v1/status', handlers: { GET: () => ({ status: 200, type: JSON_TYPE, text: current().json }) } },
    { path: '/api/v1/mirrors', handlers: { GET: () => ({ status: 200, type: JSON_TYPE, text: current().mirrors() }) } },
    { path: '/api/v1/sites', handlers: { GET: () => ({ status: 200, type: JSON_TYPE, text: current().sites() }) } },
    { path: '/api/v1/mirrors/:name/history', handlers: { GET: (_req, params) => mirrorHistory(params.name ?? '') } },
    { path: '/api/v1/mirrors/*name', handlers: { GET: (_req, params) => mirror(params.name ?? '') } },
    { path: '/metrics', handlers: { GET: scrape } },
    { path: '/livez', handlers: { GET: ok } },
    { path: '/healthz', handlers: { GET: ok } },
    { path: '/readyz', handlers: { GET: readyz } },
    webhook
      ? { path: '/hooks/git', handlers: { POST: (req) => hook(req, webhook) } }
      : { path: '/hooks/git', handlers: { ANY: () => notFound('no webhook is configured (pulpdist run --webhook-secret-env VAR)') } },
  ]);

  async function route(method: string, path: string, req: IncomingMessage): Promise<Body> {
    const found = routes.match(method, path.split('/'));
    if (!found) return notFound(`no such path ${JSON.stringify(path)}; see / or /api/v1/status`);
    if (!found.handler) return { ...json(405, { error: 'method not allowed', allow: found.allow }), headers: { Allow: found.allow } };
    return found.handler(req, found.params);
  }

  async function hook(req: IncomingMessage, webhook: { secret: string; onPush: () => void }): Promise<Body> {
    const body = await readBody(req, maxBodyBytes);
    if (body === null) return { ...json(413, { error: 'payload too large', limit: maxBodyBytes }), headers: { Connection: 'close' } };
    const verdict = verifyWebhook({ headers: req.headers, body }, webhook.secret);
    const fields = { sender: verdict.sender, reason: verdict.reason };
    if (verdict.status === 401) {
      log.warn('webhook delivery refused', fields);
      return json(401, { accepted: false, reason: verdict.reason });
    }
    if (verdict.dedupeKey !== undefined && !dedupe.firstTime(verdict.dedupeKey)) {
      log.debug('duplicate webhook delivery dropped', { ...fields, delivery: verdict.dedupeKey });
      return json(202, { accepted: false, reason: 'duplicate delivery ignored' });
    }
    if (!verdict.accept) {
      log.debug('webhook delivery ignored', fields);
      return json(202, { accepted: false, reason: verdict.reason });
    }
    log.info('webhook push received', { sender: verdict.sender });
    // After the answer is on its way: the sender waits for nobody's fetch.
    setImmediate(() => {
      try {
        webhook.onPush();
      } catch (err) {
        log.error('webhook handler failed', { error: messageOf(err) });
      }
    });
    return json(202, { accepted: true, reason: verdict.reason });
  }

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) {
      send(req, res, { ...json(413, { error: 'payload too large', limit: maxBodyBytes }), headers: { Connection: 'close' } });
      return;
    }
    route(method, path, req).then(
      (body) => send(req, res, body),
      (err: unknown) => {
        log.error('status endpoint failed', { path, error: messageOf(err) });
        send(req, res, json(500, { error: 'internal error', message: redact(messageOf(err)) }));
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const what =
        err.code === 'EADDRINUSE'
          ? 'the address is in use; choose another --listen'
          : err.code === 'EACCES'
            ? 'permission denied; use a port above 1023'
            : err.code === 'EADDRNOTAVAIL'
              ? 'no local interface has that address'
              : messageOf(err);
      reject(new StatusListenError(`cannot listen on ${opts.listen}: ${what}`, opts.listen, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.error('status endpoint error', { error: messageOf(err) }));

  const addr = server.address() as AddressInfo;
  const shown = addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address === '::' ? '::1' : addr.address;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${addr.port}`;
  log.info('status endpoint listening', { url, webhook: webhook ? '/hooks/git' : 'off' });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      signal?.removeEventListener('abort', onAbort);
      server.close(() => resolve());
      server.closeIdleConnections();
      // Answers in flight get a moment; then every connection goes, so close always resolves.
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    }));
  const onAbort = () => void close();
  signal?.addEventListener('abort', onAbort, { once: true });
  return { url, close };
}

/** A route's answer; `params` are the pattern's named segments, still percent-encoded. */
type Handler = (req: IncomingMessage, params: Record<string, string>) => Body | Promise<Body>;

