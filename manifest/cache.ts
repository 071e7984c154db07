/**
 * The rescan cache: (relative path, size, mtime ns, ctime ns, inode) → sha256.
 *
 * Format (UTF-8 text, one record a line; paths cannot hold NUL, and paths with a line break are
 * never listed, so never cached):
 *
 *     pulpdist-manifest-cache 1 <root>\n
 *     manifest <tree digest>\n                                               (optional, see below)
 *     <sha256>\0<size>\0<mtimeNs>\0<ctimeNs>\0<ino>\0<relative path>\n   (one per file)
 *     end <records> <sha256 of every byte above>\n
 *
 * The closing line is what makes a torn or edited file detectable: a cache whose checksum or
 * count does not match is ignored as a whole (never trusted in part) and rebuilt by the scan.
 * The `manifest` line is written when the records are exactly the scan's entries: the tree digest
 * of those entries, which a rescan that finds exactly these files, all unchanged, reuses instead
 * of building and hashing the manifest again.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import type { ManifestEntry } from './types.js';

const MAGIC = 'pulpdist-manifest-cache 1';

/** One cached file: its stat key (see walk.ts `statKey`) and sha256. */
export interface CacheRecord {
  key: string;
  sha256: string;
}

/** A loaded cache: records by relative path, and why it is empty when it is. */
export interface LoadedCache {
  records: CacheIndex;
  state: 'missing' | 'loaded' | 'corrupt';
  /** The tree digest of exactly these records as manifest entries, when the scan that wrote them stored it. */
  manifestDigest?: string;
}

/**
 * A parsed cache's records, kept as the file's text. A scan writes them in the order its walk
 * found the files, and the next walk of an unchanged tree finds them in that order again, so
 * `match` first compares in place at a cursor: no Map, no record object, no string but the
 * sha256 of a hit. The first lookup out of order (a file added, removed or listed differently)
 * builds a path → line offset Map of every record and answers from it from then on. With this
 * Node running a rescan without TurboFan, building that Map costs ~15 ms for 10,048 records.
 * Line layout: `<sha256 (64)>\0<key>\0<path>\n`, so a key starts 65 characters into its line.
 */
export class CacheIndex {
  private cursor: number;
  private index: Map<string, number> | undefined;

  /** `body`: the header and the records, as parseCache checked them; `size`: their count; `first`: where they start. */
  constructor(
    private readonly body: string = '',
    readonly size: number = 0,
    private readonly first: number = 0,
  ) {
    this.cursor = first;
    if (size === 0) this.index = new Map();
  }

  /** The cached sha256 of `relativePath` when its stat key is exactly `key`. */
  match(relativePath: string, key: string): string | undefined {
    const line = this.find(relativePath, key);
    return line < 0 ? undefined : this.body.slice(line, line + 64);
  }

  /**
   * Where the record of `relativePath` starts when its stat key is exactly `key`, else -1. A scan
   * keeps these offsets (small integers, no allocation) rather than an entry per cached file:
   * objects kept through the walk are copied by each of its young-generation collections, ~25 ms
   * of an unchanged rescan of 10,000 files (measured, December 2026). `entryAt` and `recordAt`
   * read a record back.
   */
  find(relativePath: string, key: string): number {
    const { body } = this;
    if (this.index === undefined) {
      const c = this.cursor;
      // Each field is followed by its separator, so "starts with it, then the separator" is equality
      // (a stat key holds three NULs, the key field as many).
      const k = c + 65;
      const r = k + key.length + 1;
      if (body.startsWith(key, k) && body.charCodeAt(r - 1) === 0 && body.startsWith(relativePath, r) && body.charCodeAt(r + relativePath.length) === 0x0a) {
        this.cursor = r + relativePath.length + 1;
        return c;
      }
      const p = keyEnd(body, c);
      const nl = body.indexOf('\n', p);
      if (p >= 0 && nl - p - 1 === relativePath.length && body.startsWith(relativePath, p + 1)) {
        this.cursor = nl + 1; // this file, in order, with another stat: changed
        return -1;
      }
      this.index = this.buildIndex();
    }
    const a = this.index.get(relativePath);
    if (a === undefined) return -1;
    if (!body.startsWith(key, a + 65) || body.charCodeAt(a + 65 + key.length) !== 0) return -1;
    return a;
  }

  /** The manifest entry of the record at `line` (an offset `find` returned). */
  entryAt(line: number): ManifestEntry {
    const { body } = this;
    return { relativePath: this.pathAt(line), sha256: body.slice(line, line + 64), size: Number(body.slice(line + 65, body.indexOf('\0', line + 65))) };
  }

  /** The relative path of the record at `line`. */
  pathAt(line: number): string {
    const { body } = this;
    const at = keyEnd(body, line) + 1;
    return body.slice(at, body.indexOf('\n', at));
  }

  get(relativePath: string): CacheRecord | undefined {
    this.index ??= this.buildIndex();
    const a = this.index.get(relativePath);
    return a === undefined ? undefined : this.recordAt(a);
  }

  *[Symbol.iterator](): IterableIterator<[string, CacheRecord]> {
    this.index ??= this.buildIndex();
    for (const [rel, a] of this.index) yield [rel, this.recordAt(a)];
  }

  private buildIndex(): Map<string, number> {
    const { body } = this;
    const at = new Map<string, number>();
    for (let line = this.first; line < body.length; ) {
      const nl = body.indexOf('\n', line);
      at.set(body.slice(keyEnd(body, line) + 1, nl), line);
      line = nl + 1;
    }
    return at;
  }

  /** The record at `line` (an offset `find` returned). */
  recordAt(a: number): CacheRecord {
    return { key: this.body.slice(a + 65, keyEnd(this.body, a)), sha256: this.body.slice(a, a + 64) };
  }
}

/**
 * The default cache file of a tree: `$XDG_CACHE_HOME/pulpdist/` (or `~/.cache/pulpdist/`), named
 * by a hash of the tree's real path so that every tree has its own.
 */
export function defaultCacheFile(realRoot: string, env: Record<string, string | undefined>): string {
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  const xdg = env['XDG_CACHE_HOME'];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env['HOME'] || os.homedir(), '.cache');
  const id = createHash('sha256').update(realRoot).digest('hex').slice(0, 32);
  return path.join(base, 'pulpdist', `manifest-${id}.cache`);
}

/**
 * Parse a cache; a wrong header, count or checksum gives `corrupt` and no records. Given bytes (as
 * loadCache reads them), the checksum is taken on them rather than on a re-encoding of the text:
 * 1 ms instead of 7 for a 10,048-file tree's 1.5 MB (measured, December 2026).
 */
export function parseCache(data: Buffer | string): LoadedCache {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const corrupt: LoadedCache = { records: new CacheIndex(), state: 'corrupt' };
  if (bytes.subarray(0, MAGIC.length + 1).toString('latin1') !== MAGIC + ' ') return corrupt;
  if (bytes[bytes.length - 1] !== 0x0a) return corrupt;
  const endAt = bytes.lastIndexOf('\nend ', bytes.length - 2);
  if (endAt < 0) return corrupt;
  const m = /^end (\d+) ([0-9a-f]{64})\n$/.exec(bytes.subarray(endAt + 1).toString('latin1'));
  if (!m || createHash('sha256').update(bytes.subarray(0, endAt + 1)).digest('hex') !== m[2]) return corrupt;
  const body = bytes.subarray(0, endAt + 1).toString('utf8');
  // Every line's shape is checked here (a NUL after the sha256, four before the path, in the
  // line); the Map of paths is built only if a lookup needs it (CacheIndex).
  let first = body.indexOf('\n') + 1;
  let manifestDigest: string | undefined;
  if (body.startsWith('manifest ', first)) {
    const nl = body.indexOf('\n', first);
    manifestDigest = body.slice(first + 9, nl);
    if (!/^[0-9a-f]{64}$/.test(manifestDigest)) return corrupt;
    first = nl + 1;
  }
  let count = 0;
  for (let line = first; line < body.length; count++) {
    const nl = body.indexOf('\n', line);
    const p = keyEnd(body, line);
    if (body.charCodeAt(line + 64) !== 0 || p < 0 || p > nl) return corrupt;
    line = nl + 1;
  }
  if (count !== Number(m[1])) return corrupt;
  return { records: new CacheIndex(body, count, first), state: 'loaded', ...(manifestDigest ? { manifestDigest } : {}) };
}

/** Cache text for the records (the inverse of parseCache). */
export function formatCache(root: string, records: ReadonlyMap<string, CacheRecord>, manifestDigest?: string): string {
  return Buffer.concat(cacheBytes(root, records, manifestDigest)).toString('utf8');
}

/**
 * The cache file's bytes: the records, then the closing line. Lines joined once and encoded once,
 * the checksum taken on those bytes: `+=` on one string 10,000 times and a second encoding for the
 * write cost ~20 ms at 10,048 files. Two parts, written one after the other, not concatenated: a
 * copy of 1.5 MB of fresh memory costs ~5 ms more on this machine (docs/manifest.md).
 */
function cacheBytes(root: string, records: ReadonlyMap<string, CacheRecord>, manifestDigest: string | undefined): [Buffer, Buffer] {
  const head = `${MAGIC} ${root.replace(/\n/g, ' ')}\n` + (manifestDigest === undefined ? '' : `manifest ${manifestDigest}\n`);
  const lines = new Array<string>(records.size + 1);
  lines[0] = head;
  let i = 1;
  // forEach, not for…of: this runs once per scan, unoptimized, where a destructured entry per
  // record costs a third of the time (10,000 records: ~20 ms against ~32 ms here).
  records.forEach((r, rel) => {
    lines[i++] = `${r.sha256}\0${r.key}\0${rel}\n`;
  });
  const body = Buffer.from(lines.join(''), 'utf8');
  const sum = createHash('sha256').update(body).digest('hex');
  return [body, Buffer.from(`end ${records.size} ${sum}\n`, 'latin1')];
}

/**
 * Load a cache file; a missing one is `missing`, an unparsable one `corrupt`. Read synchronously
 * (one file, ~150 bytes per tree file): node:fs/promises is then not loaded by a rescan.
 */
export async function loadCache(file: string, options: { signal?: AbortSignal } = {}): Promise<LoadedCache> {
  options.signal?.throwIfAborted();
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: new CacheIndex(), state: 'missing' };
    throw err;
  }
  return parseCache(bytes);
}

/** Write a cache file atomically (private to the user: it lists the tree's paths). */
export async function saveCache(
  file: string,
  root: string,
  records: ReadonlyMap<string, CacheRecord>,
  options: { signal?: AbortSignal; manifestDigest?: string } = {},
): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Not fsync'ed: a cache cut short by a crash fails its checksum and is ignored (the next scan
  // hashes everything), so the two fsyncs (≈ 7–15 ms here for a 10,000-file tree's cache) buy nothing.
  await writeFileAtomic(file, cacheBytes(root, records, options.manifestDigest), { mode: 0o600, durable: false, ...(options.signal ? { signal: options.signal } : {}) });
}

/**
 * Where the key of the record starting at `line` ends: a record is the sha256 (64 characters), then
 * size, mtime, ctime and inode, each after a NUL, and the path after one more NUL, the one returned
 * here. -1 when the text has none.
 */
function keyEnd(body: string, line: number): number {
  let at = line + 64;
  for (let k = 0; k < 4 && at >= 0; k++) at = body.indexOf('\0', at + 1);
  return at;
}
