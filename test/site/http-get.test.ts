/**
 * The sync's HTTP client (site/http-get.ts) against real servers on 127.0.0.1: node:http and
 * node:https servers for ordinary answers, and raw TCP servers that write answers byte by byte or
 * misbehave (1xx heads, read-until-close bodies, chunk extensions and trailers, cut bodies,
 * malformed heads, silence).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetClient, type GetResponse } from '../../site/http-get.js';
import { makeTestCertificate } from '../../testkit/tls-cert.js';

const BIG = randomBytes(5 * 1024 * 1024 + 123);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Served {
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}

async function listen(server: net.Server): Promise<Served> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', () => connections++);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const scheme = server instanceof tls.Server ? 'https' : 'http';
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Run `fn` with the server listening and a client; both are closed after it. */
async function withClient(server: net.Server, fn: (s: Served, client: GetClient) => Promise<void>, maxIdle = 1): Promise<void> {
  const s = await listen(server);
  const client = new GetClient({ maxIdle });
  try {
    await fn(s, client);
  } finally {
    client.destroy();
    await s.close();
  }
}

/** A node:http server: /big (Content-Length), /chunked (several writes), /redirect, /status/N. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url === '/big') return void res.writeHead(200, { 'Content-Length': BIG.length }).end(BIG);
  if (req.url === '/echo') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(req.headers));
  if (req.url === '/chunked') {
    res.writeHead(200);
    let off = 0;
    const step = () => {
      if (off >= BIG.length) return void res.end();
      const n = 1 + Math.floor(Math.random() * 300_000);
      res.write(BIG.subarray(off, off + n));
      off += n;
      setImmediate(step);
    };
    return step();
  }
  if (req.url?.startsWith('/status/')) return void res.writeHead(Number(req.url.slice(8)), { 'Content-Length': 2 }).end('no');
  res.writeHead(404, { 'Content-Length': 0 }).end();
}

/** A raw server that answers every request with `answer` written in pieces of `piece` bytes. */
function raw(answer: (n: number) => Buffer | null, piece = 1, thenClose = false): net.Server {
  let n = 0;
  return net.createServer((sock) => {
    sock.on('error', () => undefined);
    let head = '';
    sock.on('data', async (d) => {
      head += d.toString('latin1');
      while (head.includes('\r\n\r\n')) {
        head = head.slice(head.indexOf('\r\n\r\n') + 4);
        const a = answer(n++);
        if (!a) continue; // silence
        for (let off = 0; off < a.length; off += piece) {
          sock.write(a.subarray(off, off + piece));
          if (piece < a.length) await sleep(0);
        }
        if (thenClose) sock.end();
      }
    });
  });
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as Error,
  );
  assert.ok(err, `expected a rejection matching ${re}`);
  assert.match(err.message, re);
}

const signal = () => AbortSignal.timeout(20_000);
const opts = (extra: Partial<Parameters<GetClient['get']>[1]> = {}) => ({ headers: {}, timeoutMs: 10_000, signal: signal(), ...extra });

async function body(res: GetResponse, slow = false): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await res.read(
    slow
      ? async (c) => {
          // The piece must stay valid while the consumer waits: copy it only after the wait.
          await sleep(1);
          chunks.push(Buffer.from(c));
        }
      : (c) => void chunks.push(Buffer.from(c)),
  );
  return Buffer.concat(chunks);
}

test('Content-Length bodies come whole, on one kept-alive connection', async () => {
  await withClient(http.createServer(handler), async (s, client) => {
    for (let i = 0; i < 3; i++) {
      const res = await client.get(new URL(`${s.url}/big`), opts());
      assert.is(res.status, 200);
      assert.is(res.headers['content-length'], String(BIG.length));
      assert.is(sha(await body(res)), sha(BIG));
    }
    assert.is(s.connections(), 1);
  }, 2);
});

test('discarding a finished answer leaves alone the GET its connection carries next', async () => {
  await withClient(http.createServer(handler), async (s, client) => {
    const first = await client.get(new URL(`${s.url}/status/200`), opts());
    assert.is((await body(first)).toString(), 'no');
    const second = await client.get(new URL(`${s.url}/big`), opts());
    first.discard();
    assert.is(sha(await body(second)), sha(BIG));
    assert.is(s.connections(), 1);
  });
});

test('headers are sent as given, with Host', async () => {
  await withClient(http.createServer(handler), async (s, client) => {
    const res = await client.get(new URL(`${s.url}/echo`), opts({ headers: { 'User-Agent': 'pulpdist-site', Range: 'bytes=1-2' } }));
    const seen = JSON.parse((await body(res)).toString());
    assert.is(seen['user-agent'], 'pulpdist-site');
    assert.is(seen.range, 'bytes=1-2');
    assert.is(seen.host, new URL(s.url).host);
    await rejects(client.get(new URL(`${s.url}/echo`), opts({ headers: { 'X-A': 'b\r\nX-Smuggled: 1' } })), /an invalid request header 'X-A'/);
  });
});

test('chunked bodies, and pieces stay valid while an async consumer waits', async () => {
  await withClient(http.createServer(handler), async (s, client) => {
    assert.is(sha(await body(await client.get(new URL(`${s.url}/chunked`), opts()))), sha(BIG));
    assert.is(sha(await body(await client.get(new URL(`${s.url}/big`), opts()), true)), sha(BIG));
    assert.is(sha(await body(await client.get(new URL(`${s.url}/chunked`), opts()), true)), sha(BIG));
    assert.is(s.connections(), 1);
  });
});

test('byte-by-byte answers: 1xx heads skipped, chunk extensions and trailers, then reuse', async () => {
  const answers = [
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Two: a\r\nx-two: b\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer: yes\r\n\r\n',
    'HTTP/1.1 204 No Content\r\n\r\n',
  ];
  await withClient(raw((n) => Buffer.from(answers[n]!, 'latin1')), async (s, client) => {
    const a = await client.get(new URL(`${s.url}/a`), opts());
    assert.is(a.status, 200);
    assert.is(a.statusMessage, 'OK');
    assert.is(a.headers['x-two'], 'a, b');
    assert.is((await body(a)).toString(), 'hello');
    assert.is((await body(await client.get(new URL(`${s.url}/b`), opts()))).toString(), 'abc0123456789');
    const c = await client.get(new URL(`${s.url}/c`), opts());
    assert.is(c.status, 204);
    assert.is((await body(c)).length, 0);
    assert.is(s.connections(), 1);
  });
});

test('a kept-alive connection follows the signal of its current request; an abort closes it even idle', async () => {
  await withClient(http.createServer(handler), async (s, client) => {
    const first = new AbortController();
    const second = new AbortController();
    assert.is((await body(await client.get(new URL(`${s.url}/status/200`), opts({ signal: first.signal })))).toString(), 'no');
    // The same connection, now for a request with another signal: the first one's abort no longer reaches it.
    const big = await client.get(new URL(`${s.url}/big`), opts({ signal: second.signal }));
    first.abort(new Error('an earlier sync canceled'));
    assert.is(sha(await body(big)), sha(BIG));
    assert.is(s.connections(), 1);
    // Idle in the pool: its signal's abort closes it, and the next request opens another.
    second.abort(new Error('sync canceled'));
    assert.is((await body(await client.get(new URL(`${s.url}/status/200`), opts()))).toString(), 'no');
    assert.is(s.connections(), 2);
    // A request whose signal is aborted mid-body fails with its reason.
    const third = new AbortController();
    const reading = body(await client.get(new URL(`${s.url}/big`), opts({ signal: third.signal })), true);
    third.abort(new Error('canceled mid-body'));
    await rejects(reading, /canceled mid-body/);
  });
});

test('a body without a length ends with the connection, which is not reused', async () => {
  await withClient(raw(() => Buffer.from('HTTP/1.0 200 OK\r\n\r\nuntil the end', 'latin1'), 4, true), async (s, client) => {
    for (let i = 0; i < 2; i++) assert.is((await body(await client.get(new URL(`${s.url}/x`), opts()))).toString(), 'until the end');
    assert.is(s.connections(), 2);
  });
});

test('a kept-alive connection the server closed meanwhile is replaced, not an error', async () => {
  // The server answers the first request of each connection and closes at the second, unanswered:
  // the race of a keep-alive timeout with a new request.
  const server = net.createServer((sock) => {
    let requests = 0;
    sock.on('error', () => undefined);
    sock.on('data', () => {
      if (++requests > 1) return void sock.destroy();
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
  });
  await withClient(server, async (s, client) => {
    for (let i = 0; i < 3; i++) assert.is((await body(await client.get(new URL(`${s.url}/x`), opts()))).toString(), 'ok');
    assert.is(s.connections(), 3);
  });
});

test('a cut body, a bad head, a bad chunk size, silence and an abort are errors that say so', async () => {
  const answers: (string | null)[] = [
    'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this',
    'SPDY/3 200 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n',
    null,
    'HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nstart',
  ];
  const s = await listen(raw((n) => (answers[n] === null ? null : Buffer.from(answers[n]!, 'latin1')), 1 << 20, false));
  const client = new GetClient({ maxIdle: 0 });
  const cut = await client.get(new URL(`${s.url}/0`), opts());
  // The server keeps the connection open: close it from there by stopping the server's socket.
  const cutRead = body(cut);
  await sleep(50);
  await s.close();
  await rejects(cutRead, /closed before the end/);

  const s2 = await listen(raw((n) => (answers[n + 1] === null ? null : Buffer.from(answers[n + 1]!, 'latin1')), 1 << 20, false));
  try {
    await rejects(client.get(new URL(`${s2.url}/1`), opts()), /not an HTTP\/1.x answer: 'SPDY\/3 200 OK'/);
    await rejects(body(await client.get(new URL(`${s2.url}/2`), opts())), /a bad chunk size 'zz'/);
    await rejects(client.get(new URL(`${s2.url}/3`), opts()), /a bad Content-Length '12x'/);
    await rejects(client.get(new URL(`${s2.url}/4`), opts({ timeoutMs: 200 })), /Timeout on reading data from socket/);
    const ac = new AbortController();
    const slow = await client.get(new URL(`${s2.url}/5`), opts({ signal: ac.signal }));
    const reading = body(slow);
    ac.abort(new Error('sync canceled'));
    await rejects(reading, /sync canceled/);
    await rejects(client.get(new URL('http://127.0.0.1:1/'), opts()), /ECONNREFUSED/);
  } finally {
    client.destroy();
    await s2.close();
  }
});

test('https: the remote CA verifies the server; without it the self-signed certificate is refused unless validation is off', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-tls-'));
  try {
    const { key: keyPem, cert: ca } = makeTestCertificate(dir);
    const s = await listen(https.createServer({ key: keyPem, cert: ca }, handler));
    const port = new URL(s.url).port;
    // A TLS server that answers HTTP/1.0 and closes: its end can arrive while bytes are still held.
    const closing = await listen(
      tls.createServer({ key: keyPem, cert: ca }, (sock) => {
        sock.on('error', () => undefined);
        sock.once('data', () => sock.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), BIG])));
      }),
    );
    const trusting = new GetClient({ maxIdle: 1, tls: { rejectUnauthorized: true, ca } });
    const strict = new GetClient({ maxIdle: 1, tls: { rejectUnauthorized: true } });
    const lax = new GetClient({ maxIdle: 1, tls: { rejectUnauthorized: false } });
    try {
      assert.is(sha(await body(await trusting.get(new URL(`https://localhost:${port}/big`), opts()), true)), sha(BIG));
      assert.is(sha(await body(await trusting.get(new URL(`https://localhost:${port}/chunked`), opts()))), sha(BIG));
      assert.is(sha(await body(await trusting.get(new URL(`https://localhost:${port}/chunked`), opts()), true)), sha(BIG));
      const closingPort = new URL(closing.url).port;
      assert.is(sha(await body(await trusting.get(new URL(`https://localhost:${closingPort}/x`), opts()), true)), sha(BIG));
      assert.is(sha(await body(await trusting.get(new URL(`https://localhost:${closingPort}/y`), opts()))), sha(BIG));
      await rejects(strict.get(new URL(`https://localhost:${port}/big`), opts()), /self[- ]signed/i);
      assert.is((await body(await lax.get(new URL(`${s.url}/status/200`), opts()))).toString(), 'no');
    } finally {
      for (const c of [trusting, strict, lax]) c.destroy();
      await s.close();
      await closing.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
