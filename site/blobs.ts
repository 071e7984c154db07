/**
 * The content-addressed file store: `DATA/artifacts/ab/cdef…` named by sha256. A blob is written to
 * a temp file `DATA/artifacts/ab/.tmp-<uuid>` in its own shard directory (creates and the rename
 * then spread over 256 directory locks, and the rename stays within one directory), verified by the
 * writer, made durable, and only then renamed to its digest, so a digest name always holds exactly
 * the bytes it promises; a crash leaves at most a `.tmp-` file, and those are swept at start-up.
 * Directories touched by renames are made durable before the metadata that names them is committed
 * (`syncDirs`). Both are done in bulk, by one syncfs of the store's filesystem, where the system has
 * it (`flush.ts`) and there are at least `BULK_MIN` files or directories to cover; else file by
 * file, which is cheaper for the few blobs of a small sync.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, mkdirSync, open, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { IO_CHUNK, ioBuffers } from '../core/buffer-pool.js';
import { createFsFlusher, type FsFlusher } from './flush.js';
import { Gate } from './io-gate.js';
import { datasync, fsyncDir, writeFully } from './durable-io.js';

/** Name prefix of temp blobs (never a hex digest, so never served). */
export const TEMP_PREFIX = '.tmp-';

/**
 * Fewest files (or directories) for which one syncfs is used instead of an fdatasync (fsync) each.
 * A syncfs runs `sync` (forked by the store's shell, flush.ts) and waits for every writer's dirty
 * data on the filesystem, against ≈ 0.2–0.4 ms of CPU per fdatasync and ≈ 0.05 ms per directory
 * fsync. When the site spawned `sync` itself, a pass of a thousand 3-file syncs per site paid two
 * spawns per sync and doubled the sites' CPU.
 */
export const BULK_MIN = 32;

/**
 * Smallest blob whose hash state is kept for append-aware downloads (append.ts): below it, hashing
 * the old bytes again costs under a millisecond.
 */
export const HASH_STATE_MIN = 1024 * 1024;
/** How many hash states are kept (the newest): a few hundred bytes each. */
export const HASH_STATES_KEPT = 4096;

/**
 * A create this slow (ms) sends creates to the thread pool for a while. Far below the gate's
 * SLOW_CALL_MS for reads: a create that costs this much CPU in the kernel (0.13–0.35 ms each on an
 * ext4 without a journal after mass deletions, 30–50 µs otherwise) is better made on a pool thread,
 * beside the event loop.
 */
export const SLOW_CREATE_MS = 0.2;

/** From this many blobs asked for at once, `sizesFor` may list the shards instead of a stat each. */
export const LIST_SHARDS_AT = 1024;

/** Where a site's blobs live below its data directory: one file per sha256, in 256 shard directories. */
export function artifactsDir(dataDir: string): string {
  return path.join(dataDir, 'artifacts');
}

/** A temp file being written (a raw descriptor: see `createTemp`). */
export interface TempBlob {
  path: string;
  fd: number;
  /** Bytes `write` holds back until they fill a chunk: a pooled buffer, taken at the first write. */
  pending: Buffer | null;
  fill: number;
}

export class BlobStore {
  readonly root: string;
  readonly tmpDir: string;
  private dirtyDirs = new Set<string>();
  /** Directory flushes under way, whoever started them (see `syncDirs`). */
  private dirFlushes = new Set<Promise<void>>();
  private readonly flusher: FsFlusher;
  /** sha256 → hash state after that blob's bytes (finishHash), oldest first. */
  private readonly hashStates = new Map<string, Hash>();
  /** Whether temp files are created on the event loop (see `create`; tests close it by hand). */
  readonly createGate = new Gate();
  /**
   * Temp names: this store's random prefix and a count. A UUID per file cost ~20 µs of a sync's
   * event loop each; a name only needs to differ from every other temp of this data directory.
   */
  private readonly tempPrefix = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}-`;
  private temps = 0;

  constructor(readonly dataDir: string) {
    this.root = artifactsDir(dataDir);
    this.tmpDir = path.join(dataDir, 'tmp');
    this.flusher = createFsFlusher(this.root);
  }

  /** How blobs are made durable: `syncfs` (in bulk, for large syncs) or `fdatasync` (file by file). */
  get durability(): 'syncfs' | 'fdatasync' {
    return this.flusher.available ? 'syncfs' : 'fdatasync';
  }

  /** syncfs runs so far, background ones included (tests, benchmarks). */
  get syncfsRuns(): number {
    return this.flusher.runs;
  }

  /** Create the directories and remove temp files a crash left behind; returns how many. */
  async init(): Promise<number> {
    await mkdir(this.root, { recursive: true });
    // DATA/tmp held temp files in earlier versions; it is only swept now.
    await rm(this.tmpDir, { recursive: true, force: true });
    let swept = 0;
    const shards = new Set(await readdir(this.root));
    for (const shard of shards) {
      const dir = path.join(this.root, shard);
      for (const f of await readdir(dir).catch(() => [] as string[])) {
        if (!f.startsWith(TEMP_PREFIX)) continue;
        await rm(path.join(dir, f), { force: true });
        swept++;
      }
    }
    // All 256 shards now, not on a sync's first blob in each: making a directory allocates an
    // inode, and on a fresh store the 256 of them were 9% of a first sync's samples (perf).
    for (let i = 0; i < 256; i++) {
      const shard = i.toString(16).padStart(2, '0');
      if (!shards.has(shard)) await mkdir(path.join(this.root, shard), { recursive: true });
    }
    await this.flusher.probe();
    return swept;
  }

  /** Where the blob with this digest lives. */
  pathOf(sha256: string): string {
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2));
  }

  /** Size of the stored blob, or null when it is absent (a synchronous stat: see `createTemp`). */
  sizeOf(sha256: string): number | null {
    return statSync(this.pathOf(sha256), { throwIfNoEntry: false })?.size ?? null;
  }

  /**
   * `sizeOf` for `count` blobs asked for at once. When they are many against the `held` blobs the
   * store holds, the 256 shard directories are listed once and a blob not listed is absent without
   * a stat of its own: in a process just started, 10,000 stats took 75–105 ms here, listing the
   * shards 8 ms plus ~2 µs per stored blob. A blob listed is still stat'ed for its size. A blob
   * renamed in after the listing is answered absent and fetched again, as after a stat.
   */
  sizesFor(count: number, held: number): (sha256: string) => number | null {
    const stat = (sha256: string) => this.sizeOf(sha256);
    if (count < LIST_SHARDS_AT || count * 4 < held) return stat;
    const listed = new Set<string>();
    for (let i = 0; i < 256; i++) {
      const shard = i.toString(16).padStart(2, '0');
      let names: string[];
      try {
        names = readdirSync(path.join(this.root, shard));
      } catch {
        return stat; // a shard removed by hand: `createTemp` makes it again
      }
      for (const name of names) listed.add(shard + name);
    }
    return (sha256) => (listed.has(sha256) ? stat(sha256) : null);
  }

  /**
   * A fresh temp file to write into. Writes, close and rename are synchronous on purpose: they only
   * touch the page cache and take microseconds, while the 4-thread libuv pool would queue them
   * behind fsyncs; the fsync goes to the pool, and so does the create once one was slow (`create`).
   */
  async createTemp(sha256: string): Promise<TempBlob> {
    const dir = path.join(this.root, sha256.slice(0, 2));
    const p = `${dir}${path.sep}${this.tempPrefix}${(++this.temps).toString(36)}`;
    const fd = await this.create(p).catch((err: NodeJS.ErrnoException) => {
      // `init` made every shard; one removed since (by hand) is made again.
      if (err.code !== 'ENOENT') throw err;
      mkdirSync(dir, { recursive: true });
      return this.create(p);
    });
    return { path: p, fd, pending: null, fill: 0 };
  }

  /**
   * Create `file` for writing: on the event loop while creates are fast, on the thread pool for a
   * while (io-gate.ts) after one took SLOW_CREATE_MS: a filesystem waiting for its journal or its
   * server, or one that makes each create search its inode tables (docs/site.md). A create handed
   * to the pool costs the event loop a thread wake-up and a callback, more than the ~30–50 µs a
   * local create takes; with four leaves and an origin on two CPUs, each wake-up also gave the CPU
   * away (`bench:rsync --quick`'s initial ×4: docs/site.md).
   */
  private create(file: string): Promise<number> {
    const t0 = performance.now();
    if (!this.createGate.synchronousAt(t0)) return new Promise((resolve, reject) => open(file, 'w', (err, fd) => (err ? reject(err) : resolve(fd))));
    try {
      return Promise.resolve(openSync(file, 'w'));
    } catch (err) {
      return Promise.reject(err as Error);
    } finally {
      const t1 = performance.now();
      if (t1 - t0 >= SLOW_CREATE_MS) this.createGate.slowAt(t1);
    }
  }

  /** A sync is about to write about this many bytes (sets how often the disk is flushed meanwhile). */
  expectWrites(bytes: number): void {
    this.flusher.expect(bytes);
  }

  /**
   * Append bytes to a temp blob. They reach the file in whole, aligned `IO_CHUNK`s (the rest when it
   * is closed), not piece by piece as they arrive: the kernel sizes the page cache's folios by the
   * write, so socket-sized writes at unaligned offsets leave a blob in 4–32 KiB folios, and every
   * later read of it (each downstream it is served to) copies those at about twice the kernel's
   * cost of 1 MiB ones. A MiB also costs one write call instead of dozens. Only the bytes that do
   * not fill a chunk on their own are copied.
   */
  write(tmp: TempBlob, bytes: Uint8Array): void {
    this.flusher.wrote(bytes.length);
    let off = 0;
    if (tmp.fill === 0 && bytes.length >= IO_CHUNK) {
      // Nothing held back, so the file ends on a chunk boundary: whole chunks go as they are.
      off = bytes.length - (bytes.length % IO_CHUNK);
      writeFully(tmp.fd, bytes.subarray(0, off), null);
    }
    while (off < bytes.length) {
      const buf = (tmp.pending ??= ioBuffers.take());
      const n = Math.min(buf.length - tmp.fill, bytes.length - off);
      buf.set(bytes.subarray(off, off + n), tmp.fill);
      tmp.fill += n;
      off += n;
      if (tmp.fill === buf.length) this.drain(tmp);
    }
  }

  /** Write what `write` held back. */
  private drain(tmp: TempBlob): void {
    if (tmp.pending && tmp.fill > 0) writeFully(tmp.fd, tmp.pending.subarray(0, tmp.fill), null);
    tmp.fill = 0;
  }

  /** Give the held-back buffer back to the pool (after `drain`, or when the bytes are dropped). */
  private release(tmp: TempBlob): void {
    if (tmp.pending) ioBuffers.give(tmp.pending);
    tmp.pending = null;
    tmp.fill = 0;
  }

  /** fdatasync and close a finished temp file, then rename it to its digest's place. */
  async commitTemp(tmp: TempBlob, sha256: string): Promise<void> {
    try {
      this.drain(tmp);
      await datasync(tmp.fd);
    } finally {
      this.release(tmp);
      closeSync(tmp.fd);
    }
    this.rename(tmp.path, sha256);
  }

  /** Give a durable temp file its digest's name; the directory is made durable by `syncDirs`. */
  private rename(tmpPath: string, sha256: string): void {
    const dest = this.pathOf(sha256);
    renameSync(tmpPath, dest);
    this.dirtyDirs.add(path.dirname(dest));
  }

  /**
   * Close a written temp file without making it durable yet (see `persistAll`). When its last bytes
   * cannot be written (a full disk), the file is removed and the error thrown.
   */
  closeTemp(tmp: TempBlob): void {
    try {
      this.drain(tmp);
    } catch (err) {
      this.discardTemp(tmp);
      throw err;
    }
    this.release(tmp);
    closeSync(tmp.fd);
  }

  /**
   * Make closed, verified temp files durable and give them their digest names. A sync calls this
   * once after its downloads: one syncfs, then the renames; with fewer than `BULK_MIN` files or
   * without syncfs, each file is reopened,
   * fdatasynced and renamed, `concurrency` at a time (after the downloads, so that during them the
   * libuv pool is free for creating files, and so that the fsyncs, issued together, share journal
   * commits). On failure every file not yet renamed is removed.
   */
  async persistAll(files: { path: string; sha256: string }[], concurrency = 8, signal?: AbortSignal): Promise<void> {
    if (files.length === 0) return;
    if (this.flusher.available && files.length >= BULK_MIN) {
      try {
        await this.flusher.flush();
        signal?.throwIfAborted();
        for (const f of files) this.rename(f.path, f.sha256);
      } catch (err) {
        for (const f of files) rmSync(f.path, { force: true });
        throw err;
      }
      return;
    }
    let next = 0;
    let failure: unknown = null;
    const worker = async () => {
      while (failure === null && next < files.length) {
        const f = files[next++];
        if (f === undefined) break;
        try {
          signal?.throwIfAborted();
          // Reopened on the event loop (the dentry is cached); only the fdatasync goes to the pool.
          const fd = openSync(f.path, 'r');
          try {
            await datasync(fd);
          } finally {
            closeSync(fd);
          }
          this.rename(f.path, f.sha256);
        } catch (err) {
          if (failure === null) failure = err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
    if (failure !== null) {
      for (const f of files) rmSync(f.path, { force: true });
      throw failure;
    }
  }

  /** Close and remove a temp file that will not be used. Never throws. */
  discardTemp(tmp: TempBlob): void {
    this.release(tmp);
    try {
      closeSync(tmp.fd);
    } catch {
      // Already closed by a failed commit.
    }
    rmSync(tmp.path, { force: true });
  }

  /** Store small bytes (a publication's manifest) by their digest; returns the digest. */
  async putBytes(bytes: Uint8Array): Promise<string> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (this.sizeOf(sha256) === bytes.length) return sha256;
    const tmp = await this.createTemp(sha256);
    try {
      this.write(tmp, bytes);
    } catch (err) {
      this.discardTemp(tmp);
      throw err;
    }
    await this.commitTemp(tmp, sha256);
    return sha256;
  }

  /**
   * Make every rename so far durable (before committing metadata that names them). Concurrent syncs
   * share one store: a call that finds the dirty set empty may have had its renames taken by
   * another call's flush still under way, so every call waits for all flushes in flight.
   */
  async syncDirs(): Promise<void> {
    if (this.dirtyDirs.size > 0) {
      const dirs = [...this.dirtyDirs];
      this.dirtyDirs.clear();
      const flushing = this.flushDirs(dirs);
      this.dirFlushes.add(flushing);
      flushing.then(
        () => this.dirFlushes.delete(flushing),
        () => this.dirFlushes.delete(flushing),
      );
    }
    await Promise.all(this.dirFlushes);
  }

  private async flushDirs(dirs: string[]): Promise<void> {
    if (this.flusher.available && dirs.length >= BULK_MIN) return this.flusher.flush();
    // Issued together (8 at a time) the fsyncs share journal commits.
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(8, dirs.length) }, async () => {
      for (let dir = dirs[next++]; dir !== undefined; dir = dirs[next++]) await fsyncDir(dir);
    }));
    await fsyncDir(this.root);
  }

  /** Stop the syncfs shell the store started, if any. */
  close(): void {
    this.flusher.close();
  }

  /**
   * The hex digest of `hash`, which has taken the `size` bytes of a file expected to be the blob
   * `expected`. When it is, and the file is `HASH_STATE_MIN` bytes or more, the state before the
   * digest is kept (the newest `HASH_STATES_KEPT`): a later append to that blob hashes only its tail.
   */
  finishHash(hash: Hash, size: number, expected: string): string {
    const state = size >= HASH_STATE_MIN ? hash.copy() : null;
    const actual = hash.digest('hex');
    if (state && actual === expected) {
      this.hashStates.delete(actual);
      this.hashStates.set(actual, state);
      if (this.hashStates.size > HASH_STATES_KEPT) this.hashStates.delete(this.hashStates.keys().next().value!);
    }
    return actual;
  }

  /** A sha256 in the state after the blob's bytes, to go on with bytes appended to it; or null. */
  hashStateAfter(sha256: string): Hash | null {
    return this.hashStates.get(sha256)?.copy() ?? null;
  }

  /** Bytes and count of stored blobs (for tests and status; walks the tree). */
  async usage(): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    for (const d of await readdir(this.root).catch(() => [] as string[])) {
      for (const f of await readdir(path.join(this.root, d)).catch(() => [] as string[])) {
        if (f.startsWith(TEMP_PREFIX)) continue;
        files++;
        bytes += (await stat(path.join(this.root, d, f))).size;
      }
    }
    return { files, bytes };
  }
}
