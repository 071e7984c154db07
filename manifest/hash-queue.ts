/**
 * How a scan hands files to the hash pool: batched so that per-message cost stays small next to
 * hashing, with backpressure on the walk, and every batch's answer passed to the scan's `settle`.
 */
import type { HashBatchOptions, HashPool } from './hash-pool.js';
import type { HashResult } from './hash-protocol.js';
import type { FileRecord, UnstatFile, WalkedFile } from './stat.js';
import type { ScanProgress } from './types.js';

/** A batch is sent once it holds this many bytes or files; larger files go alone. */
const BATCH_BYTES = 8 * 1024 * 1024;
const BATCH_FILES = 256;
/**
 * Files the walk did not stat (a scan with no cache records) go this many to a batch, their sizes
 * unknown: the thread defers those of DEFER_BYTES and more (hash-protocol.ts), which come back
 * sized and are batched by bytes like any other. Each counts this much towards its thread's queue.
 */
const UNSIZED_BATCH_FILES = 64;
const UNSIZED_ESTIMATE_BYTES = 64 * 1024;
/** Batches queued per thread before the walk waits: enough to keep threads busy, few enough to bound memory. */
const QUEUE_PER_WORKER = 4;

export interface HashQueueOptions {
  pool: HashPool;
  /** The tree's real root with a trailing `/`: a file is read at prefix + relativePath unless it has a `source`. */
  prefix: string;
  /** Threads to keep busy: the walk waits once this many × QUEUE_PER_WORKER batches are out. */
  workers: number;
  /** Signal and progress callback of every batch. */
  batch: HashBatchOptions;
  /** filesToHash, bytesToHash and filesUnsized are counted here as files are queued. */
  progress: ScanProgress;
  /** Each batch's answer, in the order of its files. */
  settle: (files: WalkedFile[], results: HashResult[]) => void;
}

/** Files gathered for one message, and their bytes. */
interface Batch {
  files: FileRecord[];
  bytes: number;
}

export class HashQueue {
  private readonly batch: Batch = { files: [], bytes: 0 };
  private unsized: UnstatFile[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly unsizedOptions: HashBatchOptions;

  constructor(private readonly o: HashQueueOptions) {
    this.unsizedOptions = { ...o.batch, unsized: true };
  }

  /** Queue a file with its stat; a returned promise asks the walk to wait. */
  add(f: FileRecord): Promise<void> | void {
    if (this.place(this.batch, f)) this.send(this.batch);
    return this.backpressure();
  }

  /** Queue a file the walk did not stat; a returned promise asks the walk to wait. */
  addUnsized(f: UnstatFile): Promise<void> | void {
    this.o.progress.filesToHash += 1;
    this.o.progress.filesUnsized += 1;
    this.unsized.push(f);
    if (this.unsized.length >= UNSIZED_BATCH_FILES) this.flushUnsized();
    return this.backpressure();
  }

  /** Send files now (from `settle`: deferred ones now sized), in batches by bytes, large ones alone. */
  sendNow(files: FileRecord[]): void {
    const group: Batch = { files: [], bytes: 0 };
    for (const f of files) if (this.place(group, f)) this.send(group);
    this.send(group);
  }

  /** Send what is still queued (the walk is done). */
  flush(): void {
    this.flushUnsized();
    this.send(this.batch);
  }

  /** Wait until every batch is answered and settled, those that `settle` sent meanwhile included; throws a batch's error. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight);
  }

  /** Count `f`, then send it alone if large, else add it to `into`; true once `into` is full. */
  private place(into: Batch, f: FileRecord): boolean {
    this.o.progress.filesToHash += 1;
    this.o.progress.bytesToHash += f.size;
    if (f.size >= BATCH_BYTES) {
      this.submit([f], f.size);
      return false;
    }
    into.files.push(f);
    into.bytes += f.size;
    return into.bytes >= BATCH_BYTES || into.files.length >= BATCH_FILES;
  }

  /** Submit what `group` holds, if anything, and empty it. */
  private send(group: Batch): void {
    if (group.files.length === 0) return;
    this.submit(group.files, group.bytes);
    group.files = [];
    group.bytes = 0;
  }

  private backpressure(): Promise<void> | void {
    if (this.inflight.size >= this.o.workers * QUEUE_PER_WORKER) return Promise.race(this.inflight);
  }

  private flushUnsized(): void {
    if (this.unsized.length === 0) return;
    this.submit(this.unsized, this.unsized.length * UNSIZED_ESTIMATE_BYTES, true);
    this.unsized = [];
  }

  private submit(files: WalkedFile[], bytes: number, unsized = false): void {
    const { pool, prefix, settle } = this.o;
    const job = pool
      .hash(files.map((f) => f.source ?? prefix + f.relativePath), bytes, unsized ? this.unsizedOptions : this.o.batch)
      .then((results) => settle(files, results));
    // A rejection is awaited (and thrown) by drain(); these handlers only keep it from counting
    // as unhandled meanwhile.
    job.catch(() => {});
    const tracked = job.finally(() => this.inflight.delete(tracked));
    tracked.catch(() => {});
    this.inflight.add(tracked);
  }
}
