/**
 * A tiny real HTTP server on 127.0.0.1:0 for the client's fault paths (503, 429, dropped
 * connections, tasks that never end): things a healthy `pulpdist site` will not do on request.
 * Every request is recorded with its method, URL, headers and body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SiteSpec } from '../../spec/types.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The client's port: equal for requests that shared a connection. */
  clientPort: number;
}

export type Handler = (req: SeenRequest, res: http.ServerResponse) => void;

export interface FaultServer {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** Start a server answering with `handler`; close it in `finally`/`after`. */
export async function startFaultServer(handler: Handler): Promise<FaultServer> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, clientPort: req.socket.remotePort ?? 0 };
      seen.push(r);
      handler(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answer JSON the way Pulp does (compact, application/json). */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A Site spec pointing at `url`. */
export function siteAt(url: string, extra: Partial<SiteSpec['pulp']> = {}, name = 'test'): SiteSpec {
  return {
    name,
    labels: {},
    pulp: { url, apiRoot: '/pulp/api/v3/', contentOrigin: url, tlsValidation: true, ...extra },
    limits: { concurrentSyncs: 2, downloadConcurrency: 10 },
    position: { file: 'sites.yaml', line: 1, column: 1 },
  };
}

/** A list envelope as Pulp gives it. */
export function page(results: unknown[], next: string | null = null): Record<string, unknown> {
  return { count: results.length, next, previous: null, results };
}

/** A task document in `state`, shaped like real Pulp's (`14-sync-repo1-task-poll1`). */
export function taskDoc(href: string, state: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pulp_href: href,
    pulp_created: '2026-11-24T17:25:24.306439Z',
    state,
    name: 'pulp_file.app.tasks.synchronizing.synchronize',
    logging_cid: '158fc822464b49c0aed8f571b8981638',
    started_at: '2026-11-24T17:25:24.336678Z',
    finished_at: state === 'running' || state === 'waiting' || state === 'canceling' ? null : '2026-11-24T17:25:24.464709Z',
    error: null,
    worker: null,
    parent_task: null,
    child_tasks: [],
    task_group: null,
    progress_reports: [],
    created_resources: [],
    reserved_resources_record: [],
    ...extra,
  };
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}
