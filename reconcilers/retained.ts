/**
 * The retained versions of the placements that serve a pinned tree (serve-target.ts): each
 * version's tree digest (history.ts works it out) and the publication a distribution can point
 * at. Read only for those placements, never for the rest: a converged network without pins makes
 * no call here (bench:plan at 1,000 mirrors × 10 sites is unchanged). A few list calls per pinned
 * placement plus history.ts's content reads.
 */
import { isPulpdistError, messageOf } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { Href, PulpClient } from '../pulp/types.js';
import { siteHistory, type VersionTree } from './history.js';
import { objectName, syncKey, versionNumberOf } from './names.js';
import type { DesiredState, ObservedState } from './plan-types.js';
import { repositoryOfVersion } from './served.js';

/** One retained version of a mirror's repository at a site. */
export interface RetainedVersion {
  version: number;
  /** Its tree digest; null when it could not be worked out. */
  digest: string | null;
  files: number;
  bytes: number | null;
  /** A publication of it (the newest), or null when none is left. */
  publication: Href | null;
}

/** Newest first, and the repository's latest version; or why they could not be read (redacted). */
export type RetainedTrees = { versions: RetainedVersion[]; latest: number | null } | { error: string };

/**
 * The sites whose retained versions a plan needs: every placement with a tree target, and the
 * site a `vN` names (a mirror-wide `pin: v7` is the origin's v7). Keys are `syncKey(mirror, site)`.
 */
export function retainedWanted(desired: DesiredState): Map<string, { mirror: string; site: string }> {
  const out = new Map<string, { mirror: string; site: string }>();
  for (const m of desired.mirrors.values()) {
    if (m.suspend) continue;
    for (const p of m.placements) {
      if (p.serve.kind !== 'tree') continue;
      out.set(syncKey(m.name, p.site), { mirror: m.name, site: p.site });
      const ref = p.serve.ref;
      if ('version' in ref) out.set(syncKey(m.name, ref.at), { mirror: m.name, site: ref.at });
    }
  }
  return out;
}

/**
 * Read the retained versions `retainedWanted` lists, at the sites `observed` could reach. With
 * `trees` (PassMemory.versionTrees), a version worked out in an earlier pass is not read again: a
 * pin held for weeks then costs a few list calls per pass, not a content list per version.
 */
export async function observeRetained(
  desired: DesiredState,
  observed: ObservedState,
  clients: ReadonlyMap<string, PulpClient>,
  opts: { signal: AbortSignal; trees?: Map<string, Map<string, VersionTree>> },
): Promise<Map<string, RetainedTrees>> {
  const wanted = retainedWanted(desired);
  const out = new Map<string, RetainedTrees>();
  // Pins are few (an operator writes each one): one placement after the other keeps a site calm.
  for (const [key, { mirror, site }] of wanted) {
    const s = observed.sites.get(site);
    const client = clients.get(site);
    if (!s?.reachable || !client) continue;
    const repo = s.repositories.get(objectName(mirror));
    if (!repo) {
      out.set(key, { versions: [], latest: null });
      continue;
    }
    let trees = opts.trees?.get(key);
    if (opts.trees && !trees) opts.trees.set(key, (trees = new Map()));
    out.set(key, await retainedAt(client, mirror, repo.pulp_href, opts.signal, trees));
  }
  // Placements no longer pinned forget their versions.
  for (const key of opts.trees?.keys() ?? []) if (!wanted.has(key)) opts.trees?.delete(key);
  return out;
}

async function retainedAt(client: PulpClient, mirror: string, repository: Href, signal: AbortSignal, trees: Map<string, VersionTree> | undefined): Promise<RetainedTrees> {
  try {
    const [history, pubs] = await Promise.all([
      siteHistory(client, mirror, { signal, ...(trees ? { trees } : {}) }),
      client.listPublications({ repository, fields: 'pulp_href,pulp_created,repository_version' }, { signal }),
    ]);
    if (!history.reachable) return { error: history.error ?? 'unreachable' };
    // The newest publication of each version: any of them serves the version's files.
    const pubOf = new Map<number, { href: Href; created: string }>();
    for (const p of pubs) {
      if (repositoryOfVersion(p.repository_version) !== repository) continue;
      const n = versionNumberOf(p.repository_version);
      const best = n === null ? undefined : pubOf.get(n);
      if (n !== null && (!best || p.pulp_created > best.created)) pubOf.set(n, { href: p.pulp_href, created: p.pulp_created });
    }
    const versions = history.versions.map((v) => ({
      version: v.version, digest: v.treeDigest, files: v.files, bytes: v.bytes, publication: pubOf.get(v.version)?.href ?? null,
    }));
    return { versions, latest: versions[0]?.version ?? null };
  } catch (err) {
    if (signal.aborted || !isPulpdistError(err)) throw err;
    return { error: redact(messageOf(err)) };
  }
}
