/**
 * Which publication each managed distribution serves, worked out from one list of the site's
 * publications (paged like the other kinds: O(pages) requests per site, never one per mirror).
 * Pure. The rules are real Pulp 3.24's content app (reference recordings extra4 §4 and 63-67):
 * - `publication` set: that publication while it exists; deleting it sets the field to null;
 * - `repository` set: the newest publication of any of the repository's versions (highest version
 *   number, then newest), so a hand-deleted latest publication silently falls back to an older
 *   tree, and with none left the content app answers 404 under the base path.
 * A publication deleted by hand is not healed by a sync with no change (no new version, so no new
 * publication, extra4/34-36): it takes a publish, which is why the latest version is checked here.
 */
import type { FileDistribution, FilePublication, FileRepository, Href } from '../pulp/types.js';
import { versionNumberOf } from './names.js';

/** The fields observe lists publications with: all this module reads. */
export const PUBLICATION_FIELDS = ['pulp_href', 'pulp_created', 'repository', 'repository_version'] as const;

/** What one distribution serves. */
export interface Served {
  /** The publication the content app serves under the base path, or null (it answers 404). */
  publication: Href | null;
  /** That publication's repository and repository version. */
  repository: Href | null;
  version: Href | null;
}

/**
 * A repository-backed distribution whose repository's latest version (beyond version 0) has no
 * publication: what it serves instead (an older version, or nothing).
 */
export interface UnpublishedLatest {
  latest: Href;
  /** The version served instead, or null when the distribution serves nothing. */
  served: Href | null;
}

export interface ServedIndex {
  served: Map<string, Served>;
  /** Keyed by distribution name. */
  unpublished: Map<string, UnpublishedLatest>;
}

type PublicationFields = Pick<FilePublication, (typeof PUBLICATION_FIELDS)[number]>;

/** True when publication `a` is the one real Pulp prefers over `b` for a repository distribution. */
function newer(a: PublicationFields, b: PublicationFields): boolean {
  const na = versionNumberOf(a.repository_version) ?? -1;
  const nb = versionNumberOf(b.repository_version) ?? -1;
  if (na !== nb) return na > nb;
  return (a.pulp_created ?? '') > (b.pulp_created ?? '');
}

/** What every distribution in `distributions` serves, given every publication of the site. */
export function servedPublications(
  publications: readonly PublicationFields[],
  repositories: ReadonlyMap<string, FileRepository>,
  distributions: ReadonlyMap<string, FileDistribution>,
): ServedIndex {
  const byHref = new Map<Href, PublicationFields>();
  const newestOf = new Map<Href, PublicationFields>();
  const publishedVersions = new Set<Href>();
  for (const p of publications) {
    byHref.set(p.pulp_href, p);
    publishedVersions.add(p.repository_version);
    const best = newestOf.get(p.repository);
    if (!best || newer(p, best)) newestOf.set(p.repository, p);
  }
  const repoByHref = new Map([...repositories.values()].map((r) => [r.pulp_href, r] as const));
  const served = new Map<string, Served>();
  const unpublished = new Map<string, UnpublishedLatest>();
  for (const d of distributions.values()) {
    const pub = d.publication ? byHref.get(d.publication) : d.repository ? newestOf.get(d.repository) : undefined;
    served.set(d.name, { publication: pub?.pulp_href ?? null, repository: pub?.repository ?? null, version: pub?.repository_version ?? null });
    const latest = d.repository && !d.publication ? repoByHref.get(d.repository)?.latest_version_href : undefined;
    if (latest && (versionNumberOf(latest) ?? 0) > 0 && !publishedVersions.has(latest)) {
      unpublished.set(d.name, { latest, served: pub?.repository_version ?? null });
    }
  }
  return { served, unpublished };
}
