/**
 * Lookups a sync makes for every file: the artifact holding a sha256, the content unit for a
 * (relative path, sha256). Building these maps from every record on each sync made a sync's cost
 * grow with everything the site holds (a thousand syncs over a site that holds thousands of units).
 *
 * The index is a hint kept up to date on every put: a hit is checked against the record itself, and
 * an entry left stale by a delete is repaired by one scan, so an answer is always what a scan of
 * the tables would give (the newest record put for a key).
 */
import type { ArtifactRecord, ContentRecord, Op, Tables } from './records.js';

const contentKey = (relativePath: string, sha256: string): string => `${relativePath}\0${sha256}`;

export class StoreIndex {
  private readonly artifacts = new Map<string, string>();
  private readonly content = new Map<string, string>();

  constructor(private readonly t: Tables) {
    for (const a of t.artifacts.values()) this.artifacts.set(a.sha256, a.id);
    for (const c of t.content.values()) this.content.set(contentKey(c.relative_path, c.sha256), c.id);
  }

  /** Note the records `ops` put (call after they were applied). */
  note(ops: readonly Op[]): void {
    for (const op of ops) {
      if (!('put' in op)) continue;
      if (op.put === 'artifacts') {
        const a = op.v as ArtifactRecord;
        this.artifacts.set(a.sha256, a.id);
      } else if (op.put === 'content') {
        const c = op.v as ContentRecord;
        this.content.set(contentKey(c.relative_path, c.sha256), c.id);
      }
    }
  }

  /** Id of the artifact with this sha256, if the site holds one. */
  artifactId(sha256: string): string | undefined {
    const id = this.artifacts.get(sha256);
    if (id === undefined || this.t.artifacts.get(id)?.sha256 === sha256) return id;
    // Deleted since it was noted: another record may hold the same digest.
    this.artifacts.delete(sha256);
    for (const a of this.t.artifacts.values()) if (a.sha256 === sha256) this.artifacts.set(sha256, a.id);
    return this.artifacts.get(sha256);
  }

  /** Id of a content unit for this path and sha256, if the site holds one. */
  contentId(relativePath: string, sha256: string): string | undefined {
    const key = contentKey(relativePath, sha256);
    const id = this.content.get(key);
    if (id === undefined) return undefined;
    const c = this.t.content.get(id);
    if (c && c.relative_path === relativePath && c.sha256 === sha256) return id;
    this.content.delete(key);
    for (const u of this.t.content.values()) if (u.relative_path === relativePath && u.sha256 === sha256) this.content.set(key, u.id);
    return this.content.get(key);
  }
}
