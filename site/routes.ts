/**
 * The API's route table (pulp-api.md §2): every path the site answers under `/pulp/api/v3/`, the
 * methods each takes and the handler of each. The server derives from it both the dispatch and the
 * `Allow` header every API answer carries (401s and OPTIONS included, as DRF's do); a method a
 * route does not list is a 405 before any lookup, as DRF's dispatch answers it. HEAD is GET's
 * handler; OPTIONS the server answers for every path.
 */
import { RouteTable, type Method } from '../core/routes.js';
import { deleteArtifact, getArtifact, getContent, listArtifacts, listContent, orphansCleanup, refuseUpload } from './api-content.js';
import {
  createDistribution,
  createPublication,
  deleteDistribution,
  deletePublication,
  getDistribution,
  getPublication,
  listDistributions,
  listPublications,
  updateDistribution,
} from './api-distributions.js';
import { createRemote, deleteRemote, getRemote, listRemotes, updateRemote } from './api-remotes.js';
import {
  createRepository,
  deleteRepository,
  deleteVersion,
  getRepository,
  getVersion,
  listRepositories,
  listVersions,
  modifyRepository,
  syncRepository,
  updateRepository,
} from './api-repositories.js';
import { apiRoot, status } from './api-status.js';
import { cancelTask, deleteTask, getTask, listTasks } from './api-tasks.js';
import type { Ctx, Params } from './http.js';
import type { Site } from './site.js';

export type ApiHandler = (site: Site, ctx: Ctx, params: Params) => Promise<void> | void;

const REPOS = 'repositories/file/file';

/** Paths are relative to `/pulp/api/v3/`, with their trailing slash, as Pulp's are. */
export const API_ROUTES = new RouteTable<ApiHandler>(
  [
    { path: '', handlers: { GET: apiRoot } },
    { path: 'status/', handlers: { GET: status } },
    { path: `${REPOS}/`, handlers: { GET: listRepositories, POST: createRepository } },
    { path: `${REPOS}/:id/`, handlers: { GET: getRepository, PUT: updateRepository, PATCH: updateRepository, DELETE: deleteRepository } },
    { path: `${REPOS}/:id/versions/`, handlers: { GET: listVersions } },
    { path: `${REPOS}/:id/versions/:number/`, handlers: { GET: getVersion, DELETE: deleteVersion } },
    { path: `${REPOS}/:id/sync/`, handlers: { POST: syncRepository } },
    { path: `${REPOS}/:id/modify/`, handlers: { POST: modifyRepository } },
    { path: 'remotes/file/file/', handlers: { GET: listRemotes, POST: createRemote } },
    { path: 'remotes/file/file/:id/', handlers: { GET: getRemote, PUT: updateRemote, PATCH: updateRemote, DELETE: deleteRemote } },
    { path: 'publications/file/file/', handlers: { GET: listPublications, POST: createPublication } },
    { path: 'publications/file/file/:id/', handlers: { GET: getPublication, DELETE: deletePublication } },
    { path: 'distributions/file/file/', handlers: { GET: listDistributions, POST: createDistribution } },
    { path: 'distributions/file/file/:id/', handlers: { GET: getDistribution, PUT: updateDistribution, PATCH: updateDistribution, DELETE: deleteDistribution } },
    // Uploads (POST) are Pulp's and in its Allow; the site's content comes from syncs only.
    { path: 'content/file/files/', handlers: { GET: listContent, POST: refuseUpload } },
    { path: 'content/file/files/:id/', handlers: { GET: getContent } },
    { path: 'tasks/', handlers: { GET: listTasks } },
    { path: 'tasks/:id/', handlers: { GET: getTask, PATCH: cancelTask, DELETE: deleteTask } },
    { path: 'artifacts/', handlers: { GET: listArtifacts, POST: refuseUpload } },
    { path: 'artifacts/:id/', handlers: { GET: getArtifact, DELETE: deleteArtifact } },
    { path: 'orphans/cleanup/', handlers: { POST: orphansCleanup } },
  ] satisfies Array<{ path: string; handlers: Partial<Record<Method, ApiHandler>> }>,
  { always: ['OPTIONS'] },
);
