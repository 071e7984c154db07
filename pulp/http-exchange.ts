/**
 * One HTTP/1.1 exchange with a Pulp API on node:http(s): a method, headers, an optional JSON
 * body, the answer's status, headers and text. Only what pulp/transport.ts needs: a deadline over
 * the whole exchange, an abort signal, TLS options, an agent chosen by the caller (the pooled
 * one, or RecentSocketsAgent for calls that change state), and redirects decided by the one outbound policy (core/outbound.ts).
 *
 * Why not got, which this replaced: a pass makes ~13 API calls per placement (39,000 for 1,000
 * mirrors × 3 sites) and got spends ≈ 0.5 ms of CPU per call on top of node:http's ≈ 0.2 ms
 * (options merging, hooks, its stream wrapper): about 20 s of the controller's 45 s in that pass
 * (docs/pass-performance.md). test/pulp/http-exchange.test.ts holds it to got's answers.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { decideRedirect, httpGetOptions, OutboundPolicyError, withoutCredentials, type OutboundPolicy } from '../core/outbound.js';

export interface ExchangeRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** Sent as `application/json`. */
  json?: unknown;
  /**
   * Timeout (over the whole exchange, redirects included; fails with code ETIMEDOUT), TLS, and
   * redirects (0: a redirect is the answer). No proxy: Pulp's API is reached directly.
   */
  policy: OutboundPolicy;
  /** @default the global keep-alive agents */
  agents?: { http: http.Agent; https: https.Agent };
  signal?: AbortSignal;
}

export interface ExchangeAnswer {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A connection-level failure: `code` is the system's (ECONNREFUSED, ECONNRESET, …) or ETIMEDOUT. */
export class ExchangeError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ExchangeError';
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Send `req`, following redirects (GET and HEAD only) as the outbound policy allows. */
export async function exchange(req: ExchangeRequest): Promise<ExchangeAnswer> {
  req.signal?.throwIfAborted();
  const { tls, proxy } = httpGetOptions(req.policy);
  if (proxy) throw new OutboundPolicyError('a proxy for Pulp API calls is not supported');
  // A timer per hop, not AbortSignal.timeout + any: those cost ≈ 10 % of the controller's CPU in a pass.
  const deadline = performance.now() + req.policy.timeoutMs;
  let url = req.url;
  let headers = req.headers;
  let credentials = true;
  for (let hops = 1; ; hops++) {
    const answer = await once(req, url, headers, tls, deadline);
    const location = answer.headers.location;
    if (req.policy.maxRedirects === 0 || !REDIRECTS.has(answer.status) || typeof location !== 'string' || (req.method !== 'GET' && req.method !== 'HEAD')) return answer;
    const verdict = decideRedirect(url, location, { hops, credentials, maxRedirects: req.policy.maxRedirects });
    if ('refused' in verdict) throw new OutboundPolicyError(verdict.refused);
    if (credentials && !verdict.credentials) headers = withoutCredentials(headers);
    ({ next: url, credentials } = verdict);
  }
}

function once(req: ExchangeRequest, url: URL, headers: Record<string, string>, tls: https.RequestOptions, deadline: number): Promise<ExchangeAnswer> {
  const body = req.json === undefined ? null : Buffer.from(JSON.stringify(req.json));
  const secure = url.protocol === 'https:';
  const agent = secure ? (req.agents?.https ?? https.globalAgent) : (req.agents?.http ?? http.globalAgent);
  if (agent instanceof RecentSocketsAgent || agent instanceof RecentSocketsHttpsAgent) dropIdle(agent);
  const options: https.RequestOptions = {
    method: req.method,
    agent,
    headers: body ? { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) } : headers,
    ...(secure ? tls : {}),
  };
  return new Promise<ExchangeAnswer>((resolve, reject) => {
    let settled = false;
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settle();
      r.destroy();
      reject(err);
    };
    // The caller's reason wins; our own deadline is a connection failure like any other.
    const onAbort = () => fail(req.signal?.reason);
    const timer = setTimeout(() => fail(new ExchangeError(`timed out after ${req.policy.timeoutMs} ms`, 'ETIMEDOUT')), Math.max(0, deadline - performance.now()));
    const r = (secure ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => fail(asExchangeError(err)));
      res.on('end', () => {
        if (settled) return;
        settle();
        resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    r.on('error', (err) => fail(asExchangeError(err)));
    if (req.signal?.aborted) return onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    r.end(body ?? undefined);
  });
}

const FREED_AT = Symbol('freedAt');
type Stamped = Socket & { [FREED_AT]?: number };

/*
 * RecentSocketsAgent: keep-alive for calls that change state, without the race keep-alive has: a server closes an idle
 * connection after its keep-alive timeout (gunicorn 2 s, nginx 75 s, Node 5 s), and a POST sent
 * on it just then fails with ECONNRESET, indistinguishable from a server that died mid-request, so
 * it could not be retried. A connection is reused only while it has been idle less than
 * `maxIdleMs`, checked when the request is made (a timer could fire late on a busy event loop),
 * far below any server's timeout; and never past a shorter `Keep-Alive: timeout` the server
 * announced (Node's agent honours that hint). A fresh connection per call costs a TCP handshake
 * and teardown at both ends: about 15 % of the controller's CPU in a pass.
 */
export class RecentSocketsAgent extends http.Agent {
  maxIdleMs = 1000;
  override keepSocketAlive(socket: Socket): void {
    (socket as Stamped)[FREED_AT] = performance.now();
    return super.keepSocketAlive(socket);
  }
}

export class RecentSocketsHttpsAgent extends https.Agent {
  maxIdleMs = 1000;
  override keepSocketAlive(socket: Socket): void {
    (socket as Stamped)[FREED_AT] = performance.now();
    return super.keepSocketAlive(socket);
  }
}

/** Close the pooled connections of `agent` idle for its `maxIdleMs` or longer. */
function dropIdle(agent: RecentSocketsAgent | RecentSocketsHttpsAgent): void {
  const now = performance.now();
  for (const list of Object.values(agent.freeSockets)) {
    for (const s of list ?? []) if (now - ((s as Stamped)[FREED_AT] ?? -Infinity) >= agent.maxIdleMs) s.destroy();
  }
}

function asExchangeError(err: unknown): ExchangeError {
  const e = err as NodeJS.ErrnoException;
  return new ExchangeError(e.message, typeof e.code === 'string' ? e.code : 'ECONNRESET');
}
