/**
 * A small pool of hashing threads. Each batch goes to the thread with the fewest bytes still
 * queued, so one 16 GiB file does not hold back the small files behind it. Threads start on the
 * first batch only: a rescan that hashes nothing never pays their start-up.
 */
import { Worker } from 'node:worker_threads';
import type { HashReply, HashRequest, HashResult } from './hash-protocol.js';
import { PulpdistError } from '../core/errors.js';

/** A hashing thread died (a bug or an out-of-memory kill), so the scan cannot finish. */
export class HashWorkerError extends PulpdistError {}

interface Slot {
  worker: Worker;
  queuedBytes: number;
}

interface Pending {
  slot: Slot;
  bytes: number;
  resolve: (r: HashResult[]) => void;
  reject: (e: unknown) => void;
}

export interface HashPoolOptions {
  /** Number of threads. */
  workers: number;
  /** Called with bytes hashed as they are (partial progress on large files included). */
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
}

/** Hashes batches of files on worker threads. Call `close()` when done (also after an error). */
export class HashPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: unknown;
  private readonly onAbort = () => this.fail(this.options.signal?.reason ?? new Error('aborted'));

  constructor(private readonly options: HashPoolOptions) {
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Batches queued or running. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Hash the files (absolute paths; `bytes` is their expected total, for balancing). */
  hash(paths: string[], bytes: number): Promise<HashResult[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.options.signal?.throwIfAborted();
    const slot = this.pickSlot();
    const id = this.nextId++;
    slot.queuedBytes += bytes;
    return new Promise<HashResult[]>((resolve, reject) => {
      this.pending.set(id, { slot, bytes, resolve, reject });
      slot.worker.postMessage({ id, paths } satisfies HashRequest);
    });
  }

  /** Stop every thread. Pending batches reject. */
  async close(): Promise<void> {
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.fail(new HashWorkerError('the hash pool was closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }

  private pickSlot(): Slot {
    if (this.slots.length < this.options.workers) {
      // Start threads lazily, but all of them on first use unless a thread is idle already.
      const idle = this.slots.find((s) => s.queuedBytes === 0);
      if (!idle) return this.spawn();
    }
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.queuedBytes < best.queuedBytes) best = s;
    return best;
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url));
    const slot: Slot = { worker, queuedBytes: 0 };
    worker.on('message', (msg: HashReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.type === 'progress') {
        this.options.onBytes?.(msg.bytes);
        return;
      }
      this.pending.delete(msg.id);
      slot.queuedBytes -= p.bytes;
      let done = 0;
      for (const r of msg.results) if ('sha256' in r) done += r.bytes - r.reported;
      this.options.onBytes?.(done);
      p.resolve(msg.results);
    });
    worker.on('error', (err) => this.fail(new HashWorkerError(`a hashing thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      if (this.failure === undefined) this.fail(new HashWorkerError(`a hashing thread exited unexpectedly (code ${code})`));
    });
    this.slots.push(slot);
    return slot;
  }

  private fail(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(this.failure);
    }
  }
}
