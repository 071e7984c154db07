/**
 * pulp/http-exchange.ts against got, the library it replaced for Pulp API calls (kept as a
 * devDependency for this test): real http and https servers on 127.0.0.1; each case sends the same
 * request through both and compares what came back (status, body, the headers the server saw),
 * and connection failures by their code.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import got, { RequestError } from 'got';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outboundPolicy, OutboundPolicyError, type OutboundPolicy } from '../../core/outbound.js';
import { exchange, ExchangeError, RecentSocketsAgent, RecentSocketsHttpsAgent } from '../../pulp/http-exchange.js';
import { makeTestCertificate } from '../../testkit/tls-cert.js';

interface Seen {
  /** The client's port: one per connection. */
  port: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const seen: Seen[] = [];
const sockets = new Set<import('node:net').Socket>();
const BIG = 'ü€'.repeat(300_000);

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    seen.push({ port: req.socket.remotePort ?? 0, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"pulp_href":"/a/","n":1}');
    if (u.pathname === '/echo') return void res.writeHead(201, { 'content-type': 'application/json', 'x-seen-type': String(req.headers['content-type']) }).end(body);
    if (u.pathname === '/missing') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not found."}');
    if (u.pathname === '/big') return void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(BIG);
    if (u.pathname === '/hop') return void res.writeHead(302, { location: '/json' }).end();
    if (u.pathname === '/away') return void res.writeHead(302, { location: `${other}/json` }).end();
    if (u.pathname === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (u.pathname === '/hang') return; // never answers
    res.writeHead(500).end('no such case');
  });
}

let base = '';
let other = '';
let secure = '';
let dir = '';
const servers: (http.Server | https.Server)[] = [];

const ready = (async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-exchange-'));
  const cert = makeTestCertificate(dir);
  const listen = async (s: http.Server | https.Server, scheme: string) => {
    s.on('connection', (c) => (sockets.add(c), c.on('close', () => sockets.delete(c))));
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `${scheme}://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };
  base = await listen(http.createServer(handler), 'http');
  other = await listen(http.createServer(handler), 'http');
  secure = await listen(https.createServer({ key: cert.key, cert: cert.cert }, handler), 'https');
  return cert;
})();

test.after(async () => {
  for (const c of sockets) c.destroy();
  for (const s of servers) await new Promise((r) => s.close(r));
  await rm(dir, { recursive: true, force: true });
});

const seenPort = () => seen[seen.length - 1]!.port;
const policy = (o: Partial<OutboundPolicy> = {}) => outboundPolicy({ timeoutMs: 5000, maxRedirects: 0, ...o });

/** The same request through both clients; the server's record of each comes back too. */
async function both(method: string, url: string, o: { json?: unknown; headers?: Record<string, string>; p?: Partial<OutboundPolicy> } = {}) {
  const p = policy(o.p);
  const headers = { accept: 'application/json', ...o.headers };
  seen.length = 0;
  const ours = await exchange({ method, url: new URL(url), headers, ...(o.json === undefined ? {} : { json: o.json }), policy: p });
  const oursSeen = [...seen];
  seen.length = 0;
  const theirs = await got(url, {
    method: method as 'GET',
    headers,
    ...(o.json === undefined ? {} : { json: o.json }),
    throwHttpErrors: false,
    retry: { limit: 0 },
    timeout: { request: p.timeoutMs },
    followRedirect: p.maxRedirects > 0,
    maxRedirects: p.maxRedirects,
    https: { rejectUnauthorized: p.verifyTls, ...(p.ca ? { certificateAuthority: p.ca } : {}) },
    responseType: 'text',
  });
  return { ours, theirs, oursSeen, theirsSeen: [...seen] };
}

test('GET: the same status, body and content type as got', async () => {
  await ready;
  const { ours, theirs } = await both('GET', `${base}/json`);
  assert.is(ours.status, 200);
  assert.is(ours.status, theirs.statusCode);
  assert.is(ours.text, theirs.body);
  assert.is(ours.headers['content-type'], theirs.headers['content-type']);
  assert.is(ours.statusMessage, theirs.statusMessage);
});

test('POST with a JSON body: the server receives the same body and content type from both', async () => {
  await ready;
  const json = { name: 'fedora', pulp_labels: { a: 'ü' }, n: [1, 2] };
  const { ours, theirs, oursSeen, theirsSeen } = await both('POST', `${base}/echo`, { json });
  assert.is(ours.status, 201);
  assert.is(ours.text, theirs.body);
  assert.equal(JSON.parse(ours.text), json);
  assert.is(oursSeen[0]!.headers['content-type'], theirsSeen[0]!.headers['content-type']);
  assert.is(oursSeen[0]!.headers['content-length'], theirsSeen[0]!.headers['content-length']);
  assert.is(oursSeen[0]!.method, 'POST');
});

test('an error status is an answer, not a throw, in both', async () => {
  await ready;
  const { ours, theirs } = await both('GET', `${base}/missing`);
  assert.is(ours.status, 404);
  assert.is(ours.text, theirs.body);
});

test('a large UTF-8 body arrives whole, multi-byte characters split across reads intact', async () => {
  await ready;
  const { ours, theirs } = await both('GET', `${base}/big`);
  assert.is(ours.text.length, BIG.length);
  assert.is(ours.text, theirs.body);
});

test('redirects: followed when the policy allows, answered as is when it does not', async () => {
  await ready;
  const followed = await both('GET', `${base}/hop`, { p: { maxRedirects: 10 } });
  assert.is(followed.ours.status, 200);
  assert.is(followed.ours.text, followed.theirs.body);
  const kept = await both('GET', `${base}/hop`, { p: { maxRedirects: 0 } });
  assert.is(kept.ours.status, 302);
  assert.is(kept.ours.status, kept.theirs.statusCode);
  // A redirect to another origin drops the Authorization header, as got does, and (the outbound
  // policy's rule, stricter than got) any header named as a secret.
  const away = await both('GET', `${base}/away`, { p: { maxRedirects: 10 }, headers: { authorization: 'Basic c2VjcmV0', 'x-api-token': 't0k3n' } });
  assert.is(away.ours.status, 200);
  assert.is(away.oursSeen[0]!.headers.authorization, 'Basic c2VjcmV0');
  assert.is(away.oursSeen[1]!.headers.authorization, undefined);
  assert.is(away.theirsSeen[1]!.headers.authorization, undefined);
  assert.is(away.oursSeen[1]!.headers['x-api-token'], undefined);
  assert.is(away.oursSeen[1]!.headers.accept, 'application/json');
  // A loop ends at the policy's limit.
  const err = await exchange({ method: 'GET', url: new URL(`${base}/loop`), headers: {}, policy: policy({ maxRedirects: 3 }) }).catch((e: unknown) => e);
  assert.instance(err, OutboundPolicyError);
  assert.match((err as Error).message, /too many redirects \(more than 3\)/);
});

async function failure(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (err: unknown) => err);
  if (e instanceof ExchangeError || e instanceof RequestError) return e.code;
  throw new Error(`expected a connection failure, got ${String(e)}`);
}

test('connection failures carry the same codes: refused, timed out, TLS not trusted', async () => {
  const cert = await ready;
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/json`;
  await new Promise((r) => closed.close(r));
  const refused = await failure(exchange({ method: 'GET', url: new URL(dead), headers: {}, policy: policy() }));
  assert.is(refused, 'ECONNREFUSED');
  assert.is(refused, await failure(got(dead, { retry: { limit: 0 } })));

  const timedOut = await failure(exchange({ method: 'GET', url: new URL(`${base}/hang`), headers: {}, policy: policy({ timeoutMs: 300 }) }));
  assert.is(timedOut, 'ETIMEDOUT');
  assert.is(timedOut, await failure(got(`${base}/hang`, { retry: { limit: 0 }, timeout: { request: 300 } })));

  const untrusted = await failure(exchange({ method: 'GET', url: new URL(`${secure}/json`), headers: {}, policy: policy() }));
  assert.is(untrusted, await failure(got(`${secure}/json`, { retry: { limit: 0 } })));
  assert.match(untrusted, /SELF_SIGNED|UNABLE_TO_VERIFY/);
  // Trusted with its CA, or with verification off: the same answers as got.
  const withCa = await both('GET', `${secure}/json`, { p: { ca: cert.cert } });
  assert.is(withCa.ours.status, 200);
  assert.is(withCa.ours.text, withCa.theirs.body);
  const unverified = await both('GET', `${secure}/json`, { p: { verifyTls: false } });
  assert.is(unverified.ours.text, unverified.theirs.body);
});

test("the caller's abort rejects with its reason and closes the request", async () => {
  await ready;
  const ac = new AbortController();
  const pending = exchange({ method: 'GET', url: new URL(`${base}/hang`), headers: {}, policy: policy(), signal: ac.signal });
  setTimeout(() => ac.abort(new Error('stop now')), 50);
  const err = await pending.catch((e: unknown) => e);
  assert.is((err as Error).message, 'stop now');
  // Aborted before it starts: nothing is sent.
  seen.length = 0;
  const early = await exchange({ method: 'POST', url: new URL(`${base}/echo`), headers: {}, json: {}, policy: policy(), signal: AbortSignal.abort(new Error('already')) }).catch((e: unknown) => e);
  assert.is((early as Error).message, 'already');
  assert.is(seen.length, 0);
});

test('writes reuse a connection only while it has been idle less than maxIdleMs', async () => {
  await ready;
  const agents = { http: new RecentSocketsAgent({ keepAlive: true }), https: new RecentSocketsHttpsAgent({ keepAlive: true }) };
  const conns = new Set<string>();
  const post = async () => {
    const a = await exchange({ method: 'POST', url: new URL(`${base}/echo`), headers: {}, json: { n: 1 }, policy: policy(), agents });
    assert.is(a.status, 201);
    conns.add(`${seenPort()}`);
  };
  await post();
  await post();
  await post();
  assert.is(conns.size, 1, 'back-to-back writes share one connection');
  // Idle "too long" (every pooled connection is, with 0): the next write opens a new one and succeeds.
  agents.http.maxIdleMs = 0;
  await post();
  await post();
  assert.is(conns.size, 3, 'each write on a fresh connection');
  assert.is(Object.values(agents.http.freeSockets).flat().filter((s) => s && !s.destroyed).length, 1);
  agents.http.destroy();
});

test('a proxy in the policy is refused: Pulp API calls go direct', async () => {
  await ready;
  const err = await exchange({ method: 'GET', url: new URL(`${base}/json`), headers: {}, policy: policy({ proxy: { url: new URL('http://127.0.0.1:9'), authorization: null } }) }).catch((e: unknown) => e);
  assert.instance(err, OutboundPolicyError);
});

test.run();
