/**
 * Redirects in site/download.ts against header-capturing node:http servers on 127.0.0.1 (two
 * ports, and one reached by two host names) and an https one: the remote's credentials —
 * username/password, Authorization, Proxy-Authorization, Cookie and headers named as secrets —
 * reach only the origin they were given for; other headers follow; https → http is refused; so
 * are endless redirects.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BlobStore } from '../../site/blobs.js';
import { fetchManifest, makeClient, type DownloadDeps } from '../../site/download.js';
import type { RemoteRecord } from '../../site/records.js';
import { makeTestCertificate } from '../../testkit/tls-cert.js';

interface Seen {
  host: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

interface Capturing {
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

/** `/to?URL` answers 302 to URL; `/loop` redirects to itself; anything else 200 with its path. */
async function capturing(tls?: { key: string; cert: string }): Promise<Capturing> {
  const seen: Seen[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push({ host: req.headers.host ?? '', path: u.pathname, headers: req.headers });
    if (u.pathname === '/to') return void res.writeHead(302, { Location: decodeURIComponent(u.search.slice(1)), 'Content-Length': 0 }).end();
    if (u.pathname === '/loop') return void res.writeHead(301, { Location: '/loop', 'Content-Length': 0 }).end();
    res.writeHead(200, { 'Content-Length': u.pathname.length }).end(u.pathname);
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const SECRET_HEADERS = { Cookie: 'session=s3cr3t', 'Proxy-Authorization': 'Basic cHJveHk=', 'X-Api-Key': 'k3y', 'PRIVATE-TOKEN': 't0ken' };

function remote(url: string, extra: Partial<RemoteRecord> = {}): RemoteRecord {
  return {
    id: 'r',
    pulp_created: '',
    pulp_last_updated: '',
    name: 'r',
    url,
    ca_cert: null,
    client_cert: null,
    client_key: null,
    tls_validation: true,
    proxy_url: null,
    proxy_username: null,
    proxy_password: null,
    username: 'alice',
    password: 'wonderland',
    pulp_labels: {},
    download_concurrency: null,
    max_retries: 0,
    policy: 'immediate',
    total_timeout: null,
    connect_timeout: null,
    sock_connect_timeout: null,
    sock_read_timeout: 10,
    headers: [SECRET_HEADERS, { 'X-Plain': 'visible' }],
    rate_limit: null,
    pulpdist_bandwidth_limit: null,
    ...extra,
  };
}

/** GET `url` as a sync fetches a manifest, with the remote's settings. */
async function fetch(url: string, r: RemoteRecord = remote(url)): Promise<string> {
  const client = makeClient(r, 2);
  const deps: DownloadDeps = {
    blobs: null as unknown as BlobStore, // a manifest goes to memory, never to the blob store
    remote: r,
    allowedImportPaths: [],
    bucket: null,
    client,
    signal: AbortSignal.timeout(20_000),
    onBytes: () => undefined,
  };
  try {
    return (await fetchManifest(url, deps)).bytes.toString();
  } finally {
    client.destroy();
  }
}

const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization', 'x-api-key', 'private-token'];
const credentialsIn = (s: Seen) => CREDENTIALS.filter((h) => s.headers[h] !== undefined);
const at = (c: Capturing, p: string) => {
  const s = c.seen.find((x) => x.path === p);
  if (!s) throw new Error(`no request for ${p} (seen: ${c.seen.map((x) => x.path).join(', ')})`);
  return s;
};
const to = (url: string) => `/to?${encodeURIComponent(url)}`;

let a: Capturing;
let b: Capturing;
test.before(async () => {
  a = await capturing();
  b = await capturing();
});
test.after(async () => {
  await a.close();
  await b.close();
});
test.before.each(() => {
  a.seen.length = 0;
  b.seen.length = 0;
});

test('same origin: every credential follows the redirect', async () => {
  assert.is(await fetch(`http://127.0.0.1:${a.port}${to(`/same`)}`), '/same');
  assert.equal(credentialsIn(at(a, '/to')), CREDENTIALS);
  const same = at(a, '/same');
  assert.equal(credentialsIn(same), CREDENTIALS);
  assert.is(same.headers.authorization, `Basic ${Buffer.from('alice:wonderland').toString('base64')}`);
  assert.is(same.headers.cookie, 'session=s3cr3t');
});

test('another port: no credential, the other headers do follow', async () => {
  assert.is(await fetch(`http://127.0.0.1:${a.port}${to(`http://127.0.0.1:${b.port}/other-port`)}`), '/other-port');
  assert.equal(credentialsIn(at(a, '/to')), CREDENTIALS);
  const there = at(b, '/other-port');
  assert.equal(credentialsIn(there), []);
  assert.is(there.headers['x-plain'], 'visible');
  assert.is(there.headers['user-agent'], 'pulpdist-site');
});

test('another host name for the same server: no credential', async () => {
  assert.is(await fetch(`http://127.0.0.1:${a.port}${to(`http://localhost:${a.port}/other-name`)}`), '/other-name');
  const there = at(a, '/other-name');
  assert.is(there.host, `localhost:${a.port}`);
  assert.equal(credentialsIn(there), []);
});

test('a header the remote names as a bearer token is a credential too', async () => {
  const url = `http://127.0.0.1:${a.port}${to(`http://127.0.0.1:${b.port}/bearer`)}`;
  await fetch(url, remote(url, { username: null, password: null, headers: [{ Authorization: 'Bearer tok123' }] }));
  assert.is(at(a, '/to').headers.authorization, 'Bearer tok123');
  assert.is(at(b, '/bearer').headers.authorization, undefined);
});

test('dropped credentials stay dropped when a later hop comes back', async () => {
  const back = `http://127.0.0.1:${a.port}/back`;
  assert.is(await fetch(`http://127.0.0.1:${a.port}${to(`http://127.0.0.1:${b.port}${to(back)}`)}`), '/back');
  assert.equal(credentialsIn(at(b, '/to')), []);
  assert.equal(credentialsIn(at(a, '/back')), []);
});

test('userinfo in a Location is not used', async () => {
  assert.is(await fetch(`http://127.0.0.1:${a.port}${to(`http://mallory:pw@127.0.0.1:${b.port}/userinfo`)}`), '/userinfo');
  assert.equal(credentialsIn(at(b, '/userinfo')), []);
});

test('a redirect loop ends after 10 hops with a reason', async () => {
  const err = await fetch(`http://127.0.0.1:${a.port}/loop`).then(
    () => null,
    (e: Error) => e,
  );
  assert.match(err?.message ?? '', /^301, message='too many redirects \(more than 10\)', url=URL\('http:\/\/127\.0\.0\.1:\d+\/loop'\)$/);
  assert.is(a.seen.length, 11);
});

test('https → http is refused before any request goes out in the clear', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-redirect-'));
  const { key, cert } = makeTestCertificate(dir);
  const s = await capturing({ key, cert });
  try {
    const url = `https://localhost:${s.port}${to(`http://127.0.0.1:${b.port}/clear`)}`;
    const err = await fetch(url, remote(url, { ca_cert: cert })).then(
      () => null,
      (e: Error) => e,
    );
    assert.match(err?.message ?? '', /^302, message='redirect from https to http refused', url=URL\('https:\/\/localhost:\d+\/to\?/);
    assert.equal(credentialsIn(at(s, '/to')), CREDENTIALS, 'the https origin itself gets them');
    assert.is(b.seen.length, 0);
    // https → https on another port is followed, without credentials.
    const url2 = `https://localhost:${s.port}${to(`https://127.0.0.1:${s.port}/tls-other-name`)}`;
    assert.is(await fetch(url2, remote(url2, { ca_cert: cert })), '/tls-other-name');
    assert.equal(credentialsIn(at(s, '/tls-other-name')), []);
  } finally {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
