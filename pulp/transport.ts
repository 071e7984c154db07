/**
 * One HTTP exchange with a Pulp server (http-exchange.ts): auth header, timeout, retries of safe
 * calls, and the mapping of every failure to a typed error. Only this module knows which calls are
 * safe to repeat (GET and HEAD; never a blind POST, PATCH or DELETE, whose first attempt may have
 * reached the server).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../core/logger.js';
import { MAX_REDIRECTS, outboundPolicy, redact } from '../core/outbound.js';
import type { Credentials } from './auth.js';
import { withRetries } from '../core/retry.js';
import { parseRetryAfter, retryDelayMs } from './backoff.js';
import { displayUrl, PulpAuthError, PulpHttpError, PulpUnreachableError } from './errors.js';
import { exchange, ExchangeError, RecentSocketsAgent, RecentSocketsHttpsAgent } from './http-exchange.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** How a request authenticates. `optional`: send credentials if they can be resolved. */
export type AuthMode = 'required' | 'optional' | 'none';

export interface TransportRequest {
  method: Method;
  /** Absolute URL, query included. */
  url: URL;
  /** JSON body. */
  json?: unknown;
  headers?: Record<string, string>;
  /** @default 'required' */
  auth?: AuthMode;
  /** Non-2xx statuses handed back as answers instead of thrown (e.g. 404, 304). */
  accept?: number[];
  /** Follow redirects (only for calls that carry no credentials). @default false */
  followRedirect?: boolean;
  signal?: AbortSignal;
}

export interface TransportAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the text when it is not JSON, or null when empty. */
  body: unknown;
  text: string;
}

export interface TransportOptions {
  site: string;
  /** Origin the API lives on; credentials are sent to this origin only. */
  apiOrigin: string;
  credentials: Credentials;
  log: Logger;
  requestTimeoutMs: number;
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  tlsValidation: boolean;
}

/** Sends requests for one site. */
export interface Transport {
  request(req: TransportRequest): Promise<TransportAnswer>;
}

const SAFE_METHODS = new Set<Method>(['GET', 'HEAD']);

/**
 * Calls that change state reuse a connection only while it has been idle for less than a second
 * (http-exchange.ts RecentSocketsAgent): a connection error on a POST must mean the server, never
 * a pooled socket the server had just closed. Reads use the pooled keep-alive connections (they
 * are retried anyway).
 */
const WRITE_AGENTS = { http: new RecentSocketsAgent({ keepAlive: true }), https: new RecentSocketsHttpsAgent({ keepAlive: true }) };

/** A transport for one site. */
export function createTransport(opts: TransportOptions): Transport {
  const { site, log } = opts;

  async function authHeader(req: TransportRequest): Promise<string | null> {
    const mode = req.auth ?? 'required';
    // Never hand credentials to another origin, whatever an href or a redirect says.
    if (mode === 'none' || req.url.origin !== opts.apiOrigin) return null;
    if (mode === 'optional') {
      try {
        return await opts.credentials.header(req.signal);
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason;
        return null;
      }
    }
    return opts.credentials.header(req.signal);
  }

  async function once(req: TransportRequest): Promise<TransportAnswer> {
    req.signal?.throwIfAborted();
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    const authorization = await authHeader(req);
    if (authorization) headers.authorization = authorization;
    const started = performance.now();
    let res;
    try {
      res = await exchange({
        method: req.method,
        url: req.url,
        headers,
        ...(req.json === undefined ? {} : { json: req.json }),
        // Timeout, TLS and redirects from the one outbound policy (core/outbound.ts).
        policy: outboundPolicy({ verifyTls: opts.tlsValidation, timeoutMs: opts.requestTimeoutMs, maxRedirects: req.followRedirect ? MAX_REDIRECTS : 0 }),
        ...(SAFE_METHODS.has(req.method) ? {} : { agents: WRITE_AGENTS }),
        ...(req.signal ? { signal: req.signal } : {}),
      });
    } catch (err) {
      // The caller's abort wins over whatever the exchange made of it.
      if (req.signal?.aborted) throw req.signal.reason;
      if (err instanceof ExchangeError) {
        log.debug('pulp request failed', { site, method: req.method, url: displayUrl(req.url.href), error: err.code });
        throw new PulpUnreachableError({ site, method: req.method, url: req.url.href, causeCode: err.code }, { cause: plainCause(err) });
      }
      throw err;
    }
    const status = res.status;
    log.debug('pulp request', {
      site,
      method: req.method,
      url: displayUrl(req.url.href),
      status,
      ms: Math.round(performance.now() - started),
    });
    const text = res.text;
    const answer: TransportAnswer = { status, headers: res.headers, body: parseBody(text, res.headers['content-type']), text };
    if ((status >= 200 && status < 300) || req.accept?.includes(status)) return answer;
    const fields = { site, method: req.method, url: req.url.href, status, statusText: res.statusMessage, body: answer.body };
    if ((status === 401 || status === 403) && (req.auth ?? 'required') !== 'none') {
      throw new PulpAuthError(fields, opts.credentials.hint);
    }
    throw Object.assign(new PulpHttpError(fields), { [RETRY_AFTER]: parseRetryAfter(res.headers['retry-after']) });
  }

  return {
    request(req) {
      // Only GET and HEAD are repeated: the first attempt of anything else may have reached the server.
      return withRetries(() => once(req), {
        retries: SAFE_METHODS.has(req.method) ? opts.retries : 0,
        retryable: (err) => err instanceof PulpUnreachableError || (err instanceof PulpHttpError && err.retryable),
        delayMs: (attempt, err) => {
          const retryAfterMs = (err as { [RETRY_AFTER]?: number | null })[RETRY_AFTER] ?? null;
          return retryDelayMs(attempt, { baseMs: opts.retryBaseMs, maxMs: opts.retryMaxMs, retryAfterMs });
        },
        ...(req.signal ? { signal: req.signal } : {}),
        onRetry: ({ attempt, retries, delayMs, error }) =>
          log.warn('retrying pulp request', {
            site,
            method: req.method,
            url: displayUrl(req.url.href),
            attempt,
            of: retries,
            delayMs,
            error: (error as Error).message,
          }),
      });
    },
  };
}

/** Where a 429/503's Retry-After travels from `once` to the retry loop (not enumerable, not in toJSON). */
const RETRY_AFTER = Symbol('retryAfterMs');

/** The exchange's error, redacted: a message may carry a URL with credentials in it. */
function plainCause(err: ExchangeError): Error {
  return Object.assign(new Error(redact(err.message)), { code: err.code });
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === '') return null;
  // Without a Content-Type, JSON is still the API's only format; a text body stays text.
  if (contentType === undefined ? /^\s*[[{]/.test(text) : /\bjson\b/i.test(contentType)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}
