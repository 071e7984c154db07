/**
 * What the content app serves at a path: the distribution found from the path's parent prefixes,
 * its publication, and the blob of a file in it. Shared by per-file GETs (content-app.ts) and batch
 * fetches (batch-serve.ts), so that both resolve a path the same way.
 */
import type { ContentRecord, DistributionRecord, PublicationRecord, Tables } from './records.js';
import { contentInnerPath } from './content-path.js';
import { relations } from './relations.js';
import { servedPublication, versionKey } from './versions.js';

export interface FileIndex {
  files: Map<string, ContentRecord>;
  /** The same units ordered by relative path, for listings. */
  sorted: Array<[string, ContentRecord]>;
}

const indexCache = new Map<string, FileIndex>();

/** Relative path → unit for a version; versions never change, so this is cached (a few at a time). */
export function fileIndex(t: Tables, pub: PublicationRecord): FileIndex {
  const key = versionKey(pub.repository_id, pub.number);
  let idx = indexCache.get(key);
  if (idx) return idx;
  const files = new Map<string, ContentRecord>();
  for (const id of t.versions.get(key)?.content ?? []) {
    const c = t.content.get(id);
    if (c) files.set(c.relative_path, c);
  }
  idx = { files, sorted: [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) };
  const oldest = indexCache.keys().next();
  if (indexCache.size >= 16 && !oldest.done) indexCache.delete(oldest.value);
  indexCache.set(key, idx);
  return idx;
}

/** The distribution whose base path is the longest parent prefix of `rel` (pulpcore's `_base_paths`). */
export function distributionOf(t: Tables, rel: string): DistributionRecord | undefined {
  const at = relations(t);
  // Parent prefixes of the path, longest first, as pulpcore's _base_paths: "a/b/c" → a/b, a.
  for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) {
    const dist = at.find('distributionsAt', rel.slice(0, i))[0];
    if (dist) return dist;
  }
  return undefined;
}

/** A distribution's publication and the lookup key of `rel` inside it; null when it serves none. */
export function servedAt(t: Tables, dist: DistributionRecord, rel: string): { pub: PublicationRecord; inner: string } | null {
  const pub = servedPublication(t, dist);
  return pub ? { pub, inner: contentInnerPath(rel.slice(dist.base_path.length + 1)) } : null;
}

/** The blob served for the file `inner` of a publication (its manifest or a unit), if any. */
export function servedBlob(t: Tables, pub: PublicationRecord, inner: string): ServedBlob | null {
  return blobsOf(t, pub)(inner);
}

/** What `servedBlob` answers, for many files of one publication: its file index is found once. */
export function blobsOf(t: Tables, pub: PublicationRecord): (inner: string) => ServedBlob | null {
  const { files } = fileIndex(t, pub);
  const manifest = pub.manifest !== null && pub.manifest_sha256 ? { name: pub.manifest, blob: { sha256: pub.manifest_sha256 } } : null;
  return (inner) => (manifest && inner === manifest.name ? manifest.blob : (files.get(inner) ?? null));
}

/** A blob the content app serves: a unit's (with its artifact) or a publication's manifest. */
export interface ServedBlob {
  sha256: string;
  artifact_id?: string;
}
