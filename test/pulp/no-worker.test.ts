/**
 * followTask's look at status/ while a worker task waits (pulp/tasks.ts, TaskFollowerDeps.noWorker),
 * as a table over scripted task answers in the shapes real Pulp gives (extra4/108-111: `waiting`,
 * `worker: null`): status/ is asked only after `afterMs` of waiting with no worker and then every
 * `afterMs`; a listed worker or an unanswered status/ keeps the task followed; none online cancels
 * it with PulpNoWorkerError; a running task or one with a worker is never questioned.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/logger.js';
import { PulpNoWorkerError } from '../../pulp/errors.js';
import { followTask } from '../../pulp/tasks.js';
import type { Task, TaskState } from '../../pulp/types.js';

const HREF = '/pulp/api/v3/tasks/0700e99a-8780-4781-8945-2e4897c3ac7e/';

function task(state: TaskState, worker: string | null = null): Task {
  return { pulp_href: HREF, state, name: 'pulp_file.app.tasks.synchronizing.synchronize', worker, created_resources: [], progress_reports: [], error: null } as unknown as Task;
}

/**
 * Follow a task whose polls answer `states` in turn (the last repeats), each poll 10 ms of a fake
 * clock after the last; status/ answers `workers` in turn (a number, or 'down' for no answer).
 */
async function follow(states: Task[], workers: (number | 'down')[], afterMs = 25) {
  let clock = 0;
  let polls = 0;
  const asked: number[] = [];
  const canceled: string[] = [];
  const outcome = await followTask(HREF, {
    site: 'r2', log: silentLogger, pollMinMs: 1, pollMaxMs: 1, timeoutMs: 10_000, cancelTimeoutMs: 1000, now: () => clock,
    getTask: async () => {
      const t = states[Math.min(polls++, states.length - 1)]!;
      clock += 10;
      return t;
    },
    cancelTask: async (h) => {
      canceled.push(h);
      return task('canceling');
    },
    noWorker: {
      afterMs,
      onlineWorkers: async () => {
        asked.push(clock);
        const w = workers[Math.min(asked.length - 1, workers.length - 1)]!;
        if (w === 'down') throw new Error('status/ did not answer');
        return w;
      },
    },
  }).then((t) => t.state, (err: unknown) => err);
  return { outcome, asked, canceled, polls };
}

test('waiting with no worker and none online: asked after afterMs, canceled, PulpNoWorkerError with the wait', async () => {
  const r = await follow([task('waiting')], [0]);
  assert.ok(r.outcome instanceof PulpNoWorkerError, String(r.outcome));
  const err = r.outcome as PulpNoWorkerError;
  assert.equal([err.site, err.task, err.waitedMs, err.retryable], ['r2', HREF, 30, true]);
  assert.match(err.message, /^r2: task \S+ \(synchronize\) waited 30ms and status\/ lists no online Pulp worker; asked Pulp to cancel it/);
  assert.equal(r.asked, [40]);
  assert.equal(r.canceled, [HREF]);
});

test('a listed worker (busy) or an unanswered status/ keeps the task followed; asked again every afterMs', async () => {
  const r = await follow([...Array(8).fill(task('waiting')), task('running', '/pulp/api/v3/workers/w/'), task('completed', '/pulp/api/v3/workers/w/')], [1, 'down', 1]);
  assert.is(r.outcome, 'completed');
  assert.equal(r.asked, [40, 70]);
  assert.equal(r.canceled, []);
});

test('running, or waiting with a worker named, is never questioned; a wait that ends starts the count again', async () => {
  const busy = await follow([...Array(6).fill(task('running', '/pulp/api/v3/workers/w/')), ...Array(6).fill(task('waiting', '/pulp/api/v3/workers/w/')), task('completed')], [0]);
  assert.is(busy.outcome, 'completed');
  assert.equal(busy.asked, []);
  // Waiting 20 ms, running, waiting 20 ms again: never 25 ms in one go.
  const broken = await follow([task('waiting'), task('waiting'), task('waiting'), task('running'), task('waiting'), task('waiting'), task('waiting'), task('completed')], [0]);
  assert.is(broken.outcome, 'completed');
  assert.equal(broken.asked, []);
});

test.run();
