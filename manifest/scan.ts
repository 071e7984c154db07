/**
 * scanTree: the PULP_MANIFEST entries of a filesystem tree, read from the cache where a file's
 * stat is unchanged and hashed on worker threads where it is not.
 *
 * The walk (main thread) and the hashing (workers) overlap: cache misses are batched as they are
 * found (hash-queue.ts). A scan with no cache records does not stat files in the walk: the hash
 * threads stat what they open (HashRequest.unsized).
 */
import fs from 'node:fs';
import os from 'node:os';
import { CacheIndex, defaultCacheFile, loadCache, saveCache, type CacheRecord, type LoadedCache } from './cache.js';
import { compileExclude } from './exclude.js';
import { canonicalManifest, manifestDigest, sortEntries } from './digest.js';
import { ScanOptionError, SymlinkError, TreeBusyError, TreeChangingError, TreeNotFoundError, UnreadableFilesError } from './errors.js';
import { HashPool } from './hash-pool.js';
import { HashQueue } from './hash-queue.js';
import { LOCAL_RACY_WINDOW_MS, fsTypeOf, racyWindowFor, type RootFs } from './racy.js';
import { RECENT_NS, checkQuiet, scanStartNs } from './quiet.js';
import type { HashResult } from './hash-protocol.js';
import { changedNs, countSkipped, recordOf, statFile, statKey, walkTree, type FileRecord, type SymlinkPolicy, type UnreadablePath, type WalkedFile } from './walk.js';
import type { ManifestEntry, ScanOptions, ScanProgress, ScanStats } from './types.js';

export { writeManifest } from './write.js';
export type { ScanOptions, ScanProgress, ScanStats } from './types.js';

/** A file whose stat changes across this many reads is reported as changing. */
const MAX_ATTEMPTS = 3;
const PROGRESS_INTERVAL_MS = 100;
const SYMLINK_POLICIES: readonly SymlinkPolicy[] = ['follow', 'strict', 'skip'];

/** The result of scanTree. */
export interface ScanResult {
  /** Sorted bytewise by relativePath. */
  readonly entries: ManifestEntry[];
  /** DESIGN.md's tree digest: sha256 of the canonical PULP_MANIFEST. */
  digest: string;
  /** The canonical PULP_MANIFEST text of `entries`, built on first read (writeManifest's `text`). */
  readonly manifest: string;
  stats: ScanStats;
  /** The real path of the tree that was scanned (the root with every symlink resolved). */
  root: string;
}

/**
 * Scan a tree: every regular file's relative path, sha256 and size. The file named PULP_MANIFEST
 * at the root is left out; so are devices, sockets and fifos, names Pulp cannot carry, excluded
 * paths and symlinks per `symlinks` (all counted or named in `stats`). Throws SymlinkError under
 * `symlinks: 'strict'` when a link dangles, leaves the tree or loops. Throws UnreadableFilesError naming
 * every path that could not be read, TreeNotFoundError when root is not a directory.
 */
export async function scanTree(root: string, options: ScanOptions = {}): Promise<ScanResult> {
  const started = nowMs();
  const {
    cacheFile,
    exclude = [],
    omit = [],
    symlinks = 'follow',
    signal,
    onProgress,
    workers = os.availableParallelism(),
    env = process.env,
    racyWindowMs,
    requireQuiet = false,
    settleMs,
    inProgressMarker,
  } = options;
  if (settleMs !== undefined && !(Number.isFinite(settleMs) && settleMs >= 0)) throw new ScanOptionError('settleMs', `\`settleMs\` must be a number ≥ 0, got ${settleMs}`);
  if (!Number.isInteger(workers) || workers < 1) throw new ScanOptionError('workers', `\`workers\` must be an integer ≥ 1, got ${workers}`);
  if (!SYMLINK_POLICIES.includes(symlinks)) throw new ScanOptionError('symlinks', `\`symlinks\` must be one of ${SYMLINK_POLICIES.join(', ')}, got ${JSON.stringify(symlinks)}`);
  if (racyWindowMs !== undefined && !Number.isFinite(racyWindowMs)) throw new ScanOptionError('racyWindowMs', `\`racyWindowMs\` must be a finite number, got ${racyWindowMs}`);
  signal?.throwIfAborted();
  const { real: realRoot, dev: rootDev } = await resolveRoot(root);
  // A file stamped after `start - window` may have been rewritten in the tick we read it in
  // (see racyWindowMs): its digest is not cached. The window is the caller's, or fits the file (racy.ts).
  const racyStartMs = BigInt(Date.now());
  const racyAfterNs = (windowMs: number, startMs = racyStartMs) => (startMs - BigInt(Math.round(windowMs))) * 1_000_000n;
  const fixedRacyAfterNs = racyWindowMs === undefined ? undefined : racyAfterNs(racyWindowMs);
  const stampsFs: RootFs = { type: fsTypeOf(realRoot), dev: rootDev };
  const rootFs: RootFs | undefined = racyWindowMs === undefined ? stampsFs : undefined;
  /**
   * An unsized file's read is whole when the file last changed before the scan started by more
   * than its racy window, whatever window the caller gave for caching: any write during the read
   * would have stamped it later (HashRequest.unsized).
   */
  const changedBeforeScan = (r: { mtimeNs: string; ctimeNs: string; dev: string }) => changedNs(r) <= racyAfterNs(racyWindowFor(stampsFs, r));
  const cacheable = (r: { mtimeNs: string; ctimeNs: string; dev: string }, relativePath: string) => {
    // A fresh file (below) was read after fresh.sentMs, not merely after the scan's start.
    const start = fresh.sentMs !== undefined && fresh.paths.has(relativePath) ? fresh.sentMs : racyStartMs;
    const after = fixedRacyAfterNs ?? racyAfterNs(racyWindowFor(rootFs!, r), start);
    return BigInt(r.mtimeNs) <= after && BigInt(r.ctimeNs) <= after;
  };
  /**
   * Files a rescan found changed less than the short window ago, on a filesystem that has one
   * (racy.ts): hashed once that window has passed, so that their digests can be cached. Else a
   * rescan just after a writer finished would hash them, not cache them, and the next rescan would
   * hash them again. The wait is at most the short window, while the other files are hashed.
   */
  const fresh = { files: [] as FileRecord[], paths: new Set<string>(), sentMs: undefined as bigint | undefined };
  // The walk's lstat does not keep st_dev: the root's stands in (a file elsewhere is judged by the
  // thread's stat when it is cached).
  const isFresh = (f: FileRecord) => {
    if (!rootFs) return false;
    const onRoot = { ...f, dev: rootFs.dev };
    return racyWindowFor(rootFs, onRoot) === LOCAL_RACY_WINDOW_MS && !cacheable(onRoot, f.relativePath);
  };
  const isExcluded = await compileExclude(exclude);
  const isMarker = inProgressMarker === undefined ? undefined : await compileExclude([inProgressMarker]);
  // Quiescence needs every file's change time; a plain scan pays nothing for it.
  const watch = requireQuiet || settleMs !== undefined;
  const startNs = scanStartNs(Date.now());
  const recentAfterNs = startNs - RECENT_NS;
  let newestNs = 0n;
  let newestPath = '';
  const recent: FileRecord[] = [];
  const noteChange = (f: FileRecord) => {
    const changed = changedNs(f);
    if (changed > newestNs) {
      newestNs = changed;
      newestPath = f.relativePath;
    }
    if (changed > recentAfterNs) recent.push(f);
  };
  // Plain concatenation: path.join's normalisation shows up in profiles at tens of thousands of files.
  const prefix = realRoot.endsWith('/') ? realRoot : realRoot + '/';

  const cachePath = cacheFile === false ? null : (cacheFile ?? defaultCacheFile(realRoot, env));
  let cacheError: string | undefined;
  let cache: LoadedCache | undefined;
  if (cachePath) {
    try {
      cache = await loadCache(cachePath, signal ? { signal } : {});
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      cacheError = `cannot read ${cachePath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
      cache = { records: new CacheIndex(), state: 'corrupt' };
    }
  }
  const oldRecords = cache?.records ?? new CacheIndex();
  // Files hashed now whose stat is old enough to cache; files answered from the cache are only
  // counted, their records taken from oldRecords if the cache is written.
  const newRecords = new Map<string, CacheRecord>();
  /**
   * Every file as the walk found it: the cache is written in that order, the order its next walk
   * looks the files up in (CacheIndex). A file the cache answered is its record's offset in the
   * cache (CacheIndex.find: nothing is kept per cached file during the walk), any other its path.
   */
  const walkOrder: (string | number)[] = [];

  /** The entries of the files hashed; a cached file's entry is read back from the cache when asked for. */
  const entries: ManifestEntry[] = [];
  const unreadable: UnreadablePath[] = [];
  const changing: string[] = [];
  const attempts = new Map<string, number>();
  // Regular files that became something else (a symlink, a fifo) between the walk and the read.
  const skippedLate = { symlinks: 0, devices: 0, sockets: 0, fifos: 0, other: 0 };
  const p: ScanProgress = { phase: 'walk', filesSeen: 0, filesToHash: 0, filesUnsized: 0, bytesToHash: 0, filesHashed: 0, bytesHashed: 0 };
  let cachedFiles = 0;
  let cachedBytes = 0;
  let vanished = 0;
  let lastReport = 0;
  const report = (force = false) => {
    if (!onProgress) return;
    const now = nowMs();
    if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    onProgress({ ...p });
  };

  const onBytes = (n: number) => {
    p.bytesHashed += n;
    report();
  };
  const pool = options.pool ?? new HashPool({ workers, ...(signal ? { signal } : {}) });
  const queue = new HashQueue({
    pool,
    prefix,
    workers,
    batch: { ...(signal ? { signal } : {}), onBytes },
    progress: p,
    settle: (files, results) => settle(files, results),
  });

  const settle = (files: WalkedFile[], results: HashResult[]) => {
    let deferred: FileRecord[] | undefined;
    for (let i = 0; i < files.length; i++) {
      const f = files[i];
      const r = results[i];
      const unsized = f.size === undefined;
      if (unsized) p.filesUnsized -= 1;
      if ('deferred' in r) {
        // Large: sent again with the stat the thread took, which the read is then checked against.
        p.filesToHash -= 1;
        const sized = threadRecord(f, r);
        if (watch) noteChange(sized);
        (deferred ??= []).push(sized);
        continue;
      }
      // ENOTREG: an unsized path that is no longer a regular file; ELOOP: one that became a symlink.
      if ('error' in r && r.error !== 'ELOOP' && r.error !== 'ENOTREG') {
        if (r.error === 'ENOENT') vanished += 1;
        else unreadable.push({ relativePath: f.relativePath, code: r.error });
        continue;
      }
      // Unchanged from the stat the walk took to the end of the read (unsized: not changed since
      // before the scan; a file changed since is read again below, as a sized one).
      if (!('error' in r) && r.bytes === r.size && (unsized ? changedBeforeScan(r) : statKey(r) === statKey(f))) {
        p.filesHashed += 1;
        if (unsized) {
          p.bytesToHash += r.size;
          if (watch) noteChange(threadRecord(f, r));
        }
        entries.push({ relativePath: f.relativePath, sha256: r.sha256, size: r.size });
        if (cacheable(r, f.relativePath)) {
          newRecords.set(f.relativePath, { key: statKey(r), sha256: r.sha256 });
        }
        continue;
      }
      // The file changed between the walk and the end of the read (or during it), or became a
      // symlink (ELOOP): look again, so that the digest and the cache key describe the same bytes.
      if (!('error' in r)) p.bytesHashed -= r.bytes;
      p.filesToHash -= 1;
      p.bytesToHash -= f.size ?? 0;
      const n = (attempts.get(f.relativePath) ?? 1) + 1;
      attempts.set(f.relativePath, n);
      if (n > MAX_ATTEMPTS) {
        changing.push(f.relativePath);
        continue;
      }
      let st;
      try {
        st = statFile(f.source ?? prefix + f.relativePath);
      } catch (err) {
        unreadable.push({ relativePath: f.relativePath, code: (err as NodeJS.ErrnoException).code ?? 'EIO' });
        continue;
      }
      if (!st) {
        vanished += 1;
        continue;
      }
      if (!st.isFile()) {
        countSkipped(st, skippedLate);
        continue;
      }
      const again = recordOf(f.relativePath, st);
      if (f.source) again.source = f.source;
      // The walk noted no stat of an unsized file: this one stands for it in the quiescence check.
      if (watch && unsized) noteChange(again);
      queue.sendNow([again]);
    }
    if (deferred) queue.sendNow(deferred);
    report();
  };

  let walked;
  // A pool of our own is closed while the cache is saved (its threads take ~15 ms to stop);
  // on an error it is closed before the error leaves.
  let closing: Promise<void> | undefined;
  try {
    walked = await walkTree(realRoot, {
      symlinks,
      ...(isExcluded ? { isExcluded } : {}),
      omit: new Set(['PULP_MANIFEST', ...omit]),
      ...(signal ? { signal } : {}),
      ...(isMarker ? { isMarker } : {}),
      statDirs: watch,
      // Nothing cached, so no stat to compare with: the hash threads stat what they open.
      statFiles: oldRecords.size > 0,
      onFile: (f) => {
        p.filesSeen += 1;
        if (f.size === undefined) {
          walkOrder.push(f.relativePath);
          return queue.addUnsized(f);
        }
        if (watch) noteChange(f);
        const line = oldRecords.find(f.relativePath, statKey(f));
        if (line >= 0) {
          walkOrder.push(line);
          cachedFiles += 1;
          cachedBytes += f.size;
          if ((cachedFiles & 1023) === 0) report();
          return;
        }
        walkOrder.push(f.relativePath);
        if (isFresh(f)) {
          fresh.files.push(f);
          fresh.paths.add(f.relativePath);
          return;
        }
        return queue.add(f);
      },
    });
    queue.flush();
    if (fresh.files.length > 0) {
      let newest = 0n;
      for (const f of fresh.files) {
        const changed = changedNs(f);
        if (changed > newest) newest = changed;
      }
      const waitMs = Number(newest / 1_000_000n) + LOCAL_RACY_WINDOW_MS + 1 - Date.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, LOCAL_RACY_WINDOW_MS + 1)));
      signal?.throwIfAborted();
      // The reads start after this instant: a file stamped a window before it cannot change unseen.
      fresh.sentMs = BigInt(Date.now());
      for (const f of fresh.files) await queue.add(f);
      queue.flush();
    }
    p.phase = 'hash';
    report(true);
    // settle() may send retries and deferred files: drain waits for those too.
    await queue.drain();
    if (!options.pool) closing = pool.close();
  } finally {
    if (!options.pool && !closing) await pool.close();
  }
  let written = false;
  const files = entries.length + cachedFiles;
  let sorted: ManifestEntry[] | undefined;
  // The cached files' entries are built only when something asks for them: an unchanged rescan
  // whose digest the cache holds, writing a manifest that did not change, never does.
  const sortedEntries = () => {
    if (sorted) return sorted;
    const all = entries.slice();
    for (const x of walkOrder) if (typeof x === 'number') all.push(oldRecords.entryAt(x));
    return (sorted = sortEntries(all));
  };
  let digest = '';
  let manifest: string | undefined;
  try {
    signal?.throwIfAborted();
    vanished += walked.vanished;
    report(true);

    // Every entry from the cache and every record used: the entries are the records, and the cache
    // holds the digest of their manifest when the scan that wrote it stored one.
    const allCached = entries.length === 0 && cachedFiles === oldRecords.size;
    const asCached = allCached ? cache?.manifestDigest : undefined;
    if (asCached !== undefined) digest = asCached;
    else {
      manifest = canonicalManifest(sortedEntries());
      digest = manifestDigest(manifest);
    }
    // The cache is saved even when the scan fails below: the files that were hashed need not be
    // read again. A cache without the digest line (an older pulpdist's) is written once more for it.
    const dirty = p.filesHashed > 0 || cache?.state !== 'loaded' || cachedFiles + newRecords.size !== oldRecords.size || (allCached && asCached === undefined);
    if (cachePath && dirty) {
      try {
        // A file is either answered from the cache or hashed (and cached if old enough), never both.
        const records = new Map<string, CacheRecord>();
        for (const x of walkOrder) {
          if (typeof x === 'number') records.set(oldRecords.pathAt(x), oldRecords.recordAt(x));
          else {
            const r = newRecords.get(x);
            if (r) records.set(x, r);
          }
        }
        // Each record is an entry's; as many records as entries: the same files, so the digest is theirs.
        const sameFiles = records.size === files;
        await saveCache(cachePath, realRoot, records, { ...(signal ? { signal } : {}), ...(sameFiles ? { manifestDigest: digest } : {}) });
        written = true;
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        cacheError = `cannot write ${cachePath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
      }
    }
  } finally {
    await closing;
  }
  const allUnreadable = [...walked.unreadable, ...unreadable];
  if (allUnreadable.length > 0) throw new UnreadableFilesError(realRoot, sortByPath(allUnreadable));
  if (changing.length > 0) throw new TreeChangingError(realRoot, changing.sort());
  if (walked.markers.length > 0) throw new TreeBusyError(realRoot, 'marker', walked.markers.sort());
  if (watch) checkQuiet(realRoot, prefix, { requireQuiet, startNs, recent, dirs: walked.dirs, newestNs, newestPath, ...(settleMs !== undefined ? { settleMs } : {}) });
  const skippedLinks = walked.links.skipped.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
  if (symlinks === 'strict' && skippedLinks.length > 0) throw new SymlinkError(realRoot, skippedLinks);

  let bytes = cachedBytes;
  for (const e of entries) bytes += e.size;
  const stats: ScanStats = {
    files,
    bytes,
    hashedFiles: p.filesHashed,
    hashedBytes: p.bytesHashed,
    cachedFiles,
    cachedBytes,
    unrepresentable: walked.unrepresentable.sort(),
    skipped: addCounts(walked.skipped, skippedLate),
    excluded: walked.excluded,
    links: { followed: walked.links.followed, skipped: skippedLinks },
    vanished,
    durationMs: nowMs() - started,
    cache: {
      file: cachePath,
      state: cache?.state ?? 'disabled',
      written,
      ...(cacheError ? { error: cacheError } : {}),
    },
  };
  return {
    // Both built on first use: an unchanged rescan whose digest came from the cache may need neither.
    get entries() {
      return sortedEntries();
    },
    digest,
    get manifest() {
      manifest ??= canonicalManifest(sortedEntries());
      return manifest;
    },
    stats,
    root: realRoot,
  };
}

/**
 * Milliseconds on a monotonic clock. Not perf_hooks' performance.now(): loading perf_hooks costs
 * every `pulpdist manifest` process a dozen built-in modules, compiled at start-up by this Node.
 */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The FileRecord of a walked file with the stat its hash thread took. */
function threadRecord(f: WalkedFile, r: Pick<FileRecord, 'size' | 'mtimeNs' | 'ctimeNs' | 'ino'>): FileRecord {
  const rec: FileRecord = { relativePath: f.relativePath, size: r.size, mtimeNs: r.mtimeNs, ctimeNs: r.ctimeNs, ino: r.ino };
  if (f.source) rec.source = f.source;
  return rec;
}

// Synchronous: two calls, and node:fs/promises is not loaded by a scan that writes nothing.
async function resolveRoot(root: string): Promise<{ real: string; dev: string }> {
  let real: string;
  try {
    real = fs.realpathSync.native(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TreeNotFoundError(root, code === 'ENOENT' ? 'no such directory' : `cannot be opened (${code})`);
  }
  const st = fs.statSync(real, { bigint: true });
  if (!st.isDirectory()) throw new TreeNotFoundError(root, 'not a directory');
  return { real, dev: st.dev.toString() };
}

function addCounts(a: ScanStats['skipped'], b: ScanStats['skipped']): ScanStats['skipped'] {
  return { symlinks: a.symlinks + b.symlinks, devices: a.devices + b.devices, sockets: a.sockets + b.sockets, fifos: a.fifos + b.fifos, other: a.other + b.other };
}

function sortByPath(items: UnreadablePath[]): UnreadablePath[] {
  return items.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
}
