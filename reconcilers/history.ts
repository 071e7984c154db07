/**
 * A mirror's history at one site (issue 20): the trees it has published within its retained
 * repository versions (version, tree digest, when, files, bytes) and which one it serves now.
 * Pulp keeps the versions (`retain_repo_versions`) and their publications; the tree digest of a
 * version it no longer serves is rebuilt from that version's content list (path and sha256 per
 * file) and the sizes of its artifacts, fetched only for blobs no manifest read here already gave.
 * Read-only; a few list calls per site plus one artifact call per file that changed between versions.
 */
import PQueue from 'p-queue';
import { isPulpdistError, messageOf } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { treeDigest } from '../manifest/digest.js';
import type { ManifestEntry } from '../manifest/types.js';
import type { PulpClient, RepositoryVersion } from '../pulp/types.js';
import { MANAGED_SELECTOR, objectName, versionNumberOf } from './names.js';
import { servedPublications } from './served.js';
import { treeOfText } from './tree.js';

/** One retained version of the mirror's repository at a site. */
export interface HistoryVersion {
  version: number;
  /** When the version was made (its `pulp_created`). */
  createdAt: string;
  /** When its first remaining publication was made; null when none is left (deleted by hand). */
  publishedAt: string | null;
  /** DESIGN.md tree digest of the version's files; null when it could not be worked out. */
  treeDigest: string | null;
  files: number;
  bytes: number | null;
  /** True for the version whose publication the distribution serves now. */
  serving: boolean;
}

export interface SiteHistory {
  site: string;
  /** False when the site could not be read; `error` says why (redacted). */
  reachable: boolean;
  error: string | null;
  /** The version served now, or null (nothing served, or no such mirror there). */
  serving: number | null;
  /** Newest first; empty when the site holds no repository for the mirror. */
  versions: HistoryVersion[];
  /** One line when something is worth saying (no repository there, nothing served). */
  note: string | null;
}

/** A mirror's history at every site asked for (`pulpdist history --json`, `/api/v1/mirrors/NAME/history`). */
export interface HistoryDocument {
  mirror: string;
  sites: SiteHistory[];
}

/** The history of `mirror` at each of `sites` (default: all of the mirror's), the sites read in parallel. */
export async function mirrorHistory(
  mirror: { name: string; sites: readonly string[] },
  clients: ReadonlyMap<string, PulpClient>,
  opts: { signal: AbortSignal; sites?: readonly string[] },
): Promise<HistoryDocument> {
  const names = opts.sites ? mirror.sites.filter((s) => opts.sites?.includes(s)) : mirror.sites;
  const sites = await Promise.all(names.map((s) => {
    const client = clients.get(s);
    return client
      ? siteHistory(client, mirror.name, { signal: opts.signal })
      : Promise.resolve<SiteHistory>({ site: s, reachable: false, error: 'no client for this site', serving: null, versions: [], note: null });
  }));
  return { mirror: mirror.name, sites };
}

const VERSION_FIELDS = 'pulp_href,pulp_created,number,content_summary';

/** A version's tree, as `trees` remembers it between calls (a repository version never changes). */
export interface VersionTree {
  digest: string;
  files: number;
  bytes: number;
}

/**
 * The history of `mirror` at the site `client` talks to. Never throws for the site's own failures.
 * With `trees` (keyed by version href, one map per site), a version already worked out is not read
 * again, and the map keeps only the versions the site still retains.
 */
export async function siteHistory(
  client: PulpClient,
  mirror: string,
  opts: { signal: AbortSignal; concurrency?: number; trees?: Map<string, VersionTree> },
): Promise<SiteHistory> {
  const { signal } = opts;
  const base: SiteHistory = { site: client.site, reachable: true, error: null, serving: null, versions: [], note: null };
  try {
    const name = objectName(mirror);
    const filter = { name, pulp_label_select: MANAGED_SELECTOR };
    const [repos, dists] = await Promise.all([client.listRepositories(filter, { signal }), client.listDistributions(filter, { signal })]);
    const repo = repos.find((r) => r.name === name);
    if (!repo) return { ...base, note: `no repository ${name} at this site` };
    const [versions, pubs] = await Promise.all([
      client.listVersions(repo.versions_href, { fields: VERSION_FIELDS }, { signal }),
      client.listPublications({ repository: repo.pulp_href, fields: 'pulp_href,repository_version,pulp_created' }, { signal }),
    ]);
    const dist = dists.find((d) => d.name === name);
    const served = dist ? servedPublications(pubs, new Map([[repo.name, repo]]), new Map([[dist.name, dist]])).served.get(dist.name) : undefined;
    // A pinned distribution names its publication itself (reconcilers/plan-pin.ts): its version is in the list.
    const direct = served?.direct ? pubs.find((p) => p.pulp_href === served.direct)?.repository_version : undefined;
    const servingNumber = versionNumberOf(served?.version ?? direct);
    const firstPublished = new Map<string, string>();
    for (const p of pubs) {
      const seen = firstPublished.get(p.repository_version);
      if (!seen || p.pulp_created < seen) firstPublished.set(p.repository_version, p.pulp_created);
    }
    // Sizes by sha256: the served manifest gives most of them; artifacts fill in the rest.
    const sizes = new Map<string, number>();
    let servedTree: { digest: string; files: number; bytes: number } | null = null;
    if (dist && servingNumber !== null) {
      const m = await client.getPublishedManifest(dist.base_path, { signal });
      if (m && m !== 'not-modified') {
        const t = treeOfText(m.text);
        for (const e of t.entries ?? []) sizes.set(e.sha256, e.size);
        servedTree = { digest: t.digest, files: t.files, bytes: t.bytes };
      }
    }
    const queue = new PQueue({ concurrency: opts.concurrency ?? 8 });
    const out: HistoryVersion[] = [];
    for (const v of [...versions].sort((a, b) => b.number - a.number)) {
      if (v.number === 0) continue; // the empty version every repository starts with
      const serving = v.number === servingNumber;
      const tree = (serving && servedTree) || opts.trees?.get(v.pulp_href) || await versionTree(client, v, sizes, queue, signal);
      if (tree && opts.trees) opts.trees.set(v.pulp_href, { digest: tree.digest, files: tree.files, bytes: tree.bytes });
      out.push({
        version: v.number, createdAt: v.pulp_created, publishedAt: firstPublished.get(v.pulp_href) ?? null,
        treeDigest: tree?.digest ?? null, files: tree?.files ?? fileCount(v), bytes: tree?.bytes ?? null, serving,
      });
    }
    if (opts.trees) {
      const kept = new Set(versions.map((v) => v.pulp_href));
      for (const href of opts.trees.keys()) if (!kept.has(href)) opts.trees.delete(href);
    }
    const note = servingNumber === null ? (dist ? 'its distribution serves no publication' : `no distribution ${name} at this site`) : null;
    return { ...base, serving: servingNumber, versions: out, note };
  } catch (err) {
    if (signal.aborted || !isPulpdistError(err)) throw err;
    return { ...base, reachable: false, error: redact(messageOf(err)) };
  }
}

function fileCount(v: RepositoryVersion): number {
  return v.content_summary?.present?.['file.file']?.count ?? 0;
}

/** The tree of one version from its content list; null when a unit names no sha256 or artifact. */
async function versionTree(
  client: PulpClient,
  v: RepositoryVersion,
  sizes: Map<string, number>,
  queue: PQueue,
  signal: AbortSignal,
): Promise<{ digest: string; files: number; bytes: number } | null> {
  const units = await client.listContent({ repository_version: v.pulp_href, fields: 'relative_path,sha256,artifact' }, { signal });
  const missing = new Map<string, string>();
  const files: { relativePath: string; sha256: string }[] = [];
  for (const u of units) {
    if (!u.sha256) return null;
    files.push({ relativePath: u.relative_path, sha256: u.sha256 });
    if (!sizes.has(u.sha256)) {
      if (!u.artifact) return null;
      missing.set(u.sha256, u.artifact);
    }
  }
  await Promise.all([...missing].map(([sha256, href]) => queue.add(async () => {
    const a = await client.getArtifact(href, { signal });
    sizes.set(sha256, a.size);
  }, { signal })));
  // Every size is known by now: from a manifest, or from the artifact just fetched.
  const entries: ManifestEntry[] = files.map((f) => ({ ...f, size: sizes.get(f.sha256) ?? 0 }));
  let bytes = 0;
  for (const e of entries) bytes += e.size;
  return { digest: treeDigest(entries), files: entries.length, bytes };
}
