/** The trigger queue under a clock the test moves: debounce, merging, one cycle at a time, backoff. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TriggerReason } from '../../controller/schedule.js';
import { TriggerQueue } from '../../controller/trigger-queue.js';
import { FakeClock, settle } from './fake-clock.js';

const DEBOUNCE = 200;

/** A queue whose cycles record their reasons and, when `hold` is set, wait to be released. */
function setup(opts: { hold?: boolean; fail?: boolean } = {}) {
  const clock = new FakeClock(0);
  const runs: { at: number; reasons: TriggerReason[] }[] = [];
  const errors: unknown[] = [];
  let active = 0;
  let maxActive = 0;
  const releases: (() => void)[] = [];
  const queue = new TriggerQueue({
    clock,
    debounceMs: DEBOUNCE,
    run: async (reasons) => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs.push({ at: clock.now(), reasons: [...reasons].sort() });
      try {
        if (opts.hold) await new Promise<void>((r) => releases.push(r));
        if (opts.fail) throw new Error('a bug in the cycle');
      } finally {
        active--;
      }
    },
    onError: (err) => errors.push(err),
  });
  const release = async (): Promise<void> => {
    const r = releases.shift();
    if (!r) throw new Error('no cycle is waiting to be released');
    r();
    await settle();
  };
  return { clock, queue, runs, errors, release, maxActive: () => maxActive };
}

test('between cycles: when a trigger starts one, with and without an error backoff', () => {
  const rows: [TriggerReason, number, number][] = [
    // reason, backoff until, the cycle starts at
    ['start', 0, 200],
    ['commit', 0, 200],
    ['commit', 60_000, 200],
    ['webhook', 60_000, 200],
    ['interval', 0, 200],
    ['interval', 60_000, 60_000],
    ['schedule', 60_000, 60_000],
    ['retry', 60_000, 60_000],
  ];
  for (const [reason, backoffUntil, at] of rows) {
    const { queue } = setup();
    queue.schedule({ at: 3_600_000, reason: 'interval', backoffUntil });
    queue.add(reason);
    assert.is(queue.dueAt, at, `${reason} with a backoff until ${backoffUntil}`);
    assert.equal([...queue.pending], [reason]);
  }
});

test('triggers within the debounce window merge into one cycle with all their reasons', async () => {
  const { clock, queue, runs } = setup();
  queue.add('commit');
  await clock.advance(150);
  queue.add('interval');
  assert.is(queue.dueAt, 200, 'the later trigger does not push the cycle back');
  await clock.advance(49);
  assert.equal(runs, []);
  await clock.advance(1);
  assert.equal(runs, [{ at: 200, reasons: ['commit', 'interval'] }]);
  assert.is(queue.pending.size, 0);
  await clock.advance(10_000);
  assert.is(runs.length, 1, 'nothing more without a trigger or a schedule');
});

test('triggers during a cycle make exactly one more cycle after it; two never run at once', async () => {
  const s = setup({ hold: true });
  s.queue.add('start');
  await s.clock.advance(DEBOUNCE);
  assert.is(s.runs.length, 1);
  assert.ok(s.queue.running);
  s.queue.add('commit');
  s.queue.add('commit');
  s.queue.add('schedule');
  assert.is(s.queue.dueAt, null, 'nothing is due while the cycle runs');
  await s.clock.advance(5_000);
  assert.is(s.runs.length, 1, 'held behind the running cycle');
  await s.release();
  assert.not.ok(s.queue.running);
  await s.clock.advance(DEBOUNCE);
  assert.equal(s.runs.map((r) => r.reasons), [['start'], ['commit', 'schedule']]);
  await s.release();
  await s.clock.advance(60_000);
  assert.is(s.runs.length, 2, 'once more, not once per trigger');
  assert.is(s.maxActive(), 1);
});

test('the handler\'s schedule: an earlier wake stays, a later one does not replace it; requeue does not wake', async () => {
  const { clock, queue, runs } = setup();
  queue.schedule({ at: 30_000, reason: 'interval', backoffUntil: 0 });
  queue.schedule({ at: 40_000, reason: 'retry', backoffUntil: 0 });
  assert.is(queue.dueAt, 30_000);
  queue.schedule({ at: 5_000, reason: 'schedule', backoffUntil: 0 });
  assert.is(queue.dueAt, 5_000);
  queue.requeue('commit');
  assert.is(queue.dueAt, 5_000);
  await clock.advance(5_000);
  assert.equal(runs, [{ at: 5_000, reasons: ['commit', 'schedule'] }]);
});

test('after close nothing starts, the running cycle is left to finish', async () => {
  const s = setup({ hold: true });
  s.queue.add('start');
  await s.clock.advance(DEBOUNCE);
  const inFlight = s.queue.inFlight;
  assert.ok(inFlight);
  s.queue.add('commit');
  s.queue.close();
  s.queue.add('webhook');
  s.queue.schedule({ at: 1_000, reason: 'interval', backoffUntil: 0 });
  assert.is(s.queue.dueAt, null);
  await s.release();
  await inFlight;
  await s.clock.advance(3_600_000);
  assert.is(s.runs.length, 1);
  assert.is(s.queue.inFlight, null);
});

test('a cycle that throws is reported and the queue goes on', async () => {
  const s = setup({ fail: true });
  s.queue.add('start');
  await s.clock.advance(DEBOUNCE);
  assert.is(s.errors.length, 1);
  assert.match(String(s.errors[0]), /a bug in the cycle/);
  assert.not.ok(s.queue.running);
  s.queue.add('commit');
  await s.clock.advance(DEBOUNCE);
  assert.is(s.runs.length, 2);
});

test.run();
