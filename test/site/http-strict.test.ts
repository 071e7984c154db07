/**
 * site/http-get.ts against hostile answers from a raw TCP server on 127.0.0.1: each case of
 * RFC 9112 where a client must refuse an answer or close its connection, with the verdict
 * expected — refused (and the connection closed by the client), or accepted with its body and
 * whether the connection carried the next GET.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { onRequestPaths } from '../../testkit/raw-requests.js';
import net, { type AddressInfo } from 'node:net';
import { GetClient, HttpGetError } from '../../site/http-get.js';

type Verdict = { refused: RegExp } | { body: string; reused: boolean };
interface Case {
  name: string;
  answer: string;
  /** The server closes its side after the answer (a read-until-close body). */
  close?: boolean;
  verdict: Verdict;
}

const OK = 'HTTP/1.1 200 OK\r\n';
const CHUNKED = `${OK}Transfer-Encoding: chunked\r\n\r\n`;
const CASES: Case[] = [
  // Framing that RFC 9112 forbids or that two parsers could read differently.
  { name: 'a space before the colon', answer: `${OK}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, verdict: { refused: /whitespace before the colon in the header 'Transfer-Encoding '/ } },
  { name: 'a tab before the colon', answer: `${OK}Content-Length\t: 2\r\n\r\nok`, verdict: { refused: /whitespace before the colon/ } },
  { name: 'obs-fold', answer: `${OK}X-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok`, verdict: { refused: /a folded header line \(obs-fold\) ' b'/ } },
  { name: 'obs-fold hiding a Transfer-Encoding', answer: `${OK}X-A: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nok`, verdict: { refused: /obs-fold/ } },
  { name: 'a folded first line', answer: `${OK} Content-Length: 2\r\n\r\nok`, verdict: { refused: /obs-fold/ } },
  { name: 'Content-Length and Transfer-Encoding', answer: `${OK}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, verdict: { refused: /both Content-Length and Transfer-Encoding/ } },
  { name: 'Transfer-Encoding then Content-Length', answer: `${OK}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n`, verdict: { refused: /both Content-Length and Transfer-Encoding/ } },
  { name: 'chunked-x', answer: `${OK}Transfer-Encoding: chunked-x\r\n\r\n0\r\n\r\n`, verdict: { refused: /an unsupported Transfer-Encoding 'chunked-x'/ } },
  { name: 'chunked, gzip', answer: `${OK}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, verdict: { refused: /an unsupported Transfer-Encoding 'chunked, gzip'/ } },
  { name: 'gzip, chunked (a coding we did not ask for)', answer: `${OK}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, verdict: { refused: /unsupported Transfer-Encoding 'gzip, chunked'/ } },
  { name: 'chunked twice', answer: `${OK}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, verdict: { refused: /unsupported Transfer-Encoding 'chunked, chunked'/ } },
  { name: ',chunked', answer: `${OK}Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n`, verdict: { refused: /unsupported Transfer-Encoding/ } },
  { name: 'identity', answer: `${OK}Transfer-Encoding: identity\r\n\r\nok`, verdict: { refused: /unsupported Transfer-Encoding 'identity'/ } },
  { name: 'differing Content-Lengths', answer: `${OK}Content-Length: 2\r\nContent-Length: 3\r\n\r\nokk`, verdict: { refused: /more than one Content-Length/ } },
  { name: 'equal Content-Lengths (llhttp refuses them too)', answer: `${OK}Content-Length: 2\r\nContent-Length: 2\r\n\r\nok`, verdict: { refused: /more than one Content-Length/ } },
  { name: 'a Content-Length list', answer: `${OK}Content-Length: 2, 2\r\n\r\nok`, verdict: { refused: /a bad Content-Length '2, 2'/ } },
  { name: 'a signed Content-Length', answer: `${OK}Content-Length: +2\r\n\r\nok`, verdict: { refused: /a bad Content-Length '\+2'/ } },
  { name: 'an empty Content-Length', answer: `${OK}Content-Length:\r\n\r\nok`, verdict: { refused: /a bad Content-Length ''/ } },
  // Lines and characters.
  { name: 'bare LF line ends', answer: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', verdict: { refused: /a bare LF in the response head/ } },
  { name: 'a bare LF inside the head', answer: `${OK}X-A: a\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nok`, verdict: { refused: /a bare CR or LF in the header line 'X-A: a\\nTransfer-Encoding/ } },
  { name: 'a bare CR in a value', answer: `${OK}X-A: a\rb\r\nContent-Length: 2\r\n\r\nok`, verdict: { refused: /a bare CR or LF/ } },
  { name: 'a NUL in a value', answer: `${OK}X-A: a\0b\r\nContent-Length: 2\r\n\r\nok`, verdict: { refused: /a control character in the header 'X-A'/ } },
  { name: 'a line without a colon', answer: `${OK}X-A\r\nContent-Length: 2\r\n\r\nok`, verdict: { refused: /an invalid header line 'X-A'/ } },
  { name: 'an empty header name', answer: `${OK}: x\r\nContent-Length: 2\r\n\r\nok`, verdict: { refused: /an invalid header line ': x'/ } },
  { name: 'a space inside a name', answer: `${OK}X A: b\r\nContent-Length: 2\r\n\r\nok`, verdict: { refused: /an invalid header line 'X A: b'/ } },
  { name: 'HTTP/2.0 in an HTTP/1 status line', answer: 'HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok', verdict: { refused: /not an HTTP\/1.x answer: 'HTTP\/2.0 200 OK'/ } },
  { name: 'a four-digit status', answer: 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok', verdict: { refused: /not an HTTP\/1.x answer/ } },
  { name: 'a control character in the reason', answer: 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok', verdict: { refused: /not an HTTP\/1.x answer: 'HTTP\/1.1 200 O\\u0001K'/ } },
  { name: 'a 101 nobody asked for', answer: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', verdict: { refused: /a 101 answer/ } },
  // Chunked framing.
  { name: 'whitespace before a chunk extension (llhttp refuses it)', answer: `${CHUNKED}2 ;a=b\r\nok\r\n0\r\n\r\n`, verdict: { refused: /a bad chunk size '2 ;a=b'/ } },
  { name: 'a bare LF after a chunk size', answer: `${CHUNKED}2\nok\r\n0\r\n\r\n`, verdict: { refused: /a bare LF in chunked framing/ } },
  { name: 'a chunk longer than its size', answer: `${CHUNKED}2\r\nokXX\r\n0\r\n\r\n`, verdict: { refused: /no CRLF after a chunk/ } },
  { name: 'a negative chunk size', answer: `${CHUNKED}-2\r\nok\r\n0\r\n\r\n`, verdict: { refused: /a bad chunk size '-2'/ } },
  { name: 'a chunk size that overflows', answer: `${CHUNKED}fffffffffffffffff\r\nok\r\n0\r\n\r\n`, verdict: { refused: /a bad chunk size/ } },
  { name: 'a folded trailer', answer: `${CHUNKED}0\r\nX-T: a\r\n b\r\n\r\n`, verdict: { refused: /in the trailer: a folded header line/ } },
  { name: 'a trailer without a colon', answer: `${CHUNKED}0\r\nX-T\r\n\r\n`, verdict: { refused: /in the trailer: an invalid header line/ } },
  { name: 'a Content-Length trailer', answer: `${CHUNKED}0\r\nContent-Length: 5\r\n\r\n`, verdict: { refused: /a framing field in the trailer/ } },
  // Accepted, and whether the connection may carry the next GET.
  { name: 'Chunked in capitals', answer: `${OK}Transfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`, verdict: { body: 'ok', reused: true } },
  { name: 'chunk extensions, quoted, and trailers', answer: `${CHUNKED}2;a="b c";d\r\nok\r\n0;e=f\r\nX-T: y\r\n\r\n`, verdict: { body: 'ok', reused: true } },
  { name: 'obs-text and tabs in a value', answer: `${OK}X-A: caf\xe9\tbar\r\nContent-Length: 2\r\n\r\nok`, verdict: { body: 'ok', reused: true } },
  { name: 'no reason phrase', answer: 'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok', verdict: { body: 'ok', reused: true } },
  { name: 'HTTP/1.0 with keep-alive', answer: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok', verdict: { body: 'ok', reused: true } },
  { name: 'HTTP/1.0 without keep-alive', answer: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', verdict: { body: 'ok', reused: false } },
  { name: 'Connection: keep-alive, close', answer: `${OK}Connection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok`, verdict: { body: 'ok', reused: false } },
  { name: 'bytes past the body', answer: `${OK}Content-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno`, verdict: { body: 'ok', reused: false } },
  { name: 'a body read until close', answer: `${OK}X-A: b\r\n\r\nuntil the end`, close: true, verdict: { body: 'until the end', reused: false } },
  { name: 'a 204 with a chunked header has no body', answer: 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n', verdict: { body: '', reused: true } },
  { name: '1xx heads skipped', answer: `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n${OK}Content-Length: 2\r\n\r\nok`, verdict: { body: 'ok', reused: true } },
];

/** Per connection, the paths it carried; open connections by id. */
interface Raw {
  url: string;
  paths: Map<number, string[]>;
  open: Set<number>;
  close: () => Promise<void>;
}

/** `GET /case/N` answers CASES[N]; any other path a plain 200 "ok". */
async function rawServer(): Promise<Raw> {
  const paths = new Map<number, string[]>();
  const open = new Set<number>();
  const sockets = new Set<net.Socket>();
  let ids = 0;
  const server = net.createServer((sock) => {
    const id = ids++;
    paths.set(id, []);
    open.add(id);
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      open.delete(id);
      sockets.delete(sock);
    });
    onRequestPaths(sock, (path) => {
      paths.get(id)?.push(path);
      const c = /^\/case\/(\d+)$/.exec(path);
      const known = c ? CASES[Number(c[1])] : undefined;
      if (known) {
        sock.write(Buffer.from(known.answer, 'latin1'));
        if (known.close) sock.end();
      } else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    open,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const opts = () => ({ headers: {}, timeoutMs: 5000, signal: AbortSignal.timeout(10_000) });

function connectionOf(s: Raw, path: string): number {
  for (const [id, list] of s.paths) if (list.includes(path)) return id;
  throw new Error(`no connection carried ${path}`);
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('hostile answers: refused with a reason and the connection closed, or accepted with the right reuse', async () => {
  const s = await rawServer();
  const client = new GetClient({ maxIdle: 1 });
  try {
    for (const [i, c] of CASES.entries()) {
      const path = `/case/${i}`;
      let outcome: string | Error;
      try {
        const res = await client.get(new URL(s.url + path), opts());
        const chunks: Buffer[] = [];
        await res.read((b) => void chunks.push(Buffer.from(b)));
        outcome = Buffer.concat(chunks).toString('latin1');
      } catch (err) {
        outcome = err as Error;
      }
      const conn = connectionOf(s, path);
      if ('refused' in c.verdict) {
        assert.instance(outcome, HttpGetError, `${c.name}: expected a refusal, got ${JSON.stringify(outcome)}`);
        const err = outcome as HttpGetError;
        assert.match(err.message, c.verdict.refused, `${c.name}: ${err.message}`);
        assert.is(err.code, 'protocol', c.name);
        // The client, not the server, ends the connection of a refused answer.
        await until(() => !s.open.has(conn), `${c.name}: the client to close its connection`);
      } else {
        assert.is(outcome, c.verdict.body, c.name);
      }
      const next = `/next/${i}`;
      const res = await client.get(new URL(s.url + next), opts());
      await res.read(() => undefined);
      const reused = connectionOf(s, next) === conn;
      assert.is(reused, 'reused' in c.verdict ? c.verdict.reused : false, `${c.name}: connection reused`);
    }
  } finally {
    client.destroy();
    await s.close();
  }
});

test('an answer refused while its head arrives byte by byte is refused the same way', async () => {
  // The bare-LF check runs on a partial head: without it this answer would wait for the timeout.
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.once('data', () => sock.write('HTTP/1.1 200 OK\nContent-Length: 2\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new GetClient({ maxIdle: 1 });
  try {
    const port = (server.address() as AddressInfo).port;
    const err = await client.get(new URL(`http://127.0.0.1:${port}/`), { headers: {}, timeoutMs: 60_000, signal: AbortSignal.timeout(60_000) }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    assert.instance(err, HttpGetError);
    assert.match(err?.message ?? '', /a bare LF in the response head/);
  } finally {
    client.destroy();
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test.run();
