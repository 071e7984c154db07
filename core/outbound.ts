/**
 * The outbound policy of pulpdist: what every request the project makes to another server obeys,
 * whichever client carries it (got in pulp/transport.ts, fetch in the controller and reconcilers,
 * site/http-get.ts in syncs). One place for redirects and credentials, so that no client can be
 * laxer than another.
 */

/** Redirects followed before a request fails (aiohttp's and got's default). */
export const MAX_REDIRECTS = 10;

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
