/**
 * Records found by a field other than their id: distributions by name, base path, the base paths
 * nested below a path, publication and repository; repositories and remotes by name; versions and
 * publications by repository.
 *
 * Each of these was a scan of a whole table, made per request: every content request scanned every
 * distribution and publication, every new version every version, every create every name. So a
 * site's cost per request grew with what it held, and a pass that creates N mirrors cost N × N.
 *
 * Built from the tables at first use, then kept in step by `noteChange`, which the store calls for
 * every put and delete it applies (the tables' only writer). A lookup returns records in the order
 * they were first put under that key, as a scan of the table (insertion order) would.
 */
import type { AnyRecord, DistributionRecord, Kind, PublicationRecord, RemoteRecord, RepositoryRecord, Tables, VersionRecord } from './records.js';

/** The proper parent paths of a base path: "a/b/c" → a, a/b. */
export function parentsOf(basePath: string): string[] {
  const out: string[] = [];
  for (let i = basePath.indexOf('/'); i > 0; i = basePath.indexOf('/', i + 1)) out.push(basePath.slice(0, i));
  return out;
}

/** For each relation: the table it indexes and the keys a record is found under. */
const RELATIONS = {
  distributionsNamed: { kind: 'distributions', keys: (d: DistributionRecord) => [d.name] },
  distributionsAt: { kind: 'distributions', keys: (d: DistributionRecord) => [d.base_path] },
  /** Keyed by every proper parent of the base path: the distributions nested below a path. */
  distributionsBelow: { kind: 'distributions', keys: (d: DistributionRecord) => parentsOf(d.base_path) },
  distributionsServing: { kind: 'distributions', keys: (d: DistributionRecord) => (d.publication ? [d.publication] : []) },
  distributionsOfRepository: { kind: 'distributions', keys: (d: DistributionRecord) => (d.repository ? [d.repository] : []) },
  repositoriesNamed: { kind: 'repositories', keys: (r: RepositoryRecord) => [r.name] },
  repositoriesUsing: { kind: 'repositories', keys: (r: RepositoryRecord) => (r.remote ? [r.remote] : []) },
  remotesNamed: { kind: 'remotes', keys: (r: RemoteRecord) => [r.name] },
  versionsOf: { kind: 'versions', keys: (v: VersionRecord) => [v.repository_id] },
  publicationsOf: { kind: 'publications', keys: (p: PublicationRecord) => [p.repository_id] },
} as const;

type Relation = keyof typeof RELATIONS;
/** The record type a relation returns. */
type RecordOf<R extends Relation> = Parameters<(typeof RELATIONS)[R]['keys']>[0];

/** The relations of each table kind, with the keys a record of that kind is found under. */
const OF_KIND = new Map<Kind, { name: Relation; keys: (r: AnyRecord) => readonly string[] }[]>();
for (const name of Object.keys(RELATIONS) as Relation[]) {
  const { kind, keys } = RELATIONS[name];
  if (!OF_KIND.has(kind)) OF_KIND.set(kind, []);
  OF_KIND.get(kind)!.push({ name, keys: keys as (r: AnyRecord) => readonly string[] });
}
const EMPTY: ReadonlySet<string> = new Set();

export class Relations {
  private readonly groups = new Map<Relation, Map<string, Set<string>>>();

  constructor(private readonly t: Tables) {
    for (const [kind, ofKind] of OF_KIND) {
      for (const { name, keys } of ofKind) {
        const groups = new Map<string, Set<string>>();
        this.groups.set(name, groups);
        for (const rec of t[kind].values()) for (const k of keys(rec)) add(groups, k, rec.id);
      }
    }
  }

  /** The records of relation `name` under `key`. */
  find<R extends Relation>(name: R, key: string): RecordOf<R>[] {
    const table = this.t[RELATIONS[name].kind] as Map<string, RecordOf<R>>;
    const out: RecordOf<R>[] = [];
    for (const id of this.groups.get(name)!.get(key) ?? EMPTY) {
      const rec = table.get(id);
      if (rec) out.push(rec);
    }
    return out;
  }

  /** A record of `kind` changed from `before` to `after` (either undefined for a create or a delete). */
  noteChange(kind: Kind, before: AnyRecord | undefined, after: AnyRecord | undefined): void {
    for (const { name, keys } of OF_KIND.get(kind) ?? []) {
      const was = before ? keys(before) : [];
      const now = after ? keys(after) : [];
      const groups = this.groups.get(name)!;
      for (const key of was) if (!now.includes(key)) remove(groups, key, before!.id);
      for (const key of now) add(groups, key, after!.id);
    }
  }
}

function add(groups: Map<string, Set<string>>, key: string, id: string): void {
  let ids = groups.get(key);
  if (!ids) groups.set(key, (ids = new Set()));
  ids.add(id);
}

function remove(groups: Map<string, Set<string>>, key: string, id: string): void {
  const ids = groups.get(key);
  if (!ids) return;
  ids.delete(id);
  if (ids.size === 0) groups.delete(key);
}

const built = new WeakMap<Tables, Relations>();

/** The relations of `t`, built on first use. */
export function relations(t: Tables): Relations {
  let r = built.get(t);
  if (!r) built.set(t, (r = new Relations(t)));
  return r;
}

/**
 * The relations of `t` if they were built, for the store to keep in step; undefined for a table
 * kind no relation indexes (content, artifacts, tasks: most of what a sync commits).
 */
export function relationsToUpdate(t: Tables, kind: Kind): Relations | undefined {
  return OF_KIND.has(kind) ? built.get(t) : undefined;
}
