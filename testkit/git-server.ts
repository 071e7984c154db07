/**
 * A real Git smart-HTTP server for tests: a node http server on 127.0.0.1:0 that runs
 * `git http-backend` (from the git package) as CGI for every request, over bare repositories under
 * `reposRoot`. Push (receive-pack) is enabled. Optional basic auth, and a hook that runs before a
 * push is handed to git, so that a test can slip in a concurrent push deterministically.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
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

/** Run the git CLI (the tests' stand-in for a person or CI pushing); throws with stderr on failure. */
export function runGit(args: string[], cwd: string, env: Record<string, string> = {}): string {
  const r = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      ...env,
    },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * A bare repository `NAME.git` under `root` and a work clone `NAME-work` with `files` committed
 * on `main` and pushed. Returns both paths.
 */
export function makeRepo(root: string, name: string, files: Record<string, string>): { bare: string; work: string } {
  const bare = path.join(root, `${name}.git`);
  const work = path.join(root, `${name}-work`);
  runGit(['init', '-q', '--bare', '-b', 'main', bare], root);
  runGit(['init', '-q', '-b', 'main', work], root);
  writeFiles(work, files);
  runGit(['add', '-A'], work);
  runGit(['commit', '-q', '-m', 'initial specs'], work);
  runGit(['remote', 'add', 'origin', bare], work);
  runGit(['push', '-q', 'origin', 'main'], work);
  return { bare, work };
}

/** Write files (paths relative to `dir`; a null content deletes). */
export function writeFiles(dir: string, files: Record<string, string | null>): void {
  for (const [p, text] of Object.entries(files)) {
    const full = path.join(dir, p);
    if (text === null) fs.rmSync(full, { force: true });
    else {
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, text);
    }
  }
}

/** Commit everything in `work` and push it (`force` for a rewritten history). */
export function commitAndPush(work: string, message: string, opts: { amend?: boolean; force?: boolean } = {}): string {
  runGit(['add', '-A'], work);
  runGit(['commit', '-q', ...(opts.amend ? ['--amend'] : []), '-m', message], work);
  runGit(['push', '-q', ...(opts.force ? ['-f'] : []), 'origin', 'main'], work);
  return runGit(['rev-parse', 'HEAD'], work);
}
