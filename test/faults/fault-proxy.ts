/**
 * A real HTTP proxy on a fixed 127.0.0.1 port in front of a `pulpdist site`, so that a Site spec can
 * name one URL while a test makes the site behind it refuse connections (the port stops
 * listening), answer 503, hang, or move (a restarted site gets a new port; `setTarget` follows it).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProxyMode =
  /** Forward everything. */
  | 'pass'
  /** Stop listening: connections are refused (ECONNREFUSED). */
  | 'refuse'
  /** Answer 503 Service Unavailable to every request. */
  | '503'
  /** Accept and never answer (until the mode changes or the client gives up). */
  | 'hang'
  /** Answer 200 with an HTML page, as a captive portal or a login proxy in the way would. */
  | 'html';

export interface FaultProxy {
  /** `http://127.0.0.1:PORT`, stable across modes. */
  url: string;
  /** Requests seen, as `METHOD path`, in order (refused connections are not seen). */
  requests(): string[];
  setMode(mode: ProxyMode): Promise<void>;
  /** Forward to another origin from now on (a restarted site). */
  setTarget(target: string): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  let to = new URL(target);
  let mode: ProxyMode = 'pass';
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const hung = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (mode === '503') {
      req.resume();
      res.writeHead(503, { 'Content-Type': 'text/plain', 'Content-Length': 20 }).end('Service Unavailable\n');
      return;
    }
    if (mode === 'html') {
      req.resume();
      const page = '<html><body>Please log in to continue</body></html>\n';
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(page) }).end(page);
      return;
    }
    if (mode === 'hang') {
      req.resume();
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    const up = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: `${to.hostname}:${to.port}` } },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on('error', () => res.destroy());
      },
    );
    up.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502, { 'Content-Length': 0 }).end()));
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dropAll = (): void => {
    for (const r of hung) r.destroy();
    for (const s of sockets) s.destroy();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => [...seen],
    async setMode(next) {
      if (next === mode) return;
      if (mode === 'refuse') await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
      if (next === 'refuse') {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        dropAll();
        await closed;
      }
      // Leaving 'hang' drops what was held, as a recovering server would.
      if (mode === 'hang') for (const r of hung) r.destroy();
      mode = next;
    },
    setTarget(t) {
      to = new URL(t);
    },
    async close() {
      if (mode === 'refuse') return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      dropAll();
      await closed;
    },
  };
}
