/**
 * A counting reverse proxy for `bench:plan`: the specs point each site's API and content origin at
 * one of these, so the benchmark counts exactly the HTTP requests `pulpdist plan` makes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingProxy {
  url: string;
  /** Requests since the last reset, by kind; `tasks` (GETs of a task: polls) are also counted in `api`. */
  counts(): { api: number; content: number; tasks: number };
  reset(): void;
  close(): Promise<void>;
}

/** Forward every request to `target` (an http://host:port origin), counting them. Port 0 = any free port. */
export async function startCountingProxy(target: string, port = 0): Promise<CountingProxy> {
  const t = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let api = 0;
  let content = 0;
  let tasks = 0;
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').startsWith('/pulp/content/')) content++;
    else api++;
    if (req.method === 'GET' && /^\/pulp\/api\/v3\/tasks\/[^/?]+\//.test(req.url ?? '')) tasks++;
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host }, agent },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    counts: () => ({ api, content, tasks }),
    reset: () => {
      api = 0;
      content = 0;
      tasks = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
