/**
 * The outbound policy of pulpdist: what every request the project makes to another server obeys,
 * whichever client carries it — pulp/http-exchange.ts for the Pulp API, fetch for source
 * manifests and `pulpdist status` (`policyFetch`), site/http-get.ts for syncs. One place for TLS
 * (verification, CA, client certificate), timeouts, redirects and the credentials they may carry,
 * proxies and redaction, so that no client is laxer than another. Not a client: a policy object
 * and the helpers that turn it into each client's options.
 */
import { PulpdistError } from './errors.js';
import { redactUrl } from './redact.js';

export { redact, redactUrl, registerSecret } from './redact.js';

/** Redirects followed before a request fails (aiohttp's and got's default). */
export const MAX_REDIRECTS = 10;

/** A forward proxy: `http://host:port`, and the Proxy-Authorization value if it wants one. */
export interface OutboundProxy {
  url: URL;
  authorization: string | null;
}

/** What one peer's requests obey. */
export interface OutboundPolicy {
  /** Verify the server's certificate and name. @default true */
  verifyTls: boolean;
  /** CA certificates (PEM) trusted instead of the system's, as a Pulp remote's `ca_cert`. */
  ca?: string;
  /** A client certificate and its key (PEM). */
  clientCert?: { cert: string; key: string };
  /** Longest wait for the peer, ms: an idle socket for downloads, the whole exchange otherwise. @default 30000 */
  timeoutMs: number;
  /** Redirects followed (0: none), under `decideRedirect`. @default MAX_REDIRECTS */
  maxRedirects: number;
  /** The forward proxy every request goes through. */
  proxy?: OutboundProxy;
}

export const DEFAULT_POLICY: Readonly<OutboundPolicy> = { verifyTls: true, timeoutMs: 30_000, maxRedirects: MAX_REDIRECTS };

/** The policy with `overrides`, validated ("timeoutMs must be a number > 0, got …"). */
export function outboundPolicy(overrides: Partial<OutboundPolicy> = {}): OutboundPolicy {
  const p: OutboundPolicy = { ...DEFAULT_POLICY, ...overrides };
  if (!(p.timeoutMs > 0)) throw new OutboundPolicyError(`timeoutMs must be a number > 0, got ${String(p.timeoutMs)}`);
  if (!Number.isInteger(p.maxRedirects) || p.maxRedirects < 0) throw new OutboundPolicyError(`maxRedirects must be an integer ≥ 0, got ${String(p.maxRedirects)}`);
  if (p.proxy && p.proxy.url.protocol !== 'http:') throw new OutboundPolicyError(`only http:// proxies are supported, got '${p.proxy.url.protocol}//'`);
  return p;
}

/** A policy that cannot be followed, or a request it refused (a redirect). */
export class OutboundPolicyError extends PulpdistError {}

/** The fields of a Pulp remote that make its policy (pulpcore's names). */
export interface RemoteFields {
  tls_validation: boolean;
  ca_cert: string | null;
  client_cert: string | null;
  client_key: string | null;
  proxy_url: string | null;
  proxy_username: string | null;
  proxy_password: string | null;
  sock_read_timeout: number | null;
  total_timeout: number | null;
}

/** The policy of a remote's downloads, as real Pulp reads the same fields. */
export function remotePolicy(r: RemoteFields): OutboundPolicy {
  let proxy: OutboundProxy | undefined;
  if (r.proxy_url) {
    let url: URL;
    try {
      url = new URL(r.proxy_url);
    } catch {
      throw new OutboundPolicyError(`The proxy_url '${redactUrl(r.proxy_url)}' is not a valid URL.`);
    }
    const auth = r.proxy_username !== null && r.proxy_password !== null ? `Basic ${Buffer.from(`${r.proxy_username}:${r.proxy_password}`).toString('base64')}` : null;
    proxy = { url, authorization: auth };
  }
  return outboundPolicy({
    verifyTls: r.tls_validation,
    ...(r.ca_cert ? { ca: r.ca_cert } : {}),
    ...(r.client_cert && r.client_key ? { clientCert: { cert: r.client_cert, key: r.client_key } } : {}),
    // aiohttp's sock_read, else the total; pulpcore's default total is 300 s.
    timeoutMs: (r.sock_read_timeout ?? r.total_timeout ?? 300) * 1000,
    ...(proxy ? { proxy } : {}),
  });
}

/** The node:http(s) options of the policy: site/http-get.ts (syncs) and pulp/http-exchange.ts (the API). */
export function httpGetOptions(p: OutboundPolicy): {
  tls: { rejectUnauthorized: boolean; ca?: string; cert?: string; key?: string };
  proxy?: OutboundProxy;
} {
  return {
    tls: { rejectUnauthorized: p.verifyTls, ...(p.ca ? { ca: p.ca } : {}), ...(p.clientCert ? { cert: p.clientCert.cert, key: p.clientCert.key } : {}) },
    ...(p.proxy ? { proxy: p.proxy } : {}),
  };
}

/**
 * `fetch` under the policy: the timeout over the whole exchange, redirects decided here
 * (`redirect: 'manual'`) so that credentials and https → http follow the same rules as the other
 * clients. Node's fetch takes no TLS or proxy options without undici's own classes, so a policy
 * that asks for them is refused rather than silently ignored.
 */
export async function policyFetch(
  url: string | URL,
  init: { headers?: Record<string, string>; signal?: AbortSignal },
  p: OutboundPolicy = DEFAULT_POLICY,
  fetchImpl: typeof globalThis.fetch = globalThis.fetch,
): Promise<Response> {
  if (!p.verifyTls || p.ca || p.clientCert || p.proxy) throw new OutboundPolicyError('fetch carries only the system CAs with verification, and no proxy');
  const timeout = AbortSignal.timeout(p.timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  const given = init.headers ?? {};
  let u = new URL(url);
  let credentials = true;
  for (let hops = 1; ; hops++) {
    const res = await fetchImpl(u, { headers: credentials ? given : withoutCredentials(given), signal, redirect: 'manual' });
    const location = res.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(res.status) || location === null || p.maxRedirects === 0) return res;
    await res.body?.cancel();
    const verdict = decideRedirect(u, location, { hops, credentials, maxRedirects: p.maxRedirects });
    if ('refused' in verdict) throw new OutboundPolicyError(`GET ${redactUrl(u.href)}: ${verdict.refused}`);
    u = verdict.next;
    credentials = verdict.credentials;
  }
}

/**
 * Header names that carry credentials; they go only to the origin they were given for. Besides
 * the ones undici drops on a cross-origin redirect (Authorization, Proxy-Authorization, Cookie), a
 * remote marks a header of its own as secret by its name: anything with auth, token, secret, key,
 * session, password or signature in it (X-Api-Key, PRIVATE-TOKEN, X-Auth-Token…).
 */
export function isCredentialHeader(name: string): boolean {
  return /^(authorization|proxy-authorization|cookie)$/i.test(name) || /auth|token|secret|key|session|passw|signature/i.test(name);
}

/** The headers without those that carry credentials. */
export function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !isCredentialHeader(k)));
}

/** Where a redirect leads, and whether the credentials still go along. */
export type RedirectVerdict = { next: URL; credentials: boolean } | { refused: string };

/**
 * Decide one redirect from `from` to its `location`, the `hops`-th of the request (1-based).
 * Credentials go along only while every hop stays on the origin they were given for: once dropped
 * they stay dropped, even if a later hop comes back. https → http is refused (what was asked over
 * TLS must not arrive in the clear), and so is any scheme but http(s).
 */
export function decideRedirect(from: URL, location: string, opts: { hops: number; credentials: boolean; maxRedirects?: number }): RedirectVerdict {
  const max = opts.maxRedirects ?? MAX_REDIRECTS;
  if (opts.hops > max) return { refused: `too many redirects (more than ${max})` };
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    return { refused: 'a redirect to an invalid URL refused' };
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') return { refused: 'redirect to a non-HTTP URL refused' };
  if (from.protocol === 'https:' && next.protocol === 'http:') return { refused: 'redirect from https to http refused' };
  // Userinfo in a Location is a credential nobody gave us for that origin (and would end up in messages).
  next.username = '';
  next.password = '';
  return { next, credentials: opts.credentials && next.origin === from.origin };
}
