/**
 * One active controller among replicas: a lease kept in Git (issue 19), on a branch of its own
 * (`pulpdist/lease` by default) next to the status branch. Its head commit holds `lease/lease.json`
 * (who holds it, for how long). Every move of the branch is a compare-and-swap push from the head
 * just read, so of two replicas that try at once exactly one wins.
 *
 * Time is judged on each replica's own clock, never on the timestamps in the file, so clock skew
 * between machines does not matter (a clock running at a different *rate* would):
 * - the holder counts its lease valid until `durationMs` after it *started* its last successful
 *   renewal push, and stops writing `marginMs` before that (`holds`);
 * - a standby takes the lease once the branch head has not moved for `durationMs` since it first
 *   saw that head (a push it saw was completed after the holder started it), or at once when the
 *   holder released it on a clean shutdown.
 * What it does not guarantee: a Pulp write already sent when the lease ran out still lands (the
 * holder checks before each write, not during it), and a replica whose clock stalls (SIGSTOP, a
 * frozen VM) finds out it lost the lease only when it runs again, before its next write.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { FencedError, messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { readTextFiles, replaceTopEntry, writeFilesTree, writeStatusCommit } from '../gitsource/tree.js';
import type { GitSource } from '../gitsource/types.js';
import type { StatusWriter } from '../status/writer.js';
import type { Clock, Timer } from './clock.js';

export type Role = 'active' | 'standby';

/** `lease/lease.json`. */
export interface LeaseRecord {
  /** The replica's identity; '' once released. */
  holder: string;
  durationMs: number;
  /** The holder's clock when it wrote this (for people; never used to judge expiry). */
  renewedAt: string;
}

export interface LeaseOptions {
  source: GitSource;
  /** @default 'pulpdist/lease' */
  branch?: string;
  /** This replica, unique among replicas (host, pid and a random part). */
  identity: string;
  /** @default 30_000 */
  durationMs?: number;
  /** How often the holder renews and a standby looks. @default durationMs / 3 */
  renewEveryMs?: number;
  /** The holder stops writing this long before its lease runs out. @default durationMs / 6 */
  marginMs?: number;
  clock: Clock;
  log: Logger;
  /** Told on every change of role, with the reason. */
  onRole?: (role: Role, holder: string | null, why: string) => void;
}

const DIR = 'lease';
const FILE = 'lease.json';

export class GitLease {
  #role: Role = 'standby';
  /** Holder: its own clock's end of the lease. */
  #validUntil = 0;
  /** Standby: the head last seen and when (own clock) it was first seen. */
  #seen: { head: string | null; at: number } | null = null;
  #holder: string | null = null;
  #timer: Timer | null = null;
  #stopped = false;
  #transitions = 0;
  readonly #lost = new Set<() => void>();
  readonly #roleListeners = new Set<(role: Role, holder: string | null, why: string) => void>();
  readonly branch: string;
  readonly durationMs: number;
  readonly renewEveryMs: number;
  readonly marginMs: number;

  constructor(private readonly o: LeaseOptions) {
    this.branch = o.branch ?? 'pulpdist/lease';
    this.durationMs = o.durationMs ?? 30_000;
    this.renewEveryMs = o.renewEveryMs ?? Math.max(100, Math.round(this.durationMs / 3));
    this.marginMs = o.marginMs ?? Math.round(this.durationMs / 6);
  }

  get role(): Role {
    return this.#role;
  }

  /** Who holds the lease as last read (null: nobody, or not read yet). */
  get holder(): string | null {
    return this.#holder;
  }

  /** Role changes so far (a metric). */
  get transitions(): number {
    return this.#transitions;
  }

  /** True while this replica may write: it holds the lease with more than the margin left. */
  holds(): boolean {
    return this.#role === 'active' && this.o.clock.now() < this.#validUntil - this.marginMs;
  }

  /**
   * Call `fn` on every change of role, with the holder as last read and why it changed (a lease
   * lost to a slow Git server still names this replica as its holder: `why` says what happened).
   */
  onRole(fn: (role: Role, holder: string | null, why: string) => void): () => void {
    this.#roleListeners.add(fn);
    return () => this.#roleListeners.delete(fn);
  }

  /** Call `fn` when this replica stops being active (every time). */
  onLost(fn: () => void): () => void {
    this.#lost.add(fn);
    return () => this.#lost.delete(fn);
  }

  /** Look (and take or renew) now, then every `renewEveryMs` until stopped. */
  start(): void {
    const loop = async (): Promise<void> => {
      if (this.#stopped) return;
      await this.tick();
      if (!this.#stopped) this.#timer = this.o.clock.setTimeout(() => void loop(), this.nextLookInMs(), { unref: true });
    };
    void loop();
  }

  /**
   * When `start`'s loop looks next: every `renewEveryMs`, except that a standby waiting out another
   * replica's lease looks right when it runs out. Without that, a replica started beside a dead
   * holder's lease waited up to a whole renew period (a third of the lease) longer than it must.
   */
  nextLookInMs(): number {
    if (this.#role !== 'standby' || !this.#seen || !this.#holder) return this.renewEveryMs;
    const left = this.#seen.at + this.durationMs - this.o.clock.now();
    return left > 0 && left < this.renewEveryMs ? left : this.renewEveryMs;
  }

  /** One step; never throws (a Git error keeps the role until the lease runs out). */
  async tick(): Promise<void> {
    // A step may take up to half the lease: a slow Git server must not cost a holder its lease early.
    const signal = this.o.clock.timeout(Math.max(1_000, Math.round(this.durationMs / 2)));
    const startedAt = this.o.clock.now();
    try {
      const head = await this.o.source.branchHead(this.branch, { signal });
      const record = head ? await this.#read(head, signal) : null;
      this.#holder = record?.holder || null;
      if (this.#role === 'active') {
        if (record?.holder !== this.o.identity) return this.#become('standby', `the lease is held by ${record?.holder || 'nobody'}`);
        if ((await this.#write(head, startedAt, signal)) === 'rejected') return this.#become('standby', 'another replica moved the lease');
        return;
      }
      const now = this.o.clock.now();
      if (!this.#seen || this.#seen.head !== head) this.#seen = { head, at: now };
      const free = !head || !record?.holder || record.holder === this.o.identity || now - this.#seen.at >= this.durationMs;
      if (!free) return;
      if ((await this.#write(head, startedAt, signal)) === 'ok') this.#become('active', head ? `the lease of ${record?.holder || 'nobody'} ran out` : 'no lease yet');
    } catch (err) {
      if (this.#role === 'active' && !this.holds()) this.#become('standby', `the lease could not be renewed: ${messageOf(err)}`);
      else this.o.log.warn('lease: could not read or renew', { branch: this.branch, error: messageOf(err) });
    } finally {
      // A holder that could not renew in time is fenced even while Git does not answer.
      if (this.#role === 'active' && !this.holds()) this.#become('standby', 'the lease ran out before it could be renewed');
    }
  }

  /** Stop looking; a holder releases the lease, so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.clear();
    if (this.#role !== 'active') return;
    const signal = this.o.clock.timeout(5_000);
    try {
      const head = await this.o.source.branchHead(this.branch, { signal });
      const record = head ? await this.#read(head, signal) : null;
      if (record?.holder === this.o.identity) await this.#push(head, { holder: '', durationMs: 0, renewedAt: new Date(this.o.clock.now()).toISOString() }, signal);
    } catch (err) {
      this.o.log.warn('lease: could not release; a standby takes over when it runs out', { error: messageOf(err) });
    }
    this.#become('standby', 'stopped');
  }

  async #read(head: string, signal: AbortSignal): Promise<LeaseRecord | null> {
    const files = await readTextFiles(this.o.source.repo, head, DIR, { signal });
    try {
      const r = JSON.parse(files.get(FILE) ?? '') as Partial<LeaseRecord>;
      return typeof r.holder === 'string' && typeof r.durationMs === 'number' ? { holder: r.holder, durationMs: r.durationMs, renewedAt: String(r.renewedAt ?? '') } : null;
    } catch {
      // Not the shape we write: nobody holds it (the next push replaces it).
      return null;
    }
  }

  /** Take or renew from `head`; on success the lease is ours until `startedAt + durationMs`. */
  async #write(head: string | null, startedAt: number, signal: AbortSignal): Promise<'ok' | 'rejected'> {
    const out = await this.#push(head, { holder: this.o.identity, durationMs: this.durationMs, renewedAt: new Date(startedAt).toISOString() }, signal);
    if (out === 'ok') {
      this.#validUntil = startedAt + this.durationMs;
      this.#holder = this.o.identity;
    }
    return out;
  }

  async #push(head: string | null, record: LeaseRecord, signal: AbortSignal): Promise<'ok' | 'rejected'> {
    const { repo } = this.o.source;
    const subtree = await writeFilesTree(repo, new Map([[FILE, JSON.stringify(record, null, 2) + '\n']]), { signal });
    const tree = await replaceTopEntry(repo, null, DIR, subtree);
    const message = record.holder ? `lease: ${record.holder} for ${record.durationMs} ms [skip ci]\n` : 'lease: released [skip ci]\n';
    const commit = await writeStatusCommit(repo, tree, head, message, new Date(this.o.clock.now()));
    return this.o.source.publishBranch(this.branch, commit, head, { signal });
  }

  #become(role: Role, why: string): void {
    if (role === this.#role) return;
    this.#role = role;
    this.#transitions++;
    if (role === 'standby') this.#validUntil = 0;
    this.#seen = null;
    this.o.log.info(role === 'active' ? 'lease taken: this replica is active' : 'lease lost: this replica is standby', { branch: this.branch, reason: why });
    this.o.onRole?.(role, this.#holder, why);
    for (const fn of this.#roleListeners) fn(role, this.#holder, why);
    if (role === 'standby') for (const fn of this.#lost) fn();
  }
}

/** A replica's identity: host, process and a random part (two replicas on one host differ). */
export function replicaIdentity(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** Refuse a write: this replica does not hold the lease (the Pulp client's `beforeWrite`). */
export function fenced(): never {
  throw new FencedError();
}

/** The status writer of a replica: it commits only while it holds the lease. */
export function fencedWriter(writer: StatusWriter, lease: GitLease | null, log: Logger): StatusWriter {
  if (!lease) return writer;
  return {
    async write(doc, opts) {
      if (!lease.holds()) {
        log.info('status not committed: this replica does not hold the lease');
        return { commit: null, retries: 0 };
      }
      return writer.write(doc, opts);
    },
  };
}
