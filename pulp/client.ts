/**
 * The REST client for one Pulp site (real Pulp 3 or `pulpdist site`): the `PulpClient` that
 * reconcilers are given. It owns pagination, task following, retries and auth, so that callers
 * never see a page, a 202 or a header. Hrefs are opaque: used exactly as the server gave them,
 * joined to the site's origin, never built from ids.
 */
import { ConfigError } from '../core/errors.js';
import { TASK_HOLD_HEADER } from '../core/task-hold.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { SiteSpec } from '../spec/types.js';
import { siteCredentials } from './auth.js';
import { isPulpNotFound, PulpProtocolError } from './errors.js';
import { listAll } from './pagination.js';
import { TaskTiming } from './task-timing.js';
import { followTask } from './tasks.js';
import { createTransport, type Method, type Transport, type TransportAnswer, type TransportRequest } from './transport.js';
import type {
  Artifact,
  CallOptions,
  DeleteResult,
  FileContent,
  FileDistribution,
  FilePublication,
  FileRemote,
  FileRepository,
  Href,
  ListFilter,
  PublishedManifest,
  PulpClient,
  PulpObject,
  PulpStatus,
  RepositoryVersion,
  Task,
  TaskCallOptions,
} from './types.js';

export interface PulpClientOptions {
  /** Where `passwordEnv` is looked up. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** @default silentLogger */
  log?: Logger;
  /** Time allowed for one HTTP request, answer included. @default 30_000 */
  requestTimeoutMs?: number;
  /** Retries of a safe call (GET) after a connection error, 429 or 5xx. @default 4 */
  retries?: number;
  /** First retry delay; doubles per retry, with jitter. @default 250 */
  retryBaseMs?: number;
  /** Longest retry delay, also the cap on a server's Retry-After. @default 10_000 */
  retryMaxMs?: number;
  /** Shortest delay between task polls; later ones are a quarter of the time waited so far, up to `taskPollMaxMs`. @default 50 */
  taskPollMinMs?: number;
  /** Longest delay between task polls. @default 2_000 */
  taskPollMaxMs?: number;
  /** How long to wait for a task before cancelling it (per call: `TaskCallOptions.timeoutMs`). @default 3_600_000 */
  taskTimeoutMs?: number;
  /**
   * A task still `waiting` with no worker after this long makes the client read status/ (again
   * every this long); with no online worker it cancels the task and throws PulpNoWorkerError
   * (pulp/tasks.ts says why). Pulp drops a dead worker from status/ after 30 s. @default 30_000
   */
  taskNoWorkerCheckMs?: number;
  /** Objects asked for per list page; large so that observing thousands of objects takes few requests. @default 1000 */
  pageSize?: number;
  /**
   * Called before every request that changes something (not GET or HEAD); it throws to refuse it
   * (controller/lease.ts: a replica that lost its lease writes nothing).
   */
  beforeWrite?: () => void;
}

/** The defaults of `PulpClientOptions`. */
export const PULP_CLIENT_DEFAULTS = {
  requestTimeoutMs: 30_000,
  retries: 4,
  retryBaseMs: 250,
  retryMaxMs: 10_000,
  taskPollMinMs: 50,
  taskPollMaxMs: 2_000,
  taskTimeoutMs: 3_600_000,
  taskNoWorkerCheckMs: 30_000,
  pageSize: 1000,
} as const;

/** The list endpoint of each kind, relative to the API root. */
export const KIND_PATHS = {
  repository: 'repositories/file/file/',
  remote: 'remotes/file/file/',
  publication: 'publications/file/file/',
  distribution: 'distributions/file/file/',
  content: 'content/file/files/',
  task: 'tasks/',
  status: 'status/',
} as const;

type Kind = keyof typeof KIND_PATHS;

/** A client for `site`. Reads no secret until the first call that needs one. */
export function createPulpClient(site: SiteSpec, options: PulpClientOptions = {}): PulpClient {
  const { env = process.env, log = silentLogger, ...rest } = options;
  const o = { ...PULP_CLIENT_DEFAULTS, ...withoutUndefined(rest) };
  validateOptions(o);

  const name = site.name;
  const apiRootUrl = apiRoot(site);
  const origin = apiRootUrl.origin;
  const contentBase = (site.pulp.contentOrigin || site.pulp.url).replace(/\/+$/, '');
  const transport: Transport = createTransport({
    site: name,
    apiOrigin: origin,
    credentials: siteCredentials(site, env),
    log,
    requestTimeoutMs: o.requestTimeoutMs,
    retries: o.retries,
    retryBaseMs: o.retryBaseMs,
    retryMaxMs: o.retryMaxMs,
    tlsValidation: site.pulp.tlsValidation !== false,
  });

  const kindUrl = (kind: Kind) => new URL(KIND_PATHS[kind], apiRootUrl);
  const hrefUrl = (href: Href) => {
    if (typeof href !== 'string' || href === '') {
      throw new PulpProtocolError({ site: name, method: 'GET', url: origin, problem: `expected an href, got ${JSON.stringify(href)}` });
    }
    return new URL(href, origin);
  };

  async function call<T>(req: TransportRequest & { expect: number[] }): Promise<T> {
    return (await answerOf(req)).body as T;
  }

  /** Send `req`; its answer once it is one of `expect` with a JSON body, else a PulpProtocolError. */
  async function answerOf(req: TransportRequest & { expect: number[] }): Promise<TransportAnswer> {
    if (req.method !== 'GET' && req.method !== 'HEAD') options.beforeWrite?.();
    const answer = await transport.request(req);
    if (!req.expect.includes(answer.status) || answer.body === null || typeof answer.body !== 'object') {
      throw new PulpProtocolError({
        site: name,
        method: req.method,
        url: req.url.href,
        // "expected 200 with a JSON body, got 200" would hide what came back: say what it was.
        problem: req.expect.includes(answer.status)
          ? `answered ${answer.status} with ${String(answer.headers['content-type'] ?? 'no content type').split(';')[0]}, not JSON; is a proxy or a login page in the way?`
          : `expected ${req.expect.join(' or ')} with a JSON body, got ${answer.status}`,
      });
    }
    return answer;
  }

  const get = <T>(url: URL, opts?: CallOptions) => call<T>({ method: 'GET', url, expect: [200], signal: opts?.signal });
  const list = <T extends PulpObject>(kind: Kind, filter?: ListFilter, opts?: CallOptions) =>
    listAll<T>(transport, kindUrl(kind), filter, { pageSize: o.pageSize, signal: opts?.signal, site: name });

  const getTask = (href: Href, opts?: CallOptions) => get<Task>(hrefUrl(href), opts);
  const cancelTask = (href: Href, opts?: CallOptions) =>
    // 409 carries the task unchanged when it had already finished; callers read its state.
    call<Task>({ method: 'PATCH', url: hrefUrl(href), json: { state: 'canceled' }, accept: [409], expect: [200, 409], signal: opts?.signal });

  /** Whether this site holds task polls (core/task-hold.ts): said by its 202s and its held polls. */
  let holdsPolls = false;
  /** A 202 naming a task: a site that holds polls says so on it (real Pulp never does). */
  const accepted = (answer: TransportAnswer) => {
    if (answer.headers[TASK_HOLD_HEADER] !== undefined) holdsPolls = true;
    return answer.body as Record<string, unknown>;
  };
  /** A poll that asks the site to hold its answer; real Pulp ignores the header and answers at once. */
  const pollTask = async (href: Href, holdMs: number, signal?: AbortSignal): Promise<Task> => {
    // Never asked to hold past half the request timeout: a held answer must not look like a dead site.
    const hold = Math.min(holdMs, Math.floor(o.requestTimeoutMs / 2));
    const answer = await answerOf({ method: 'GET', url: hrefUrl(href), expect: [200], headers: { [TASK_HOLD_HEADER]: String(hold) }, signal });
    holdsPolls = answer.headers[TASK_HOLD_HEADER] !== undefined;
    return answer.body as Task;
  };

  const timing = new TaskTiming();
  /**
   * `dispatched`: the call (e.g. `POST sync`) whose task Pulp hands to a worker, so the first poll
   * waits (task-timing.ts says how long); undefined for immediate tasks, polled at once.
   */
  const follow = async (href: Href, opts: TaskCallOptions = {}, dispatched?: string): Promise<Task> => {
    const task = await followTask(
      href,
      {
        site: name,
        log,
        getTask: (h, signal, holdMs) => (holdMs ? pollTask(h, holdMs, signal) : getTask(h, { signal })),
        holdsPolls: () => holdsPolls,
        cancelTask: (h, signal) => cancelTask(h, { signal }),
        firstPollMs: dispatched ? timing.firstPollMs(dispatched, o.taskPollMinMs) : 0,
        pollMinMs: o.taskPollMinMs,
        pollMaxMs: Math.max(o.taskPollMinMs, Math.min(o.taskPollMaxMs, opts.pollMaxMs ?? Infinity)),
        timeoutMs: o.taskTimeoutMs,
        cancelTimeoutMs: o.requestTimeoutMs,
        // Only a worker's task can wait for a worker; an immediate one never does.
        ...(dispatched ? { noWorker: { afterMs: o.taskNoWorkerCheckMs, onlineWorkers: (signal?: AbortSignal) => status({ signal }).then(onlineWorkerCount) } } : {}),
      },
      opts,
    );
    if (dispatched) timing.record(dispatched, task);
    return task;
  };

  /** A call Pulp answers `202 {task}`: send it, then follow the task to its end. */
  async function viaTask(method: Method, url: URL, json: unknown, opts: TaskCallOptions = {}): Promise<Task> {
    const answer = accepted(await answerOf({ method, url, json, expect: [202], signal: opts.signal }));
    if (typeof answer.task !== 'string') {
      throw new PulpProtocolError({ site: name, method, url: url.href, problem: '202 answer names no task' });
    }
    // Updates and deletes are immediate tasks in Pulp; a POST (sync) goes to a worker.
    return follow(answer.task, opts, method === 'POST' ? `${method} ${url.pathname.replace(/[0-9a-f-]{36}/g, '*')}` : undefined);
  }

  /** The object a finished task created, found by its kind's href prefix (never by position). */
  async function created<T>(task: Task, kind: Kind, opts: CallOptions): Promise<T> {
    const prefix = kindUrl(kind).pathname;
    const href = (task.created_resources ?? []).find((h): h is string => typeof h === 'string' && h.startsWith(prefix));
    if (!href) {
      throw new PulpProtocolError({
        site: name,
        method: 'GET',
        url: hrefUrl(task.pulp_href).href,
        problem: `task completed without creating a ${kind} (created_resources: ${JSON.stringify(task.created_resources)})`,
      });
    }
    return get<T>(hrefUrl(href), opts);
  }

  /** POST a new object: 201 gives it at once (repositories, remotes); 202 gives a task that creates it. */
  async function create<T>(kind: Kind, body: unknown, opts: TaskCallOptions = {}): Promise<T> {
    const url = kindUrl(kind);
    const answer = accepted(await answerOf({ method: 'POST', url, json: body, expect: [201, 202], signal: opts.signal }));
    if (typeof answer.pulp_href === 'string') return answer as T;
    if (typeof answer.task === 'string') return created<T>(await follow(answer.task, opts, `create ${kind}`), kind, opts);
    throw new PulpProtocolError({ site: name, method: 'POST', url: url.href, problem: 'answer is neither an object nor a task' });
  }

  /** DELETE an object (a task in Pulp); 404 counts as deleted: someone was first, the goal holds. */
  async function remove(href: Href, opts: TaskCallOptions = {}): Promise<DeleteResult> {
    try {
      return { result: 'deleted', task: await viaTask('DELETE', hrefUrl(href), undefined, opts) };
    } catch (err) {
      if (isPulpNotFound(err)) return { result: 'already-gone' };
      throw err;
    }
  }

  function status(opts?: CallOptions): Promise<PulpStatus> {
    return call<PulpStatus>({ method: 'GET', url: kindUrl('status'), auth: 'optional', expect: [200], signal: opts?.signal });
  }

  return {
    site: name,

    status,
    cleanupOrphans: (body, opts) => viaTask('POST', new URL('orphans/cleanup/', apiRootUrl), { orphan_protection_time: body.protectionMinutes }, opts),

    listRepositories: (filter, opts) => list<FileRepository>('repository', filter, opts),
    createRepository: (body, opts) => create<FileRepository>('repository', body, opts),
    updateRepository: (href, patch, opts) => viaTask('PATCH', hrefUrl(href), patch, opts),
    deleteRepository: remove,
    syncRepository: (href, body, opts) => viaTask('POST', new URL('sync/', hrefUrl(href)), withoutUndefined(body), opts),
    getVersion: (href, opts) => get<RepositoryVersion>(hrefUrl(href), opts),
    listVersions: (versionsHref, filter, opts) =>
      listAll<RepositoryVersion>(transport, hrefUrl(versionsHref), filter, { pageSize: o.pageSize, signal: opts?.signal, site: name }),

    listRemotes: (filter, opts) => list<FileRemote>('remote', filter, opts),
    createRemote: (body, opts) => create<FileRemote>('remote', body, opts),
    updateRemote: (href, patch, opts) => viaTask('PATCH', hrefUrl(href), patch, opts),
    deleteRemote: remove,

    listPublications: (filter, opts) => list<FilePublication>('publication', filter, opts),
    createPublication: (body, opts) => create<FilePublication>('publication', withoutUndefined(body), opts),

    listDistributions: (filter, opts) => list<FileDistribution>('distribution', filter, opts),
    createDistribution: (body, opts) => create<FileDistribution>('distribution', body, opts),
    updateDistribution: (href, patch, opts) => viaTask('PATCH', hrefUrl(href), patch, opts),
    deleteDistribution: remove,

    listContent: (filter, opts) => list<FileContent>('content', filter, opts),
    getArtifact: (href, opts) => get<Artifact>(hrefUrl(href), opts),
    getTask,
    cancelTask,
    listTasks: (filter, opts) => list<Task>('task', filter, opts),
    awaitTask: (href, opts) => follow(href, opts),

    async getPublishedManifest(basePath, opts = {}) {
      const path = basePath.split('/').filter(Boolean).map(encodeURIComponent).join('/');
      const url = new URL(`${contentBase}/pulp/content/${path}/PULP_MANIFEST`);
      const answer = await transport.request({
        method: 'GET',
        url,
        // The content app is public; credentials never go there (it may be another host).
        auth: 'none',
        followRedirect: true,
        headers: { accept: '*/*', ...(opts.etag ? { 'if-none-match': opts.etag } : {}) },
        accept: [304, 404],
        signal: opts.signal,
      });
      if (answer.status === 404) return null;
      if (answer.status === 304) return 'not-modified';
      const etag = answer.headers.etag;
      return { text: answer.text, etag: typeof etag === 'string' ? etag : null } satisfies PublishedManifest;
    },
  };
}

/** The API root URL of a site: `url` + `apiRoot` (default `/pulp/api/v3/`), always ending in `/`. */
export function apiRoot(site: SiteSpec): URL {
  let root = site.pulp.apiRoot || '/pulp/api/v3/';
  if (!root.startsWith('/')) root = '/' + root;
  if (!root.endsWith('/')) root += '/';
  try {
    return new URL(root, site.pulp.url);
  } catch (err) {
    throw new ConfigError(`site "${site.name}": spec.pulp.url is not a valid URL`, { cause: err });
  }
}

/** Online workers status/ lists (reconcilers/site-health.ts onlineWorkersOf reads them the same way). */
function onlineWorkerCount(s: PulpStatus): number {
  return Array.isArray(s.online_workers) ? s.online_workers.length : 0;
}

function validateOptions(o: typeof PULP_CLIENT_DEFAULTS extends infer D ? { [K in keyof D]: number } : never): void {
  const minimum: Record<keyof typeof PULP_CLIENT_DEFAULTS, number> = {
    requestTimeoutMs: 1,
    retries: 0,
    retryBaseMs: 0,
    retryMaxMs: 0,
    taskPollMinMs: 1,
    taskPollMaxMs: 1,
    taskTimeoutMs: 1,
    taskNoWorkerCheckMs: 1,
    pageSize: 1,
  };
  for (const [key, min] of Object.entries(minimum) as [keyof typeof minimum, number][]) {
    const v = o[key];
    if (!Number.isInteger(v) || v < min) {
      throw new ConfigError(`PulpClientOptions.${key} must be an integer ≥ ${min}, got ${JSON.stringify(v)} (${typeof v})`);
    }
  }
}

function withoutUndefined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}
