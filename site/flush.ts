/**
 * Durability of the blob store in bulk: one syncfs(2) of the store's filesystem makes every blob
 * written so far durable, where an fdatasync per blob cost a reopen, a journal commit and ~0.4 ms
 * of CPU each (10,000 blobs: 1.7–1.9 s after the downloads). Node has no syncfs binding, so it is
 * coreutils' `sync --file-system DIR`. syncfs also flushes other writers' dirty data on the same
 * filesystem; on ext4 an fdatasync's journal commit largely does too (data=ordered).
 *
 * `sync` is run by one small shell started once per store, never by this process: a fork of a
 * Node process of 100–200 MiB costs it 5–15 ms of CPU, and afterwards a page fault on the first
 * write to each page of its heap (copy-on-write protection). Four leaves making their initial
 * syncs durable in the background that way spent 2–3 CPU seconds each on it. The shell forks only
 * itself. Small syncs still fdatasync each blob (`blobs.ts`): a syncfs waits for every writer's
 * dirty data on the filesystem.
 *
 * Where the shell or `sync -f` is missing or refuses at start-up, `available` is false and the blob
 * store makes each file durable with its own fdatasync instead. Once it has worked, a failing
 * syncfs (or a shell that died) is an I/O error of the disk, and it is thrown, never taken for
 * "unavailable"; the next flush starts a new shell.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

export interface FsFlusher {
  /** True when syncfs can be used (decided once, by `probe`). */
  readonly available: boolean;
  /** syncfs runs started so far (background ones included). */
  readonly runs: number;
  /** Shells started so far to run `sync` (one, unless one died). */
  readonly shells: number;
  /** Decide `available` by flushing once; never throws. */
  probe(): Promise<boolean>;
  /**
   * Everything written and closed before the call is durable when it resolves. A syncfs already
   * under way may have started before the caller's writes, so the caller waits for the next one;
   * every caller arriving meanwhile shares that next run.
   */
  flush(): Promise<void>;
  /**
   * Count bytes written; every `kickBytes` a flush starts in the background, so the disk writes
   * back while downloads go on and the flush before the renames finds little left to do.
   */
  wrote(bytes: number): void;
  /**
   * A sync is about to write about this many bytes: background flushes come every eighth of it,
   * between `MIN_KICK_BYTES` and the flusher's limit. Of syncs running together the last to start
   * sets it: it only paces the background runs, never what a sync waits for.
   */
  expect(bytes: number): void;
  /** Stop the shell (a later flush starts a new one). */
  close(): void;
}

/**
 * Reads a line per run and answers `0`, or `<exit status> <sync's messages on one line>`. `$1` is
 * the directory; `--` keeps a directory named like an option a directory. A run that succeeds costs
 * one fork and one exec (the substitution execs `sync`): with a `printf … | tr` on every answer it
 * took 12.6 ms of CPU per run here, 4.6 ms without.
 */
const SHELL_LOOP = 'while read -r _; do out=$(exec sync --file-system -- "$1" 2>&1); rc=$?; if [ "$rc" = 0 ]; then echo 0; else printf "%s %s\\n" "$rc" "$(printf %s "$out" | tr "\\n" " ")"; fi; done';

type Shell = ChildProcessByStdio<Writable, Readable, null>;

/** One long-lived shell running `sync -f DIR` per request, answers in order. */
class SyncfsShell {
  private readonly waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private buffered = '';
  private ended = false;

  private readonly child: Shell;

  constructor(private readonly dir: string) {
    // Only PATH: the shell and `sync` need nothing else of the site's environment (its secrets among it).
    const child = spawn('/bin/sh', ['-c', SHELL_LOOP, 'sh', dir], { stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    this.child = child;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => this.answer(s));
    child.on('error', (err) => this.end(`cannot run the syncfs shell: ${err.message}`));
    child.on('exit', (code, signal) => this.end(`the syncfs shell exited (${signal ?? `status ${code}`})`));
    // A failed write to the pipe surfaces as the exit above.
    child.stdin.on('error', () => undefined);
    this.idle();
  }

  get alive(): boolean {
    return !this.ended;
  }

  run(): Promise<void> {
    if (this.ended) return Promise.reject(new Error(`syncfs of ${this.dir} failed: the syncfs shell is gone`));
    if (this.waiting.length === 0) this.busy();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write('\n');
    });
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }

  private answer(s: string): void {
    this.buffered += s;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const w = this.waiting.shift();
      if (!w) continue;
      const space = line.indexOf(' ');
      const status = space < 0 ? line : line.slice(0, space);
      if (status === '0') w.resolve();
      else w.reject(new Error(`syncfs of ${this.dir} failed: ${line.slice(space + 1).trim() || `sync exited with status ${status}`}`));
    }
    if (this.waiting.length === 0) this.idle();
  }

  private end(why: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error(`syncfs of ${this.dir} failed: ${why}`));
  }

  /** Only a run under way keeps the process alive: an idle shell never holds up its exit. */
  private idle(): void {
    this.child.unref();
    (this.child.stdout as Socket).unref();
  }

  private busy(): void {
    this.child.ref();
    (this.child.stdout as Socket).ref();
  }
}

/**
 * The smallest background flush interval. What a sync's last flush still has to write back is at
 * most one interval: at 64 MiB that was 70–150 ms of a 1.5 s sync of 64 MiB; an interval of an
 * eighth of the sync keeps that tail to a small share of any sync. 4 MiB was no faster than 16 in
 * `bench:sync --quick`, and each run costs a fork and an exec.
 */
const MIN_KICK_BYTES = 16 * 1024 * 1024;

export function createFsFlusher(dir: string, maxKickBytes = 64 * 1024 * 1024): FsFlusher {
  let kickBytes = maxKickBytes;
  let available = false;
  let pending = 0;
  let runs = 0;
  let shells = 0;
  let shell: SyncfsShell | null = null;
  /** The syncfs under way, if any. */
  let current: Promise<void> | null = null;
  /** The run that starts when `current` ends, shared by every flush called meanwhile. */
  let next: Promise<void> | null = null;
  const syncfs = (): Promise<void> => {
    if (!shell?.alive) {
      shell = new SyncfsShell(dir);
      shells++;
    }
    return shell.run();
  };
  const start = (): Promise<void> => {
    runs++;
    const run: Promise<void> = syncfs().finally(() => {
      if (current === run) current = null;
    });
    current = run;
    return run;
  };
  return {
    get available() {
      return available;
    },
    get runs() {
      return runs;
    },
    get shells() {
      return shells;
    },
    async probe() {
      available = await syncfs().then(() => true, () => false);
      if (!available) {
        shell?.close();
        shell = null;
      }
      return available;
    },
    flush() {
      // `next` first: between the end of `current` and the start of `next`, joining `next` still
      // gets a run that starts after this call.
      if (next) return next;
      if (!current) return start();
      next = current
        .catch(() => undefined)
        .then(() => {
          next = null;
          return start();
        });
      return next;
    },
    wrote(bytes) {
      if (!available) return;
      pending += bytes;
      if (pending < kickBytes || current) return;
      pending = 0;
      // Failures here are reported by the flush the sync awaits before its renames.
      start().catch(() => undefined);
    },
    expect(bytes) {
      kickBytes = Math.min(maxKickBytes, Math.max(MIN_KICK_BYTES, Math.floor(bytes / 8)));
    },
    close() {
      shell?.close();
      shell = null;
    },
  };
}
