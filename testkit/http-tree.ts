/**
 * A real HTTP server on 127.0.0.1:0 that serves a directory (an "upstream tree"), counts the body
 * bytes it sends, records request paths, and can misbehave per path for fault tests.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How to misbehave for one path. */
export type Fault =
  /** Send bytes of the right length but different content. */
  | { kind: 'wrong-bytes' }
  /** Send only the first `bytes` bytes (default half) with a Content-Length that says so. */
  | { kind: 'truncate'; bytes?: number }
  /** Announce the full length, send part of the body, then close the connection. */
  | { kind: 'close-mid-body' }
  /** Wait `ms` before answering. */
  | { kind: 'delay'; ms: number }
  /** Answer this status with no body. */
  | { kind: 'status'; status: number }
  /** Answer 302 with this Location. */
  | { kind: 'redirect'; location: string };

export interface ServeTreeOptions {
  /** Faults by URL path relative to the root (`sub/c.bin`). */
  faults?: Record<string, Fault>;
  /** Serve https with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

export interface TreeServer {
  url: string;
  bytesServed(): number;
  requests(): string[];
  /** Set or clear (null) the fault of a path while running. */
  setFault(relPath: string, fault: Fault | null): void;
  close(): Promise<void>;
}

export async function serveTree(dir: string, opts: ServeTreeOptions = {}): Promise<TreeServer> {
  const root = path.resolve(dir);
  const faults = new Map(Object.entries(opts.faults ?? {}));
  let served = 0;
  const seen: string[] = [];
  // Delays end when the client goes away or the server closes, so no timer outlives a test.
  const closing = new AbortController();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    void (async () => {
      const rel = decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\/+/, ''));
      seen.push(rel);
      const file = path.resolve(root, rel);
      if (!file.startsWith(root + path.sep)) {
        res.writeHead(403).end();
        return;
      }
      const fault = faults.get(rel);
      if (fault?.kind === 'delay') {
        const gone = new AbortController();
        res.on('close', () => gone.abort());
        const ok = await sleep(fault.ms, true, { signal: AbortSignal.any([gone.signal, closing.signal]) }).catch(() => false);
        if (!ok) return void res.destroy();
      }
      if (fault?.kind === 'redirect') {
        res.writeHead(302, { Location: fault.location, 'Content-Length': 0 }).end();
        return;
      }
      if (fault?.kind === 'status') {
        res.writeHead(fault.status, { 'Content-Length': 0 }).end();
        return;
      }
      let size: number;
      try {
        const st = await stat(file);
        if (!st.isFile()) throw new Error('not a file');
        size = st.size;
      } catch {
        res.writeHead(404, 'File not found', { 'Content-Type': 'text/plain', 'Content-Length': 9 }).end('not found');
        return;
      }
      if (fault?.kind === 'wrong-bytes') {
        const body = Buffer.alloc(size, 0x5a);
        served += body.length;
        res.writeHead(200, { 'Content-Length': size }).end(body);
        return;
      }
      if (fault?.kind === 'truncate') {
        const n = fault.bytes ?? Math.floor(size / 2);
        const body = (await readFile(file)).subarray(0, n);
        served += body.length;
        res.writeHead(200, { 'Content-Length': body.length }).end(body);
        return;
      }
      if (fault?.kind === 'close-mid-body') {
        const body = (await readFile(file)).subarray(0, Math.floor(size / 2));
        res.writeHead(200, { 'Content-Length': size });
        served += body.length;
        res.write(body, () => res.destroy());
        return;
      }
      res.writeHead(200, { 'Content-Length': size, 'Content-Type': 'application/octet-stream' });
      if (req.method === 'HEAD') return void res.end();
      const stream = createReadStream(file);
      stream.on('data', (c) => (served += (c as Buffer).length));
      stream.pipe(res);
    })().catch(() => res.destroy());
  };
  const server = opts.tls ? https.createServer(opts.tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    bytesServed: () => served,
    requests: () => [...seen],
    setFault: (p, f) => (f ? faults.set(p, f) : faults.delete(p)),
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
