/**
 * A real Git smart-HTTP server for tests: a node http server on 127.0.0.1:0 that runs
 * `git http-backend` (from the git package) as CGI for every request, over bare repositories under
 * `reposRoot`. Push (receive-pack) is enabled. Optional basic auth, and a hook that runs before a
 * push is handed to git, so that a test can slip in a concurrent push deterministically.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where Debian's git package puts the CGI program. */
export const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface GitServerOptions {
  /** Require basic auth with these credentials (401 otherwise). */
  auth?: { username: string; password: string };
  /** Runs before a receive-pack POST (a push) reaches git; `repo` is the path under the root. */
  beforePush?: (repo: string) => Promise<void>;
}

export interface RunningGitServer {
  /** `http://127.0.0.1:PORT`; a repository `x.git` under the root is at `${url}/x.git`. */
  url: string;
  /** Request lines seen so far (`METHOD /path?query`), for tests that count fetches. */
  requests(): string[];
  close(): Promise<void>;
}

/** Start the server; close it in `after`. */
export async function startGitServer(reposRoot: string, options: GitServerOptions = {}): Promise<RunningGitServer> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`git-server: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    let user = 'anonymous';
    if (options.auth) {
      const header = req.headers.authorization ?? '';
      const [scheme, b64] = header.split(' ');
      const [u, ...p] = Buffer.from(b64 ?? '', 'base64').toString().split(':');
      if (scheme !== 'Basic' || u !== options.auth.username || p.join(':') !== options.auth.password) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' });
        res.end('unauthorized\n');
        return;
      }
      user = u;
    }
    if (req.method === 'POST' && url.pathname.endsWith('/git-receive-pack') && options.beforePush) {
      await options.beforePush(url.pathname.replace(/^\//, '').replace(/\/git-receive-pack$/, ''));
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_PROJECT_ROOT: reposRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_USER: user,
      REMOTE_ADDR: '127.0.0.1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string') env['HTTP_' + k.toUpperCase().replace(/-/g, '_')] = v;
    }
    const child = spawn(GIT_HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    req.pipe(child.stdin);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      const endLf = head.indexOf('\n\n');
      const cut = end >= 0 ? end : endLf;
      if (cut < 0) return;
      const sep = end >= 0 ? 4 : 2;
      const lines = head.subarray(0, cut).toString().split(/\r?\n/);
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      headersDone = true;
      const rest = head.subarray(cut + sep);
      if (rest.length) res.write(rest);
    });
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        if (!headersDone) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`git http-backend exited ${code}: ${stderr}`);
        } else res.end();
        resolve();
      });
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => [...seen],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
