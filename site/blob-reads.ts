/**
 * How the content app opens and reads blobs: synchronously while the page cache answers, on
 * libuv's thread pool while the disk does.
 *
 * A read on the thread pool costs the upstream about 0.27 ms of CPU per MiB more than the same
 * read made on the event loop (the hand-off, and the bytes landing in another core's cache before
 * the socket copies them), and an open sent there costs the event loop more than a synchronous
 * open does: on an origin serving four leaves that was 40% of its CPU. But a call that goes to the
 * disk stalls every other request for as long as it takes. So opens and reads are synchronous,
 * each kind behind its own gate (io-gate.ts): a call that took SLOW_CALL_MS or longer while the
 * process read from the disk (getrusage's block input) is a wait for the disk, and once such waits
 * add up to WAIT_BUDGET_MS within about a second, the site's calls of that kind go to the thread
 * pool for a while. A blob here and there that the kernel evicted costs the event loop its one
 * wait; a disk that stays cold sends the calls to the pool after a few, and then holds the event
 * loop up for about WAIT_BUDGET_MS every MAX_POOL_MS. A call that was slow without disk input (the
 * machine is busy, or the buffer's pages were touched for the first time) changes nothing: a
 * thread-pool call would not have been faster.
 */
import { open, openSync, read, readSync } from 'node:fs';
import { Gate, SLOW_CALL_MS } from './io-gate.js';

/**
 * How long waits for the disk may hold the event loop up, within about a second (io-gate.ts
 * WAIT_DECAY_MS), before calls of their kind go to the pool: a tenth of its time. A page-cache
 * copy of a 1 MiB chunk takes 0.1–0.2 ms; a read that waits for a virtual machine's disk 3–50 ms.
 */
export const WAIT_BUDGET_MS = 100;

/**
 * The block-input count is read at most this often: getrusage sums over the process's threads,
 * and read before every call it was 10% of an origin's samples. A slow call is judged against a
 * count at most this old when it started, so disk input up to this long before it counts as its
 * own: at worst its wait counts against the budget when it need not have.
 */
const DISK_COUNT_EVERY_MS = 50;

/** The file calls the gate chooses between, and its clock: the edges, passed in so the policy can be tested alone. */
export interface ReadEdges {
  openSync(file: string): number;
  readSync(fd: number, buf: Buffer, off: number, len: number, pos: number): number;
  openAsync(file: string): Promise<number>;
  readAsync(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number>;
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** A count that grows when this process reads from a disk (getrusage's ru_inblock). */
  diskReads(): number;
}

export const nodeReadEdges: ReadEdges = {
  openSync: (file) => openSync(file, 'r'),
  readSync: (fd, buf, off, len, pos) => readSync(fd, buf, off, len, pos),
  openAsync: (file) => new Promise((resolve, reject) => open(file, 'r', (err, fd) => (err ? reject(err) : resolve(fd)))),
  readAsync: (fd, buf, off, len, pos) => new Promise((resolve, reject) => read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n)))),
  now: () => Number(process.hrtime.bigint()) / 1e6,
  diskReads: () => process.resourceUsage().fsRead,
};

/** One site's blob opens and reads (each site has its own disk). */
export class BlobReads {
  private readonly opens: Gate;
  private readonly reads: Gate;
  private disk = 0;
  private diskAt = -Infinity;
  /** Synchronous opens and reads that waited for the disk (each counts against its kind's budget). */
  slow = 0;

  /** `waitBudgetMs`: see WAIT_BUDGET_MS (tests play a disk with fewer, shorter waits). */
  constructor(
    private readonly edges: ReadEdges = nodeReadEdges,
    waitBudgetMs = WAIT_BUDGET_MS,
  ) {
    this.opens = new Gate(waitBudgetMs);
    this.reads = new Gate(waitBudgetMs);
  }

  /** Whether the next open and the next read run on the event loop. */
  get synchronous(): { open: boolean; read: boolean } {
    const now = this.edges.now();
    return { open: this.opens.synchronousAt(now), read: this.reads.synchronousAt(now) };
  }

  open(file: string): Promise<number> {
    return settled(() => this.openNow(file) ?? this.edges.openAsync(file));
  }

  /** Read up to `len` bytes of `fd` at `pos` into `buf` at `off`; resolves with the count read. */
  read(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
    return settled(() => this.readNow(fd, buf, off, len, pos) ?? this.edges.readAsync(fd, buf, off, len, pos));
  }

  /**
   * `open`, made now on the event loop, or undefined when the gate sends opens to the pool (then
   * call `open`). Throws the call's error. For callers that serve many small files in a row: no
   * promise per call (batch-serve.ts).
   */
  openNow(file: string): number | undefined {
    const t0 = this.edges.now();
    return this.opens.synchronousAt(t0) ? this.timed(this.opens, t0, () => this.edges.openSync(file)) : undefined;
  }

  /** `read`, made now on the event loop, or undefined when the gate sends reads to the pool (see `openNow`). */
  readNow(fd: number, buf: Buffer, off: number, len: number, pos: number): number | undefined {
    const t0 = this.edges.now();
    return this.reads.synchronousAt(t0) ? this.timed(this.reads, t0, () => this.edges.readSync(fd, buf, off, len, pos)) : undefined;
  }

  /** Run a synchronous call that starts at `t0`, and close `gate` for a while if it waited for the disk. */
  private timed(gate: Gate, t0: number, call: () => number): number {
    if (t0 - this.diskAt >= DISK_COUNT_EVERY_MS) {
      this.disk = this.edges.diskReads();
      this.diskAt = t0;
    }
    const disk0 = this.disk;
    try {
      return call();
    } finally {
      const t1 = this.edges.now();
      if (t1 - t0 >= SLOW_CALL_MS) {
        const disk = this.edges.diskReads();
        if (disk > disk0) {
          this.slow += 1;
          gate.slowAt(t1, t1 - t0);
        }
        this.disk = disk;
        this.diskAt = t1;
      }
    }
  }
}

/** `call`'s result as a promise, its throw as a rejection. */
function settled(call: () => number | Promise<number>): Promise<number> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err);
  }
}
