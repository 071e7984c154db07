/**
 * Which repository version each managed distribution serves, worked out from one list of the
 * site's publications (paged like the other kinds: O(pages) requests per site, never one per
 * mirror; one field each, `repository_version`, since a site holds two publications per version
 * and their bytes dominate observe's cost at 5,000 mirrors). Pure. The rules are real Pulp 3.24's
 * content app (reference recordings extra4 §4 and 63-67):
 * - `repository` set: the newest publication of any of the repository's versions (highest version
 *   number), so a hand-deleted latest publication silently falls back to an older tree, and with
 *   none left the content app answers 404 under the base path;
 * - `publication` set (not pulpdist's shape): that publication while it exists (deleting it sets
 *   the field to null); which version it is is not worked out here, observe reads its manifest.
 * A publication deleted by hand is not healed by a sync with no change (no new version, so no new
 * publication, extra4/34-36): it takes a publish, which is why the latest version is checked here.
 * Every publication of one version serves that version's files, so the version is what matters.
 */
import type { FileDistribution, FilePublication, FileRepository, Href } from '../pulp/types.js';
import { versionNumberOf } from './names.js';

/** The fields observe lists publications with: all this module reads. */
export const PUBLICATION_FIELDS = ['repository_version'] as const;

/** What one distribution serves. */
export interface Served {
  /** The repository version whose publication the content app serves, or null (404, or `direct`). */
  version: Href | null;
  /** Set when the distribution names a publication itself: the version is then not known here. */
  direct: Href | null;
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
  /** Keyed by distribution name. */
  served: Map<string, Served>;
  /** Keyed by distribution name. */
  unpublished: Map<string, UnpublishedLatest>;
}

/** `…/repositories/file/file/<id>/` of a version href `…/repositories/file/file/<id>/versions/N/`. */
export function repositoryOfVersion(version: Href): Href {
  return version.replace(/versions\/\d+\/$/, '');
}

/** What every distribution in `distributions` serves, given every publication of the site. */
export function servedPublications(
  publications: readonly Pick<FilePublication, 'repository_version'>[],
  repositories: ReadonlyMap<string, FileRepository>,
  distributions: ReadonlyMap<string, FileDistribution>,
): ServedIndex {
  const published = new Set<Href>();
  const newestOf = new Map<Href, { version: Href; number: number }>();
  for (const p of publications) {
    const version = p.repository_version;
    if (published.has(version)) continue;
    published.add(version);
    const number = versionNumberOf(version) ?? -1;
    const repo = repositoryOfVersion(version);
    const best = newestOf.get(repo);
    if (!best || number > best.number) newestOf.set(repo, { version, number });
  }
  const repoByHref = new Map([...repositories.values()].map((r) => [r.pulp_href, r] as const));
  const served = new Map<string, Served>();
  const unpublished = new Map<string, UnpublishedLatest>();
  for (const d of distributions.values()) {
    if (d.publication) {
      served.set(d.name, { version: null, direct: d.publication });
      continue;
    }
    const version = d.repository ? newestOf.get(d.repository)?.version ?? null : null;
    served.set(d.name, { version, direct: null });
    const latest = d.repository ? repoByHref.get(d.repository)?.latest_version_href : undefined;
    if (latest && (versionNumberOf(latest) ?? 0) > 0 && !published.has(latest)) unpublished.set(d.name, { latest, served: version });
  }
  return { served, unpublished };
}
