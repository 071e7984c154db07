/**
 * core/outbound.ts: the policy's validation, a Pulp remote's fields read as real Pulp reads them,
 * got's options, redirect decisions as a table, and fetch under the policy against real servers
 * on 127.0.0.1 (credentials kept to their origin across redirects, a hop limit, the timeout).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decideRedirect, httpGetOptions, outboundPolicy, OutboundPolicyError, policyFetch, remotePolicy, type RemoteFields } from '../../core/outbound.js';

const REMOTE: RemoteFields = {
  tls_validation: true,
  ca_cert: null,
  client_cert: null,
  client_key: null,
  proxy_url: null,
  proxy_username: null,
  proxy_password: null,
  sock_read_timeout: null,
  total_timeout: null,
};

test('a policy is validated once, with what was wrong', () => {
  assert.throws(() => outboundPolicy({ timeoutMs: 0 }), /timeoutMs must be a number > 0, got 0/);
  assert.throws(() => outboundPolicy({ maxRedirects: 1.5 }), /maxRedirects must be an integer ≥ 0, got 1.5/);
  assert.throws(() => outboundPolicy({ proxy: { url: new URL('socks5://127.0.0.1:1080'), authorization: null } }), /only http:\/\/ proxies are supported, got 'socks5:\/\/'/);
  assert.equal(outboundPolicy(), { verifyTls: true, timeoutMs: 30_000, maxRedirects: 10 });
});

test("a remote's fields make its policy as pulpcore reads them", () => {
  assert.is(remotePolicy(REMOTE).timeoutMs, 300_000, "pulpcore's default total timeout");
  assert.is(remotePolicy({ ...REMOTE, total_timeout: 20, sock_read_timeout: 5 }).timeoutMs, 5000, 'sock_read first');
  const p = remotePolicy({ ...REMOTE, tls_validation: false, ca_cert: 'CA', client_cert: 'C', client_key: 'K', proxy_url: 'http://proxy:3128', proxy_username: 'u', proxy_password: 'p' });
  assert.equal(httpGetOptions(p), {
    tls: { rejectUnauthorized: false, ca: 'CA', cert: 'C', key: 'K' },
    proxy: { url: new URL('http://proxy:3128'), authorization: `Basic ${Buffer.from('u:p').toString('base64')}` },
  });
  assert.is(remotePolicy({ ...REMOTE, proxy_url: 'http://proxy:3128' }).proxy?.authorization, null);
  const err = (() => {
    try {
      remotePolicy({ ...REMOTE, proxy_url: 'not a url with secret' });
    } catch (e) {
      return e as Error;
    }
    return null;
  })();
  assert.instance(err, OutboundPolicyError);
});

interface Seen {
  path: string;
  authorization?: string;
}

async function capturing(): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: u.pathname, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    if (u.pathname === '/to') return void res.writeHead(302, { Location: decodeURIComponent(u.search.slice(1)) }).end();
    if (u.pathname === '/loop') return void res.writeHead(307, { Location: '/loop' }).end();
    if (u.pathname === '/silent') return; // never answers
    res.writeHead(200).end(u.pathname);
  };
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('fetch under the policy: Authorization stays with its origin, loops end, a silent server times out', async () => {
  const a = await capturing();
  const b = await capturing();
  const auth = { authorization: 'Bearer tok123' };
  try {
    const same = await policyFetch(`${a.url}/to?${encodeURIComponent('/here')}`, { headers: auth });
    assert.is(await same.text(), '/here');
    assert.equal(a.seen.map((s) => s.authorization), ['Bearer tok123', 'Bearer tok123']);
    const other = await policyFetch(`${a.url}/to?${encodeURIComponent(`${b.url}/there`)}`, { headers: auth });
    assert.is(await other.text(), '/there');
    assert.equal(b.seen, [{ path: '/there' }], 'no Authorization on the other port');
    const none = await policyFetch(`${a.url}/to?${encodeURIComponent('/x')}`, {}, outboundPolicy({ maxRedirects: 0 }));
    assert.is(none.status, 302, 'maxRedirects 0 hands the redirect back');
    const loop = await policyFetch(`${a.url}/loop`, {}, outboundPolicy({ maxRedirects: 3 })).catch((e: Error) => e);
    assert.instance(loop, OutboundPolicyError);
    assert.match((loop as Error).message, /too many redirects \(more than 3\)/);
    const silent = await policyFetch(`${a.url}/silent`, {}, outboundPolicy({ timeoutMs: 200 })).catch((e: Error) => e);
    assert.is((silent as Error).name, 'TimeoutError');
    const refused = await policyFetch(a.url, {}, outboundPolicy({ verifyTls: false })).catch((e: Error) => e);
    assert.match((refused as Error).message, /fetch carries only the system CAs/);
  } finally {
    await a.close();
    await b.close();
  }
});

test('redirect decisions: credentials follow same-origin hops only, https → http and non-HTTP refused, userinfo dropped', () => {
  const from = new URL('https://a.example:8443/dir/x');
  const go = (location: string, credentials = true, hops = 1) => decideRedirect(from, location, { hops, credentials });
  assert.equal(go('/y'), { next: new URL('https://a.example:8443/y'), credentials: true });
  assert.equal(go('/y', false), { next: new URL('https://a.example:8443/y'), credentials: false }, 'dropped stays dropped');
  assert.equal(go('https://a.example/y'), { next: new URL('https://a.example/y'), credentials: false }, 'another port');
  assert.equal(go('https://b.example:8443/y'), { next: new URL('https://b.example:8443/y'), credentials: false }, 'another host');
  assert.equal(go('https://u:p@a.example:8443/y'), { next: new URL('https://a.example:8443/y'), credentials: true }, 'userinfo dropped');
  assert.equal(go('http://a.example:8443/y'), { refused: 'redirect from https to http refused' });
  assert.equal(go('file:///etc/passwd'), { refused: 'redirect to a non-HTTP URL refused' });
  assert.equal(go('/y', true, 11), { refused: 'too many redirects (more than 10)' });
  assert.equal(decideRedirect(new URL('http://a.example/'), 'https://a.example/', { hops: 1, credentials: true }), { next: new URL('https://a.example/'), credentials: false }, 'http → https is another origin');
});

test.run();
