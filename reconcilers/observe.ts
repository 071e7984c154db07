/**
 * Observe: what every site holds. Per site, `status()`, then one paginated list per kind filtered
 * on the managed label (never a call per mirror) plus one of every publication, then the published
 * tree of each managed distribution: which publication it serves comes from that list (served.ts),
 * and its PULP_MANIFEST is read only when that publication is one the cache and the tree label
 * do not know. A site that cannot be observed is recorded as such; the others proceed.
 */
import PQueue from 'p-queue';
import { AbortFan } from '../core/abort-fan.js';
import { ConfigError, isPulpdistError, messageOf } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { PulpAuthError } from '../pulp/errors.js';
import type { FileDistribution, FileRemote, FileRepository, PulpClient, PulpStatus } from '../pulp/types.js';
import type { SiteSpec } from '../spec/types.js';
import { CONTROLLER_LABEL, hrefId, isManaged, MANAGED_SELECTOR, ownershipOf, parseTreeLabel, TREE_LABEL, versionNumberOf } from './names.js';
import type { ObservedSite, ObservedState, SourceTree, TreeSummary } from './plan-types.js';
import type { PublishedCache } from './published-cache.js';
import { onlineWorkersOf, storageOf } from './site-health.js';
import { PUBLICATION_FIELDS, servedPublications, type Served } from './served.js';
import { treeOfText } from './tree.js';

export interface ObserveOptions {
  signal: AbortSignal;
  /** Stamps `seenAt`. */
  now: () => Date;
  /** Manifest reads in flight per site. @default 8 */
  manifestConcurrency?: number;
  /**
   * This controller's id: managed objects labelled with another id are set aside in `foreign`
   * (never planned on), those with none are kept (adoptable). Absent: every managed object is ours.
   */
  controller?: string;
}

/**
 * The fields observe asks for (`?fields=`, which Pulp and the embedded site both honour). The
 * objects observe returns hold only these; everything downstream reads nothing else.
 */
const COMMON_FIELDS = ['pulp_href', 'pulp_created', 'name', 'pulp_labels'];
const REPOSITORY_FIELDS = [...COMMON_FIELDS, 'retain_repo_versions', 'autopublish', 'latest_version_href'];
const REMOTE_FIELDS = [...COMMON_FIELDS, 'url', 'policy', 'download_concurrency', 'tls_validation', 'rate_limit', 'proxy_url'];
const DISTRIBUTION_FIELDS = [...COMMON_FIELDS, 'base_path', 'repository', 'publication'];

/** The digest given to a published manifest that cannot be parsed: it never equals a real tree. */
export const UNPARSABLE_DIGEST = 'unparsable';

/** A site that could not be observed, and why (redacted): nothing is planned or pruned there. */
export function unreachableSite(name: string, error: string): ObservedSite {
  return {
    name, reachable: false, error, pulpVersion: null, embedded: false,
    repositories: new Map(), remotes: new Map(), distributions: new Map(), published: new Map(), seenAt: null,
  };
}

/** The Pulp version a status shows (`core` component), and whether it is a `pulpdist site`. */
export function describeStatus(status: PulpStatus): { pulpVersion: string | null; embedded: boolean } {
  const versions = Array.isArray(status.versions) ? status.versions : [];
  return {
    pulpVersion: versions.find((v) => v.component === 'core')?.version ?? null,
    embedded: versions.some((v) => v.component === 'pulpdist-site'),
  };
}

/** Observe one site. Never throws for the site's own failures: they make it unreachable. */
export async function observeSite(site: SiteSpec, client: PulpClient, cache: PublishedCache, opts: ObserveOptions): Promise<ObservedSite> {
  const { signal } = opts;
  try {
    const status = await client.status({ signal });
    const described = describeStatus(status);
    const filter = { pulp_label_select: MANAGED_SELECTOR };
    // Only the fields the planners read: a third of the bytes to send and parse at 5,000 objects a kind.
    const remoteFields = described.embedded ? [...REMOTE_FIELDS, 'pulpdist_bandwidth_limit'] : REMOTE_FIELDS;
    const [repos, remotes, dists, pubs] = await Promise.all([
      client.listRepositories({ ...filter, fields: REPOSITORY_FIELDS.join(',') }, { signal }),
      client.listRemotes({ ...filter, fields: remoteFields.join(',') }, { signal }),
      client.listDistributions({ ...filter, fields: DISTRIBUTION_FIELDS.join(',') }, { signal }),
      // Publications carry no labels: every one of the site is listed, a few fields each (served.ts).
      client.listPublications({ fields: PUBLICATION_FIELDS.join(',') }, { signal }),
    ]);
    const seenAt = opts.now().toISOString();
    // Other controllers' objects come in the same lists (one selector for all): set aside here, so
    // that nothing downstream can plan on them.
    const foreign = new Map<string, string>();
    const byName = <T extends { name: string; pulp_labels: Record<string, string> }>(xs: T[]) => {
      const out = new Map<string, T>();
      for (const x of xs) {
        if (!isManaged(x.pulp_labels)) continue;
        if (ownershipOf(x.pulp_labels, opts.controller) === 'foreign') foreign.set(x.name, x.pulp_labels[CONTROLLER_LABEL] ?? '');
        else out.set(x.name, x);
      }
      return out;
    };
    const repositories = byName<FileRepository>(repos);
    const distributions = byName<FileDistribution>(dists);
    const { served, unpublished } = servedPublications(pubs, repositories, distributions);
    const published = await readPublished(site.name, client, cache, served, distributions, opts);
    cache.retain(site.name, new Set(distributions.keys()));
    return {
      name: site.name, reachable: true, error: null, ...described,
      repositories, remotes: byName<FileRemote>(remotes), distributions, published, unpublished, seenAt,
      onlineWorkers: onlineWorkersOf(status), storage: storageOf(status),
      ...(foreign.size ? { foreign } : {}),
    };
  } catch (err) {
    // A site's own failures (HTTP, connection, auth, config) make it unreachable; a bug stays loud.
    if (signal.aborted || !isPulpdistError(err)) throw err;
    const out = unreachableSite(site.name, redact(messageOf(err)));
    return err instanceof PulpAuthError || err instanceof ConfigError ? { ...out, refused: true } : out;
  }
}

async function readPublished(
  site: string,
  client: PulpClient,
  cache: PublishedCache,
  served: ReadonlyMap<string, Served>,
  distributions: ReadonlyMap<string, FileDistribution>,
  opts: ObserveOptions,
): Promise<Map<string, TreeSummary | null>> {
  const out = new Map<string, TreeSummary | null>();
  const queue = new PQueue({ concurrency: opts.manifestConcurrency ?? 8 });
  // A queued read per distribution: each under its own child signal (abort-fan.ts says why).
  const fan = new AbortFan(opts.signal);
  const reads: Promise<void>[] = [];
  for (const d of distributions.values()) {
    const s = served.get(d.name) ?? { version: null, direct: null };
    const entry = { basePath: d.base_path, repository: d.repository, versionHref: s.version };
    if (!s.version && !s.direct) {
      // No publication to serve: the content app answers 404 under the base path (extra4/30-32).
      out.set(d.name, null);
      cache.set(site, d.name, { ...entry, etag: null, tree: null });
      continue;
    }
    const cached = cache.get(site, d.name);
    // A version never changes: the same version served under the same base path is the same tree.
    // Keyed on the version served, not the repository's latest, so that a publication deleted by
    // hand (a fallback to an older version, or nothing) is never hidden by the cache.
    if (s.version && cached && cached.versionHref === s.version && cached.repository === d.repository && cached.basePath === d.base_path) {
      out.set(d.name, cached.tree);
      continue;
    }
    const label = parseTreeLabel(d.pulp_labels?.[TREE_LABEL]);
    if (s.version && label && label.repository === hrefId(d.repository) && label.version === versionNumberOf(s.version)) {
      // pulpdist labelled this distribution when it published this very version: no need to read.
      const tree = { digest: label.digest, files: label.files, bytes: label.bytes, entries: null };
      out.set(d.name, tree);
      cache.set(site, d.name, { ...entry, etag: null, tree });
      continue;
    }
    // Anything else, a distribution naming a publication itself included, is read (conditionally).
    const etag = cached?.basePath === d.base_path && cached.tree?.entries ? cached.etag : null;
    reads.push(fan.run((signal) =>
      queue.add(async () => {
        const tree = await readTree(client, d.base_path, etag, cached?.tree ?? null, signal);
        out.set(d.name, tree.tree);
        cache.set(site, d.name, { ...entry, etag: tree.etag, tree: tree.tree });
      }, { signal }),
    ));
  }
  await Promise.all(reads);
  return out;
}

async function readTree(client: PulpClient, basePath: string, etag: string | null, prior: TreeSummary | null, signal: AbortSignal): Promise<{ tree: TreeSummary | null; etag: string | null }> {
  const got = await client.getPublishedManifest(basePath, { signal, ...(etag ? { etag } : {}) });
  if (got === null) return { tree: null, etag: null };
  if (got === 'not-modified') return { tree: prior, etag };
  try {
    return { tree: treeOfText(got.text), etag: got.etag };
  } catch {
    // A manifest we cannot parse is a tree that matches nothing: the next sync replaces it.
    return { tree: { digest: UNPARSABLE_DIGEST, files: 0, bytes: 0, entries: [] }, etag: null };
  }
}

/** Observe every site in parallel (one site's failure never stops the others). */
export async function observeSites(
  sites: readonly SiteSpec[],
  clients: ReadonlyMap<string, PulpClient>,
  cache: PublishedCache,
  opts: ObserveOptions,
): Promise<Map<string, ObservedSite>> {
  const results = await Promise.all(
    sites.map(async (s) => {
      const client = clients.get(s.name);
      return client ? observeSite(s, client, cache, opts) : unreachableSite(s.name, 'no client for this site');
    }),
  );
  return new Map(results.map((r) => [r.name, r]));
}

/**
 * Transfer estimates need the entries of trees the cache knows only by digest. Read those
 * manifests again, but only where the target differs from the source (a converged site costs
 * nothing). Returns a new observed state with those entries filled in; `observed` is left as it was.
 */
export async function loadMissingEntries(
  observed: ObservedState,
  clients: ReadonlyMap<string, PulpClient>,
  cache: PublishedCache,
  want: (site: string, distribution: FileDistribution) => SourceTree | undefined,
  opts: { signal: AbortSignal; concurrency?: number },
): Promise<ObservedState> {
  const queue = new PQueue({ concurrency: opts.concurrency ?? 8 });
  const fan = new AbortFan(opts.signal);
  const jobs: Promise<readonly [site: string, distribution: string, tree: TreeSummary] | null>[] = [];
  for (const site of observed.sites.values()) {
    if (!site.reachable) continue;
    const client = clients.get(site.name);
    if (!client) continue;
    for (const [name, tree] of site.published) {
      if (!tree || tree.entries) continue;
      const d = site.distributions.get(name);
      if (!d) continue;
      const w = want(site.name, d);
      if (w && !('error' in w) && w.digest === tree.digest) continue;
      jobs.push(fan.run((signal) =>
        queue.add(async () => {
          const r = await readTree(client, d.base_path, null, tree, signal).catch(() => null);
          if (!r?.tree) return null; // keep the summary: the estimate falls back to the whole tree
          const c = cache.get(site.name, name);
          if (c) cache.set(site.name, name, { ...c, etag: r.etag, tree: r.tree });
          return [site.name, name, r.tree] as const;
        }, { signal }),
      ) as Promise<readonly [string, string, TreeSummary] | null>);
    }
  }
  const loaded = (await Promise.all(jobs)).filter((x) => x !== null);
  if (loaded.length === 0) return observed;
  const published = new Map<string, Map<string, TreeSummary | null>>();
  for (const [siteName, name, tree] of loaded) {
    let trees = published.get(siteName);
    if (!trees) published.set(siteName, (trees = new Map(observed.sites.get(siteName)?.published)));
    trees.set(name, tree);
  }
  const sites = new Map(observed.sites);
  for (const [siteName, trees] of published) {
    const site = sites.get(siteName);
    if (site) sites.set(siteName, { ...site, published: trees });
  }
  return { ...observed, sites };
}
