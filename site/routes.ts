/**
 * The API's route table (pulp-api.md §2): every path the site answers under `/pulp/api/v3/` and
 * the methods each takes. The server derives from it both the dispatch and the `Allow` header
 * every API answer carries (401s and 404s of a known route included, as DRF's do); a method a
 * route does not list is a 405 before the handler runs, as DRF answers it.
 *
 * Handlers are the per-collection modules; the `rest` they receive is the path after the
 * collection, as before.
 */
import { RouteTable, type Method } from '../core/routes.js';
import { artifacts, content, orphansCleanup } from './api-content.js';
import { distributions, publications } from './api-distributions.js';
import { remotes } from './api-remotes.js';
import { repositories } from './api-repositories.js';
import { apiRoot, status } from './api-status.js';
import { tasks } from './api-tasks.js';
import type { Ctx } from './http.js';
import type { Site } from './site.js';

type Handler = (site: Site, ctx: Ctx, params: Record<string, string>) => Promise<void> | void;

/** The same handler for each of `methods`. */
function on(methods: readonly Method[], handler: Handler): Partial<Record<Method, Handler>> {
  return Object.fromEntries(methods.map((m) => [m, handler]));
}

type Collection = (site: Site, ctx: Ctx, rest: string[]) => Promise<void>;

const LIST: readonly Method[] = ['GET', 'POST'];
const READ: readonly Method[] = ['GET'];
const DETAIL: readonly Method[] = ['GET', 'PUT', 'PATCH', 'DELETE'];
const READ_DELETE: readonly Method[] = ['GET', 'DELETE'];
const ACTION: readonly Method[] = ['POST'];

const id = (p: Record<string, string>): string => p.id ?? '';

/** `prefix/` and `prefix/:id/`, handled by one collection module. */
function collection(prefix: string, handler: Collection, list: readonly Method[], detail: readonly Method[]) {
  return [
    { path: `${prefix}/`, handlers: on(list, (site, ctx) => handler(site, ctx, [])) },
    { path: `${prefix}/:id/`, handlers: on(detail, (site, ctx, p) => handler(site, ctx, [id(p)])) },
  ];
}

const REPOS = 'repositories/file/file';

/** Paths are relative to `/pulp/api/v3/`, with their trailing slash. */
export const API_ROUTES = new RouteTable<Handler>(
  [
    { path: '', handlers: on(READ, (_site, ctx) => apiRoot(ctx)) },
    { path: 'status/', handlers: on(READ, (site, ctx) => status(site, ctx)) },
    ...collection(REPOS, repositories, LIST, DETAIL),
    { path: `${REPOS}/:id/versions/`, handlers: on(READ, (site, ctx, p) => repositories(site, ctx, [id(p), 'versions'])) },
    { path: `${REPOS}/:id/versions/:number/`, handlers: on(READ_DELETE, (site, ctx, p) => repositories(site, ctx, [id(p), 'versions', p.number ?? ''])) },
    { path: `${REPOS}/:id/sync/`, handlers: on(ACTION, (site, ctx, p) => repositories(site, ctx, [id(p), 'sync'])) },
    { path: `${REPOS}/:id/modify/`, handlers: on(ACTION, (site, ctx, p) => repositories(site, ctx, [id(p), 'modify'])) },
    ...collection('remotes/file/file', remotes, LIST, DETAIL),
    ...collection('publications/file/file', publications, LIST, READ_DELETE),
    ...collection('distributions/file/file', distributions, LIST, DETAIL),
    // Content and artifact uploads (POST) are Pulp's and listed in its Allow; the site answers them 405.
    ...collection('content/file/files', content, LIST, READ),
    ...collection('tasks', tasks, READ, ['GET', 'PATCH', 'DELETE']),
    ...collection('artifacts', artifacts, LIST, READ_DELETE),
    { path: 'orphans/cleanup/', handlers: on(ACTION, (site, ctx) => orphansCleanup(site, ctx)) },
  ],
  { always: ['OPTIONS'] },
);
