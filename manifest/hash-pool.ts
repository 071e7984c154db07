/**
 * A small pool of hashing threads. Each batch goes to the thread with the fewest bytes still
 * queued, so one 16 GiB file does not hold back the small files behind it. Threads start on the
 * first batch only: a rescan that hashes nothing never pays their start-up.
 *
 * One pool may serve many scans at once (the controller reads a thousand small source trees in a
 * pass): each batch carries its own abort signal and progress callback, and a thread that dies
 * fails only the batches it held; the next batch starts a fresh thread. Starting a thread costs
 * tens of milliseconds of CPU, far more than hashing a small tree, so sharing the pool is what
 * makes many small scans cheap.
 */
import type { Worker } from 'node:worker_threads';
import type { HashReply, HashRequest, HashResult } from './hash-protocol.js';
import { PulpdistError } from '../core/errors.js';

/** A hashing thread died (a bug or an out-of-memory kill), so the scan cannot finish. */
export class HashWorkerError extends PulpdistError {
  /** True when the batch's thread died under it (as opposed to a closed or aborted pool). */
  readonly threadLost: boolean;

  constructor(message: string, options: { cause?: unknown; threadLost?: boolean } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.threadLost = options.threadLost ?? false;
  }
}

interface Slot {
  worker: Worker;
  queuedBytes: number;
  /** Batches sent and not yet answered; the thread keeps the process alive only while this is > 0. */
  batches: number;
  /** Set once the thread failed or exited: it takes no more batches. */
  dead: boolean;
}

interface Pending {
  slot: Slot;
  bytes: number;
  onBytes: ((bytes: number) => void) | undefined;
  resolve: (r: HashResult[]) => void;
  reject: (e: unknown) => void;
  /** The batch's own abort signal, if any. */
  signal: AbortSignal | undefined;
}

export interface HashPoolOptions {
  /** Number of threads. */
  workers: number;
  /** Called with bytes hashed as they are (partial progress on large files included), for every batch. */
  onBytes?: (bytes: number) => void;
  /** Aborts the whole pool: every batch rejects and no new batch is accepted. */
  signal?: AbortSignal;
}

/** Per-batch options of `HashPool.hash`. */
export interface HashBatchOptions {
  /** Rejects this batch only (the thread finishes it; the answer is dropped). */
  signal?: AbortSignal;
  /** Bytes hashed in this batch as they are. */
  onBytes?: (bytes: number) => void;
  /** The caller has no stat of these files (HashRequest.unsized); `bytes` is then an estimate. */
  unsized?: boolean;
}

type WorkerClass = typeof Worker;
let workerModule: Promise<WorkerClass> | undefined;

/**
 * node:worker_threads, loaded on the first batch: an unchanged rescan hashes nothing, and this
 * Node compiles each built-in module it loads at start-up (a few ms each).
 */
function loadWorkerClass(): Promise<WorkerClass> {
  workerModule ??= import('node:worker_threads').then((m) => m.Worker);
  return workerModule;
}

/** Hashes batches of files on worker threads. Call `close()` when done (also after an error). */
export class HashPool {
  private readonly slots: Slot[] = [];
  private workerClass: WorkerClass | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: unknown;
  private resends: Promise<unknown> = Promise.resolve();
  /**
   * The batches pending under each batch signal, and the one listener that signal has: a scan
   * sends a signal with every batch, and a listener per batch would pile up on it (Node warns at 11).
   */
  private readonly bySignal = new Map<AbortSignal, { ids: Set<number>; onAbort: () => void }>();
  private readonly onAbort = () => this.fail(this.options.signal?.reason ?? new Error('aborted'));

  constructor(private readonly options: HashPoolOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new RangeError(`\`workers\` must be an integer ≥ 1, got ${options.workers}`);
    }
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Batches queued or running. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Threads running now (started lazily, replaced when one dies). */
  get threads(): number {
    return this.slots.length;
  }

  /**
   * Hash the files (absolute paths; `bytes` is their expected total, for balancing). A batch whose
   * thread died before answering is sent once more, to a fresh thread: a thread lost to something
   * outside the batch (an out-of-memory kill, a crash) then costs a re-read, not the scan. A batch
   * that kills its second thread too rejects with the HashWorkerError. Resends go one at a time.
   */
  async hash(paths: string[], bytes: number, batch: HashBatchOptions = {}): Promise<HashResult[]> {
    this.workerClass ??= await loadWorkerClass();
    let counted = 0;
    const first = { ...batch, onBytes: (n: number) => {
      counted += n;
      batch.onBytes?.(n);
    } };
    try {
      return await this.send(paths, bytes, first);
    } catch (err) {
      if (!(err instanceof HashWorkerError) || !err.threadLost || this.failure !== undefined) throw err;
      // Progress already reported for the lost attempt is taken back: the files are read again.
      if (counted !== 0) {
        this.options.onBytes?.(-counted);
        batch.onBytes?.(-counted);
      }
      // One resend at a time, so that a batch that kills every thread it reaches (it is among
      // the resent ones) cannot take the others down with it a second time.
      const resend = this.resends.then(() => this.send(paths, bytes, batch));
      this.resends = resend.catch(() => undefined);
      return resend;
    }
  }

  private send(paths: string[], bytes: number, batch: HashBatchOptions): Promise<HashResult[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.options.signal?.throwIfAborted();
    batch.signal?.throwIfAborted();
    const slot = this.pickSlot();
    const id = this.nextId++;
    slot.queuedBytes += bytes;
    if (slot.batches++ === 0) slot.worker.ref();
    return new Promise<HashResult[]>((resolve, reject) => {
      this.pending.set(id, { slot, bytes, onBytes: batch.onBytes, resolve, reject, signal: batch.signal });
      if (batch.signal) this.watch(batch.signal, id);
      slot.worker.postMessage((batch.unsized ? { id, paths, unsized: true } : { id, paths }) satisfies HashRequest);
    });
  }

  private watch(signal: AbortSignal, id: number): void {
    let entry = this.bySignal.get(signal);
    if (!entry) {
      const ids = new Set<number>();
      const onAbort = () => {
        for (const pid of ids) {
          const p = this.pending.get(pid);
          if (!p) continue;
          // The thread still answers; until then the batch keeps counting against its slot.
          const reject = p.reject;
          p.resolve = () => {};
          p.reject = () => {};
          p.onBytes = undefined;
          reject(signal.reason);
        }
      };
      entry = { ids, onAbort };
      this.bySignal.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    entry.ids.add(id);
  }

  /** The batch is answered or failed: it no longer listens to its signal. */
  private detach(id: number, p: Pending): void {
    if (!p.signal) return;
    const entry = this.bySignal.get(p.signal);
    if (!entry) return;
    entry.ids.delete(id);
    if (entry.ids.size > 0) return;
    p.signal.removeEventListener('abort', entry.onAbort);
    this.bySignal.delete(p.signal);
  }

  /** Stop every thread. Pending batches reject. */
  async close(): Promise<void> {
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.fail(new HashWorkerError('the hash pool was closed'));
    const slots = this.slots.splice(0);
    for (const s of slots) s.dead = true;
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private pickSlot(): Slot {
    if (this.slots.length < this.options.workers) {
      // Start threads lazily, but all of them on first use unless a thread is idle already.
      const idle = this.slots.find((s) => s.queuedBytes === 0);
      if (!idle) return this.spawn();
    }
    let best = this.slots[0];
    for (const s of this.slots) if (s.queuedBytes < best.queuedBytes) best = s;
    return best;
  }

  private spawn(): Slot {
    // hash() loads the class before the first send, so it is there whenever a thread is started.
    const WorkerThread = this.workerClass;
    if (!WorkerThread) throw new HashWorkerError('node:worker_threads is not loaded');
    const worker = new WorkerThread(new URL('./hash-worker.js', import.meta.url));
    const slot: Slot = { worker, queuedBytes: 0, batches: 0, dead: false };
    worker.on('message', (msg: HashReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.type === 'progress') {
        this.report(p, msg.bytes);
        return;
      }
      this.pending.delete(msg.id);
      this.detach(msg.id, p);
      slot.queuedBytes -= p.bytes;
      if (--slot.batches === 0) slot.worker.unref();
      let done = 0;
      for (const r of msg.results) if ('sha256' in r) done += r.bytes - r.reported;
      this.report(p, done);
      p.resolve(msg.results);
    });
    worker.on('error', (err) => this.lose(slot, new HashWorkerError(`a hashing thread failed: ${err.message}`, { cause: err, threadLost: true })));
    worker.on('exit', (code) => this.lose(slot, new HashWorkerError(`a hashing thread exited unexpectedly (code ${code})`, { threadLost: true })));
    // An idle pool must not keep the process alive (hash() refs the thread while it has batches).
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private report(p: Pending, bytes: number): void {
    if (bytes === 0) return;
    this.options.onBytes?.(bytes);
    p.onBytes?.(bytes);
  }

  /** A thread is gone: fail what it held, forget it; the next batch starts another. */
  private lose(slot: Slot, err: HashWorkerError): void {
    if (slot.dead) return;
    slot.dead = true;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate();
    for (const [id, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(id);
      this.detach(id, p);
      p.reject(err);
    }
  }

  private fail(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      this.detach(id, p);
      p.reject(this.failure);
    }
  }
}
