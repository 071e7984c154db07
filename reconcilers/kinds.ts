/**
 * What apply does to each kind of object, as one table over PulpClient: planning has a module per
 * kind (repository.ts, remote.ts, distribution.ts); applying picks the client's methods here, and
 * nowhere else.
 */
import type {
  CallOptions, DeleteResult, FileDistribution, FileRemote, FileRepository, Href, ListFilter, PulpClient, TaskCallOptions,
} from '../pulp/types.js';
import type { CreateBodies, ObjectKind } from './plan-types.js';

/** A managed object of any kind, as listed. */
export type ManagedObject = FileRepository | FileRemote | FileDistribution;

export interface KindOps<K extends ObjectKind> {
  list(client: PulpClient, filter: ListFilter, opts: CallOptions): Promise<ManagedObject[]>;
  create(client: PulpClient, body: CreateBodies[K], opts: TaskCallOptions): Promise<{ pulp_href: Href }>;
  update(client: PulpClient, href: Href, patch: Partial<CreateBodies[K]>, opts: TaskCallOptions): Promise<unknown>;
  /** Delete; an object already gone counts as deleted (pulp/client.ts). */
  remove(client: PulpClient, href: Href, opts: TaskCallOptions): Promise<DeleteResult>;
}

export const KIND_OPS: { readonly [K in ObjectKind]: KindOps<K> } = {
  repository: {
    list: (c, filter, o) => c.listRepositories(filter, o),
    create: (c, body, o) => c.createRepository(body, o),
    update: (c, href, patch, o) => c.updateRepository(href, patch, o),
    remove: (c, href, o) => c.deleteRepository(href, o),
  },
  remote: {
    list: (c, filter, o) => c.listRemotes(filter, o),
    create: (c, body, o) => c.createRemote(body, o),
    update: (c, href, patch, o) => c.updateRemote(href, patch, o),
    remove: (c, href, o) => c.deleteRemote(href, o),
  },
  distribution: {
    list: (c, filter, o) => c.listDistributions(filter, o),
    create: (c, body, o) => c.createDistribution(body, o),
    update: (c, href, patch, o) => c.updateDistribution(href, patch, o),
    remove: (c, href, o) => c.deleteDistribution(href, o),
  },
};

/** The order objects are created in: a remote and a distribution refer to what comes before. */
export const CREATE_ORDER: readonly ObjectKind[] = ['repository', 'remote', 'distribution'];
/** Deletes go the other way: distribution first, so that nothing keeps serving a repository on its way out. */
export const DELETE_ORDER: readonly ObjectKind[] = ['distribution', 'remote', 'repository'];
