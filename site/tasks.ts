/**
 * Background tasks with Pulp's states and locking. A task reserves resources exclusively (a
 * repository it writes) or shared (a remote it reads); tasks whose reservations conflict run one
 * after the other in creation order, others in parallel up to `workers`. "Immediate" tasks (updates
 * and deletes) run before the 202 is sent when their locks are free, as pulpcore does, and then show
 * `worker: null`. Cancel aborts the task's signal; the task's own code must leave no trace.
 */
import { PulpdistError, messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { href, timestamp, type ProgressReport, type TaskRecord } from './records.js';
import type { Store } from './store.js';

/** Thrown inside a task to fail it with Pulp's `error.description`. */
export class TaskFailure extends PulpdistError {}

export interface TaskContext {
  signal: AbortSignal;
  task: TaskRecord;
  /** Add (or find) a progress report by code; callers mutate `done`/`state` in place. */
  report(code: string, message: string, init?: Partial<ProgressReport>): ProgressReport;
}

export interface TaskSpec {
  name: string;
  cid: string;
  exclusive?: string[];
  shared?: string[];
  /** Run inline before answering when the locks are free (`worker: null`). */
  immediate?: boolean;
  run(ctx: TaskContext): Promise<void>;
}

interface Live {
  spec: TaskSpec;
  rec: TaskRecord;
  abort: AbortController;
  done: Promise<void>;
  resolveDone: () => void;
}

export class TaskManager {
  private waiting: Live[] = [];
  private running = new Map<string, Live>();
  private stopping = false;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    readonly workerHref: string,
    /** Tasks run at once; 0 = no online worker (tasks wait, as on a Pulp whose workers are stopped). */
    readonly workers: number,
  ) {}

  /** Mark tasks a previous process left unfinished as failed (their worker is gone). */
  async recover(): Promise<number> {
    const ops = [];
    for (const t of this.store.t.tasks.values()) {
      if (t.state === 'waiting' || t.state === 'running' || t.state === 'canceling') {
        const now = timestamp();
        ops.push({ put: 'tasks' as const, v: { ...t, state: 'failed' as const, finished_at: now, started_at: t.started_at ?? now, error: { reason: 'Worker has gone missing.' }, created_resources: [] } });
      }
    }
    if (ops.length) await this.store.commit(ops);
    return ops.length;
  }

  /** Create a task; resolves once it is recorded (and, for a free immediate task, finished). */
  async submit(spec: TaskSpec): Promise<TaskRecord> {
    const id = crypto.randomUUID();
    const rec: TaskRecord = {
      id,
      pulp_created: timestamp(),
      state: 'waiting',
      name: spec.name,
      logging_cid: spec.cid,
      started_at: null,
      finished_at: null,
      error: null,
      worker: null,
      progress_reports: [],
      created_resources: [],
      reserved_resources_record: [...(spec.exclusive ?? []), ...(spec.shared ?? []).map((s) => `shared:${s}`)],
    };
    // The executor runs at once, so the no-op is replaced before anyone can call it.
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((r) => (resolveDone = r));
    const live: Live = { spec, rec, abort: new AbortController(), done, resolveDone };
    // An immediate task that can start now finishes before its 202 is sent: nobody knows its href
    // until its final record is written, so it needs no "waiting" record (a crash before then
    // leaves nothing to find, as for a request that never got an answer).
    const inline = spec.immediate === true && !this.stopping && this.canStart(live, []);
    if (!inline) await this.store.commit([{ put: 'tasks', v: { ...rec } }]);
    if (this.stopping) {
      await this.finish(live, 'failed', { reason: 'Aborted during worker shutdown.' });
      return rec;
    }
    if (inline) {
      await this.execute(live, true);
      return rec;
    }
    this.waiting.push(live);
    this.schedule();
    return rec;
  }

  /** The live record of an unfinished task (progress changes are not journaled until the end). */
  get(id: string): TaskRecord | undefined {
    return this.running.get(id)?.rec ?? this.waiting.find((l) => l.rec.id === id)?.rec ?? this.store.t.tasks.get(id);
  }

  /** Cancel: 'canceling' now; the task ends 'canceled'. Returns the record, or null if already final. */
  async cancel(id: string): Promise<TaskRecord | null> {
    const w = this.waiting.find((l) => l.rec.id === id);
    if (w) {
      this.waiting.splice(this.waiting.indexOf(w), 1);
      w.rec.state = 'canceling';
      const snapshot = { ...w.rec };
      await this.finish(w, 'canceled', null);
      this.schedule();
      return snapshot;
    }
    const r = this.running.get(id);
    if (r) {
      if (r.rec.state === 'running') {
        r.rec.state = 'canceling';
        r.abort.abort(new TaskFailure('canceled'));
      }
      return { ...r.rec };
    }
    return null;
  }

  /** Resolves when the task reaches a final state. */
  async wait(id: string): Promise<void> {
    const l = this.running.get(id) ?? this.waiting.find((x) => x.rec.id === id);
    if (l) await l.done;
  }

  /** Stop starting tasks; give running ones `graceMs` to finish, then abort them. */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const w of this.waiting.splice(0)) await this.finish(w, 'failed', { reason: 'Aborted during worker shutdown.' });
    const all = Promise.all([...this.running.values()].map((l) => l.done));
    const timer = setTimeout(() => {
      for (const l of this.running.values()) l.abort.abort(new TaskFailure('Aborted during worker shutdown.'));
    }, graceMs);
    await all;
    clearTimeout(timer);
  }

  /** Href of a running task (status `current_task`). */
  currentTask(): string | null {
    const first = this.running.values().next();
    return first.done ? null : href.task(first.value.rec.id);
  }

  private canStart(live: Live, before: Live[]): boolean {
    const ex = live.spec.exclusive ?? [];
    const sh = live.spec.shared ?? [];
    const holders = [...this.running.values(), ...before];
    for (const o of holders) {
      const oex = o.spec.exclusive ?? [];
      const osh = o.spec.shared ?? [];
      if (ex.some((r) => oex.includes(r) || osh.includes(r))) return false;
      if (sh.some((r) => oex.includes(r))) return false;
    }
    return true;
  }

  private schedule(): void {
    if (this.stopping) return;
    const before: Live[] = [];
    for (const live of [...this.waiting]) {
      if (this.running.size >= this.workers) break;
      if (this.canStart(live, before)) {
        this.waiting.splice(this.waiting.indexOf(live), 1);
        void this.execute(live, false);
      } else before.push(live);
    }
  }

  private async execute(live: Live, inline: boolean): Promise<void> {
    const rec = live.rec;
    this.running.set(rec.id, live);
    rec.state = 'running';
    rec.started_at = timestamp();
    rec.worker = inline ? null : this.workerHref;
    const t0 = performance.now();
    // Only the final record is the task's record of truth: a task found unfinished at start-up is
    // failed either way, whether the journal last saw it waiting or running. So "running" is not
    // written: one journal commit less per task (about 10 % of a site's CPU in a pass of small syncs).
    const ctx: TaskContext = {
      signal: live.abort.signal,
      task: rec,
      report: (code, message, init = {}) => {
        let r = rec.progress_reports.find((p) => p.code === code && p.message === message);
        if (!r) {
          r = { message, code, state: 'running', total: null, done: 0, suffix: null, ...init };
          rec.progress_reports.push(r);
        }
        return r;
      },
    };
    try {
      // Once run() resolves its changes are committed: a cancel that arrives later is too late.
      await live.spec.run(ctx);
      await this.finish(live, 'completed', null);
    } catch (err) {
      if (live.abort.signal.aborted && (rec.state as TaskRecord['state']) === 'canceling') {
        rec.created_resources = [];
        await this.finish(live, 'canceled', null);
      } else if (live.abort.signal.aborted) {
        rec.created_resources = [];
        await this.finish(live, 'failed', { reason: 'Aborted during worker shutdown.' });
      } else {
        rec.created_resources = [];
        const description = err instanceof TaskFailure ? err.message : messageOf(err);
        if (!(err instanceof TaskFailure)) this.log.error('task error', { task: rec.id, name: rec.name, error: description });
        await this.finish(live, 'failed', { description });
      }
    } finally {
      this.running.delete(rec.id);
      this.log.info('task', { name: rec.name, task: rec.id, state: rec.state, ms: Math.round(performance.now() - t0) });
      this.schedule();
    }
  }

  /**
   * Record the final state. The journal is the task's record of truth: after a restart it is what
   * clients read. So when it cannot be written, the task is reported failed, here and now (memory
   * holds the record even when the journal write fails), rather than completed until the next start
   * and then failed as "Worker has gone missing". Its effects, if any, were committed by `run`;
   * a client that retries repeats an idempotent change.
   */
  private async finish(live: Live, state: TaskRecord['state'], error: Record<string, string> | null): Promise<void> {
    const rec = live.rec;
    const record = async (): Promise<void> => {
      rec.finished_at = timestamp();
      if (rec.state !== 'completed') rec.created_resources = [];
      await this.store.commit([{ put: 'tasks', v: { ...rec, progress_reports: rec.progress_reports.map((p) => ({ ...p })) } }]);
    };
    rec.state = state;
    rec.error = error;
    try {
      await record();
    } catch (err) {
      this.log.error('task result not written to the journal; the task is reported failed', { task: rec.id, name: rec.name, state, error: journalError(err) });
      if (state !== 'failed') {
        rec.state = 'failed';
        rec.error = { description: `The task's result could not be recorded: ${journalError(err)}` };
      }
      // Once more, for the failed record; the journal is most likely still broken (logged above).
      await record().catch(() => undefined);
    } finally {
      live.resolveDone();
    }
  }
}

/** A journal failure in a few words: the store's message and the system error behind it. */
function journalError(err: unknown): string {
  const cause = err instanceof Error && err.cause !== undefined ? `: ${messageOf(err.cause)}` : '';
  return `${messageOf(err)}${cause}`;
}
