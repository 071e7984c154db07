/**
 * The outcome handler: what each way a cycle can end means (a table over `judge`), and, under a
 * clock the test moves, the backoff and requeue it schedules, the status it records and the one
 * summary line it logs.
 */
import { test } from 'uvu';
import { PassFailure } from '../../reconcilers/failures.js';
import * as assert from 'uvu/assert';
import { createLogger } from '../../core/logger.js';
import type { CycleOutcome } from '../../controller/cycle.js';
import { handleOutcome, judge, type JudgeContext, type OutcomeDeps } from '../../controller/outcome.js';
import { FailureLog } from '../../controller/failure-log.js';
import { PassSupersededError } from '../../controller/running-pass.js';
import { LoopState } from '../../controller/state.js';
import { TriggerQueue } from '../../controller/trigger-queue.js';
import type { PassResult } from '../../reconcilers/pass-types.js';
import type { SpecSet } from '../../spec/types.js';
import { PropagationTracker } from '../../status/propagation.js';
import { FakeClock } from './fake-clock.js';

const COMMIT = 'c0ffee'.repeat(6) + 'abcd';
const specs: SpecSet = {
  sites: [{ name: 'origin', pulp: { url: 'http://127.0.0.1:9' } }] as SpecSet['sites'],
  mirrors: [{ name: 'a', origin: 'origin', sites: ['origin'] }] as SpecSet['mirrors'],
};

function passResult(over: Partial<PassResult> = {}): PassResult {
  return {
    converged: true,
    changes: 2,
    failures: [],
    nextDueAt: null,
    sites: [{ name: 'origin', url: 'http://127.0.0.1:9', reachable: true, pulpVersion: '3.24.0', lastSeen: null, message: '' }],
    mirrors: [{ name: 'a', origin: 'origin', treeDigest: null, sites: [{ site: 'origin', state: 'Synced', version: 1, treeDigest: null, files: 1, bytes: 1, lastSync: null, message: '' }] }],
    ...over,
  };
}

type Body = CycleOutcome extends infer O ? (O extends unknown ? Omit<O, 'n' | 'reasons' | 'startedAt' | 'commit' | 'gitError'> : never) : never;
const outcome = (body: Body, over: Partial<CycleOutcome> = {}): CycleOutcome =>
  ({ n: 7, reasons: new Set(['interval']), startedAt: 1_000_000, commit: body.kind === 'no-valid-commit' || body.kind === 'stopped' ? null : COMMIT, gitError: null, ...body, ...over }) as CycleOutcome;

const git = new Error('fetching http://git.example/specs.git failed: ECONNREFUSED');
const ctx: JudgeContext = { failures: 2, stopping: false, passDeadlineMs: 2_000, repo: 'http://git.example/specs.git' };

test('judge: what each outcome means', () => {
  const rows: [string, CycleOutcome, Partial<JudgeContext>, { failures: number; backoff: boolean; requeue: string | null; recordsPass: boolean; result: boolean; message: RegExp | ''; logs: string[] }][] = [
    ['ok', outcome({ kind: 'ok', result: passResult() }), {}, { failures: 0, backoff: false, requeue: null, recordsPass: true, result: true, message: '', logs: [] }],
    ['ok with failures', outcome({ kind: 'ok', result: passResult({ failures: [PassFailure.ofSource('a', 'gone'), PassFailure.ofSource('b', '500')] }) }), {}, { failures: 3, backoff: true, requeue: null, recordsPass: true, result: true, message: /^a: source unreadable: gone; b: source unreadable: 500$/, logs: [] }],
    ['git error, pass ran', outcome({ kind: 'git-error', error: git, result: passResult() }, { gitError: { error: git } }), {}, { failures: 3, backoff: true, requeue: null, recordsPass: true, result: true, message: /^cannot read the spec repository; reconciling the last valid commit: fetching .*ECONNREFUSED$/, logs: [] }],
    ['git error, nothing valid yet', outcome({ kind: 'git-error', error: git, result: null }, { commit: null, gitError: { error: git } }), {}, { failures: 3, backoff: true, requeue: null, recordsPass: false, result: false, message: /^cannot read/, logs: ['error cannot read the spec repository; reconciling the last valid commit'] }],
    ['no valid commit', outcome({ kind: 'no-valid-commit' }), {}, { failures: 0, backoff: false, requeue: null, recordsPass: false, result: false, message: '', logs: [] }],
    ['superseded', outcome({ kind: 'superseded', error: new PassSupersededError('superseded by 1234') }), {}, { failures: 2, backoff: false, requeue: 'commit', recordsPass: true, result: false, message: /^superseded by 1234$/, logs: ['warn pass aborted: a newer spec commit is waiting'] }],
    ['deadline', outcome({ kind: 'deadline', error: new DOMException('timeout', 'TimeoutError') }), {}, { failures: 3, backoff: true, requeue: null, recordsPass: true, result: false, message: /timeout/, logs: ['error pass exceeded its deadline of 2.0s; running syncs were canceled'] }],
    ['failed', outcome({ kind: 'failed', error: new Error('site unreachable') }), {}, { failures: 3, backoff: true, requeue: null, recordsPass: true, result: false, message: /^site unreachable$/, logs: ['error pass failed'] }],
    ['failed while stopping', outcome({ kind: 'failed', error: new Error('shutting down') }), { stopping: true }, { failures: 3, backoff: true, requeue: null, recordsPass: true, result: false, message: /^shutting down$/, logs: [] }],
    ['failed after a git error', outcome({ kind: 'failed', error: new Error('boom') }, { gitError: { error: git } }), {}, { failures: 3, backoff: true, requeue: null, recordsPass: true, result: false, message: /^boom$/, logs: ['error cannot read the spec repository; reconciling the last valid commit', 'error pass failed'] }],
    ['stopped', outcome({ kind: 'stopped' }), {}, { failures: 0, backoff: false, requeue: null, recordsPass: false, result: false, message: '', logs: [] }],
  ];
  for (const [name, o, over, want] of rows) {
    const v = judge(o, { ...ctx, ...over });
    const got = {
      failures: v.failures, backoff: v.backoff, requeue: v.requeue, recordsPass: v.recordsPass, result: v.result !== null,
      message: want.message === '' ? v.message : want.message.test(v.message) ? want.message : v.message,
      logs: v.logs.map((l) => `${l.level} ${l.message}`),
    };
    assert.equal(got, want, name);
    assert.is(v.error === undefined, want.message === '', `${name}: an error exactly when there is a message`);
  }
});

/** The handler with a real queue, state and logger, no status writer, under a FakeClock. */
function setup() {
  const clock = new FakeClock(1_000_000);
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (l) => void lines.push(l) });
  const view = { specCommit: COMMIT, problems: [], valid: { commit: COMMIT, specs } };
  const state = new LoopState({ version: 'test', startedAt: new Date(clock.now()), specs: view });
  const queue = new TriggerQueue({ clock, debounceMs: 200, run: async () => {}, onError: () => {} });
  const deps: OutcomeDeps = {
    state, queue, propagation: new PropagationTracker(new Date(clock.now())), writer: null, log, clock, random: () => 0.5, repo: 'test-repo',
    options: { intervalMs: 30_000, debounceMs: 200, backoffBaseMs: 1_000, backoffMaxMs: 10_000, passDeadlineMs: 2_000 },
    scheduling: () => true, stopping: () => false, listeners: new Set(),
  };
  const summaries = (): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.msg === 'pass');
  /** Handle one outcome that started now and took `ms`; returns the delay to the next cycle. */
  const handle = async (body: Body, ms = 50, over: Partial<CycleOutcome> = {}): Promise<number | null> => {
    const startedAt = clock.now();
    await clock.advance(ms);
    await handleOutcome(deps, outcome(body, { startedAt, ...over }));
    const due = queue.dueAt;
    return due === null ? null : due - clock.now();
  };
  return { clock, state, queue, deps, lines, summaries, handle };
}

test('errors back off 1 s, 2 s, 4 s … capped; a success resets to the interval; superseded neither counts nor waits', async () => {
  const s = setup();
  const failed = { kind: 'failed', error: new Error('site unreachable') } as const;
  const delays: (number | null)[] = [];
  for (let i = 0; i < 6; i++) {
    delays.push(await s.handle(failed));
    await s.clock.advance(Math.max(0, delays.at(-1) ?? 0) + 1); // the timer fires (the queue's run is a no-op)
  }
  assert.equal(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  assert.is(s.state.failures, 6);
  assert.is(await s.handle({ kind: 'superseded', error: new PassSupersededError('superseded by x') }), 200, 'the newer commit runs after the debounce');
  assert.ok(s.queue.pending.has('commit'));
  assert.is(s.state.failures, 6, 'a superseded pass is not a failure');
  await s.clock.advance(201);
  assert.is(await s.handle({ kind: 'ok', result: passResult() }), 30_000, 'the interval (random 0.5: no jitter)');
  assert.is(s.state.failures, 0);
  await s.clock.advance(30_001);
  assert.is(await s.handle(failed), 1_000, 'backoff starts again from the base');
});

test('a schedule coming due before the interval wakes the loop for it', async () => {
  const s = setup();
  const due = new Date(s.clock.now() + 50 + 12_000);
  assert.is(await s.handle({ kind: 'ok', result: passResult({ nextDueAt: due }) }), 12_000);
});

test('status and log: observedCommit moves only when a pass returns; lastPass and one summary line per cycle', async () => {
  const s = setup();
  await s.handle({ kind: 'deadline', error: new DOMException('The operation was aborted due to timeout', 'TimeoutError') }, 2_000);
  let c = s.state.doc.controller;
  assert.is(c.observedCommit, null, 'a pass that did not return moves nothing forward');
  assert.is(c.lastPass?.result, 'failed');
  assert.is(c.lastPass?.startedAt, new Date(1_000_000).toISOString());
  assert.is(c.lastPass?.finishedAt, new Date(1_002_000).toISOString());
  assert.match(c.lastPass?.message ?? '', /aborted due to timeout/);
  assert.ok(s.lines.some((l) => l.includes('pass exceeded its deadline of 2.0s; running syncs were canceled')));

  await s.handle({ kind: 'ok', result: passResult() }, 300);
  c = s.state.doc.controller;
  assert.is(c.observedCommit, COMMIT);
  assert.is(c.lastPass?.result, 'succeeded');
  assert.is(c.lastPass?.message, undefined);
  assert.equal(s.state.doc.mirrors.map((m) => m.sites.map((x) => x.state)), [['Synced']]);

  const sums = s.summaries();
  assert.is(sums.length, 2, 'one summary line per cycle');
  assert.equal(
    sums.map((e) => [e.pass, e.trigger, e.commit, e.changes, e.converged, e.states, e.duration, e.next]),
    [
      [7, 'interval', null, 0, false, 'Pending:1', '2.0s', '1.0s'],
      [7, 'interval', COMMIT.slice(0, 12), 2, true, 'Synced:1', '300ms', '30.0s'],
    ],
  );
  assert.is(s.state.cycles, 2);
});

test('an unreadable spec repository: one error line with the repository and cause, counted while it persists, its recovery once', async () => {
  const s = setup();
  s.deps.failureLog = new FailureLog(s.deps.log);
  const gitError = { error: new Error('branch "main" not found in /srv/specs (branches: renamed)') };
  const entries = () => s.lines.splice(0).map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.msg !== 'pass');
  for (let i = 0; i < 3; i++) {
    await s.handle({ kind: 'git-error', error: gitError.error, result: passResult() }, 50, { gitError, n: 7 + i });
    const got = entries();
    if (i === 0) {
      assert.equal(got.map((e) => [e.level, e.msg, e.kind]), [['error', 'cannot read the spec repository; reconciling the last valid commit (test-repo): branch "main" not found in /srv/specs (branches: renamed)', 'spec-unreadable']]);
    } else {
      assert.equal(got.map((e) => [e.level, e.msg]), [['warn', '1 failure persists']], `pass ${7 + i}: counted, not repeated`);
    }
  }
  await s.handle({ kind: 'ok', result: passResult() }, 50, { n: 10 });
  const back = entries();
  assert.equal(back.map((e) => [e.level, e.msg]), [['info', 'recovered']]);
  assert.match(String(back[0]!.was), /^cannot read the spec repository/);
});

test('nothing is scheduled once the loop stops, and the summary says so', async () => {
  const s = setup();
  s.deps.scheduling = () => false;
  assert.is(await s.handle({ kind: 'ok', result: passResult() }), null);
  assert.is(s.summaries()[0]?.next, 'stopped');
});

test.run();
