/**
 * Repository versions and publications as store operations: making a version from a content set,
 * publishing one, pruning by `retain_repo_versions`, and the cascades of deletes (a version takes its
 * publications along; distributions that served them get `publication: null`). Pure apart from the
 * blob write of a publication's manifest.
 */
import type { BlobStore } from './blobs.js';
import { relations } from './relations.js';
import { href, parseHref, timestamp, type ContentRecord, type Op, type PublicationRecord, type RepositoryRecord, type Tables, type VersionRecord } from './records.js';

export function versionKey(repoId: string, n: number): string {
  return `${repoId}/${n}`;
}

/** The newest version of a repository (version 0 always exists until the repository is deleted). */
export function latestVersion(t: Tables, repo: RepositoryRecord): VersionRecord {
  let best: VersionRecord | undefined;
  for (let n = repo.latest_number; n >= 0 && !best; n--) best = t.versions.get(versionKey(repo.id, n));
  if (!best) throw new Error(`repository ${repo.id} has no version`);
  return best;
}

/** Version 0 of a new repository. */
export function firstVersion(repoId: string): VersionRecord {
  return { id: versionKey(repoId, 0), repository_id: repoId, number: 0, pulp_created: timestamp(), base_version: null, content: [], added: [], removed: [] };
}

/**
 * Operations for a new version holding `content`, or null when it equals the latest (no change makes
 * no version, and uses up no number). Returns the repository record as updated.
 */
export function newVersion(t: Tables, repo: RepositoryRecord, content: string[]): { version: VersionRecord; repo: RepositoryRecord; ops: Op[] } | null {
  const prev = latestVersion(t, repo);
  const before = new Set(prev.content);
  const after = new Set(content);
  const added = content.filter((c) => !before.has(c));
  const removed = prev.content.filter((c) => !after.has(c));
  if (!added.length && !removed.length) return null;
  const number = repo.latest_number + 1;
  const version: VersionRecord = { id: versionKey(repo.id, number), repository_id: repo.id, number, pulp_created: timestamp(), base_version: null, content: [...after], added, removed };
  const updated = { ...repo, latest_number: number };
  return { version, repo: updated, ops: [{ put: 'versions', v: version }, { put: 'repositories', v: updated }] };
}

/**
 * Pulp's generated PULP_MANIFEST of a version: `path,sha256,size` lines, newest unit first. Records
 * not yet committed can be passed in `extra` (a sync publishes in the same commit as its version).
 */
export function manifestOf(t: Tables, content: string[], extra?: { content: Map<string, ContentRecord>; sizes: Map<string, number> }): Buffer {
  const units = content.map((id) => t.content.get(id) ?? extra?.content.get(id)).filter((c): c is ContentRecord => c !== undefined);
  units.sort((a, b) => (a.pulp_created < b.pulp_created ? 1 : a.pulp_created > b.pulp_created ? -1 : 0));
  const lines = units.map((c) => `${c.relative_path},${c.sha256},${t.artifacts.get(c.artifact_id)?.size ?? extra?.sizes.get(c.artifact_id) ?? 0}\n`);
  return Buffer.from(lines.join(''), 'utf8');
}

/**
 * A publication of `version`: its manifest bytes go to the blob store (generated unless given, as
 * a mirror sync passes the upstream file through byte for byte).
 */
export async function publish(
  t: Tables,
  blobs: BlobStore,
  version: VersionRecord,
  manifestName: string | null,
  manifestBytes?: Buffer,
): Promise<{ publication: PublicationRecord; ops: Op[] }> {
  let sha: string | null = null;
  let size = 0;
  if (manifestName !== null) {
    const bytes = manifestBytes ?? manifestOf(t, version.content);
    sha = await blobs.putBytes(bytes);
    size = bytes.length;
  }
  const publication: PublicationRecord = {
    id: crypto.randomUUID(),
    pulp_created: timestamp(),
    repository_id: version.repository_id,
    number: version.number,
    manifest: manifestName,
    manifest_sha256: sha,
    manifest_size: size,
  };
  return { publication, ops: [{ put: 'publications', v: publication }] };
}

/** Delete a publication; distributions serving it directly get `publication: null`. */
export function deletePublicationOps(t: Tables, pub: PublicationRecord): Op[] {
  const ops: Op[] = [{ del: 'publications', id: pub.id }];
  const h = href.publication(pub.id);
  for (const d of relations(t).find('distributionsServing', h)) ops.push({ put: 'distributions', v: { ...d, publication: null } });
  return ops;
}

/** Delete a version and its publications. */
export function deleteVersionOps(t: Tables, v: VersionRecord): Op[] {
  const ops: Op[] = [{ del: 'versions', id: v.id }];
  for (const p of relations(t).find('publicationsOf', v.repository_id)) if (p.number === v.number) ops.push(...deletePublicationOps(t, p));
  return ops;
}

/**
 * Versions beyond the newest `retain_repo_versions`, deleted with their publications. Call after
 * the ops of a new version were applied.
 */
export function retainOps(t: Tables, repo: RepositoryRecord): Op[] {
  const keep = repo.retain_repo_versions;
  if (keep === null) return [];
  const versions = relations(t).find('versionsOf', repo.id).sort((a, b) => b.number - a.number);
  return versions.slice(keep).flatMap((v) => deleteVersionOps(t, v));
}

/** Delete a repository with its versions and publications; distributions pointing at it get null. */
export function deleteRepositoryOps(t: Tables, repo: RepositoryRecord): Op[] {
  const ops: Op[] = [];
  const related = relations(t);
  for (const v of related.find('versionsOf', repo.id)) ops.push(...deleteVersionOps(t, v));
  const h = href.repository(repo.id);
  const changed = new Map<string, Op>();
  for (const op of ops) if ('put' in op && op.put === 'distributions') changed.set(op.v.id, op);
  for (const d of related.find('distributionsOfRepository', h)) {
    const base = changed.get(d.id);
    const cur = base && 'put' in base ? (base.v as typeof d) : d;
    changed.set(d.id, { put: 'distributions', v: { ...cur, repository: null } });
  }
  return [...ops.filter((o) => !('put' in o && o.put === 'distributions')), ...changed.values(), { del: 'repositories', id: repo.id }];
}

/** The publication a distribution serves now, or null (§5.2: repository → newest complete publication). */
export function servedPublication(t: Tables, dist: { publication: string | null; repository: string | null }): PublicationRecord | null {
  if (dist.publication) {
    const id = parseHref('publication', dist.publication);
    return id === null ? null : (t.publications.get(id) ?? null);
  }
  if (dist.repository) {
    const repoId = parseHref('repository', dist.repository);
    if (repoId === null) return null;
    let best: PublicationRecord | null = null;
    for (const p of relations(t).find('publicationsOf', repoId)) {
      if (!best || p.number > best.number || (p.number === best.number && p.pulp_created > best.pulp_created)) best = p;
    }
    return best;
  }
  return null;
}
