/**
 * What each managed distribution published last time we looked, kept by the caller between
 * passes (and by `pulpdist plan` on disk between runs). An entry stays valid while the
 * distribution serves (a publication of) the same repository version under the same base path: a
 * version never changes, so a converged network is observed without reading a single manifest,
 * and a publication deleted by hand (a fallback to another version, or nothing) always misses.
 */
import type { TreeSummary } from './plan-types.js';

export interface PublishedCacheEntry {
  basePath: string;
  /** The distribution's repository href, and the repository version whose publication it served. */
  repository: string | null;
  versionHref: string | null;
  /** The content app's validator, for a conditional re-read. */
  etag: string | null;
  tree: TreeSummary | null;
}

/**
 * Serialized form: trees without their entries (only digests and counts persist). Version 2: keyed
 * on the version served; a version 1 file (keyed on the repository's latest version, which could
 * hide a deleted publication) is dropped.
 */
export interface PublishedCacheDocument {
  version: 2;
  entries: [string, PublishedCacheEntry][];
}

export class PublishedCache {
  readonly #entries = new Map<string, PublishedCacheEntry>();

  static key(site: string, distribution: string): string {
    return `${site}\u0000${distribution}`;
  }

  get(site: string, distribution: string): PublishedCacheEntry | undefined {
    return this.#entries.get(PublishedCache.key(site, distribution));
  }

  set(site: string, distribution: string, entry: PublishedCacheEntry): void {
    this.#entries.set(PublishedCache.key(site, distribution), entry);
  }

  /** Forget the distributions of `site` that are no longer there, so the cache cannot grow without bound. */
  retain(site: string, distributions: ReadonlySet<string>): void {
    const prefix = `${site}\u0000`;
    for (const k of this.#entries.keys()) {
      if (k.startsWith(prefix) && !distributions.has(k.slice(prefix.length))) this.#entries.delete(k);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  toJSON(): PublishedCacheDocument {
    const entries: [string, PublishedCacheEntry][] = [];
    for (const [k, e] of this.#entries) entries.push([k, { ...e, tree: e.tree && { ...e.tree, entries: null } }]);
    return { version: 2, entries };
  }

  /** A cache from its serialized form; anything malformed gives an empty cache (it is only a cache). */
  static fromJSON(doc: unknown): PublishedCache {
    const c = new PublishedCache();
    const d = doc as Partial<PublishedCacheDocument> | null;
    if (!d || d.version !== 2 || !Array.isArray(d.entries)) return c;
    for (const item of d.entries) {
      if (!Array.isArray(item) || typeof item[0] !== 'string' || !item[1] || typeof item[1] !== 'object') continue;
      const e = item[1];
      if (typeof e.basePath !== 'string') continue;
      const t = e.tree;
      const tree = t && typeof t.digest === 'string' && typeof t.files === 'number' && typeof t.bytes === 'number'
        ? { digest: t.digest, files: t.files, bytes: t.bytes, entries: null }
        : null;
      c.#entries.set(item[0], { basePath: e.basePath, repository: e.repository ?? null, versionHref: e.versionHref ?? null, etag: e.etag ?? null, tree });
    }
    return c;
  }
}
