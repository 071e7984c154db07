import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelay, jittered, nextAfterCycle, triggerAt, type AfterCycle } from '../../controller/schedule.js';

const base: AfterCycle = { now: 1_000_000, failed: false, failures: 0, nextDueAt: null, pending: new Set(), intervalMs: 30_000, debounceMs: 200, backoffBaseMs: 1_000, backoffMaxMs: 300_000, random: 0.5 };

test('jitter stays within ±10% of the interval', () => {
  assert.is(jittered(30_000, 0), 27_000);
  assert.is(jittered(30_000, 0.5), 30_000);
  assert.is(jittered(30_000, 0.999999), 33_000);
});

test('backoff doubles from the base and is capped', () => {
  assert.equal([1, 2, 3, 4, 9, 10, 50].map((n) => backoffDelay(n, 1_000, 300_000)), [1_000, 2_000, 4_000, 8_000, 256_000, 300_000, 300_000]);
});

test('after a cycle: interval, an earlier schedule, a failure, and triggers that arrived meanwhile', () => {
  const rows: [Partial<AfterCycle>, number, number, string][] = [
    [{}, 1_030_000, 0, 'interval'],
    [{ nextDueAt: 1_005_000 }, 1_005_000, 0, 'interval'],
    [{ nextDueAt: 900_000 }, 1_000_200, 0, 'interval'],
    [{ failed: true, failures: 3 }, 1_004_000, 1_004_000, 'retry'],
    [{ failed: true, failures: 3, pending: new Set(['commit'] as const) }, 1_000_200, 1_004_000, 'retry'],
    [{ failed: true, failures: 3, pending: new Set(['interval'] as const) }, 1_004_000, 1_004_000, 'retry'],
    [{ pending: new Set(['webhook'] as const) }, 1_000_200, 0, 'interval'],
  ];
  for (const [over, at, backoffUntil, reason] of rows) {
    assert.equal(nextAfterCycle({ ...base, ...over }), { at, backoffUntil, reason }, JSON.stringify(over, (_, v) => (v instanceof Set ? [...v] : v)));
  }
});

test('between cycles a new commit or webhook does not wait for a backoff; drift repair does', () => {
  assert.is(triggerAt('commit', 0, 200, 60_000), 200);
  assert.is(triggerAt('webhook', 0, 200, 60_000), 200);
  assert.is(triggerAt('interval', 0, 200, 60_000), 60_000);
  assert.is(triggerAt('schedule', 0, 200, 0), 200);
});

test.run();
