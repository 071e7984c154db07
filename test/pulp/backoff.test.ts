/** The retry and poll schedules as tables (pure functions, random source passed in). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRetryAfter, pollDelayMs, retryDelayMs } from '../../pulp/backoff.js';
import { filterParams } from '../../pulp/pagination.js';

test('retry delays double from the base, are capped, and jitter within [cap/2, cap]', () => {
  const base = { baseMs: 100, maxMs: 1000 };
  const table: [attempt: number, random: number, expected: number][] = [
    [1, 0, 50],
    [1, 1, 100],
    [2, 0, 100],
    [2, 1, 200],
    [3, 0.5, 300],
    [4, 1, 800],
    [5, 1, 1000],
    [9, 0, 500],
  ];
  for (const [attempt, r, expected] of table) {
    assert.is(retryDelayMs(attempt, { ...base, random: () => r }), expected, `attempt ${attempt}, random ${r}`);
  }
});

test('a longer Retry-After wins, but never beyond the cap', () => {
  const opts = { baseMs: 100, maxMs: 1000, random: () => 0 };
  assert.is(retryDelayMs(1, { ...opts, retryAfterMs: 700 }), 700);
  assert.is(retryDelayMs(1, { ...opts, retryAfterMs: 5000 }), 1000);
  assert.is(retryDelayMs(1, { ...opts, retryAfterMs: 0 }), 50);
});

test('Retry-After is read as seconds or an HTTP date', () => {
  const now = Date.parse('Tue, 24 Nov 2026 17:25:24 GMT');
  assert.is(parseRetryAfter('3', now), 3000);
  assert.is(parseRetryAfter('Tue, 24 Nov 2026 17:25:26 GMT', now), 2000);
  assert.is(parseRetryAfter('Tue, 24 Nov 2026 17:25:20 GMT', now), 0);
  assert.is(parseRetryAfter(undefined, now), null);
  assert.is(parseRetryAfter('soon', now), null);
});

test('task polls come a share of the time waited so far after the last one, between the minimum and the maximum', () => {
  const opts = { minMs: 50, maxMs: 2000, share: 0.25 };
  const delays = [0, 100, 200, 400, 1000, 4000, 8000, 60_000].map((elapsed) => pollDelayMs(elapsed, opts));
  assert.equal(delays, [50, 50, 50, 100, 250, 1000, 2000, 2000]);
  // Followed from 0: a task that ends at 2.0 s is seen within 25% of that.
  let t = 50;
  const polls = [t];
  while (t < 2000) polls.push((t += pollDelayMs(t, opts)));
  assert.ok(t <= 2500, `seen at ${t} ms`);
  assert.ok(polls.length <= 16, `${polls.length} polls`);
});

test('filters become query parameters: arrays comma-joined, undefined dropped, sorted', () => {
  assert.equal(filterParams({ name__in: ['pulpdist.a', 'pulpdist.b'], pulp_label_select: 'managed_by=pulpdist', name: undefined, base_path: 'x/y' }), [
    ['base_path', 'x/y'],
    ['name__in', 'pulpdist.a,pulpdist.b'],
    ['pulp_label_select', 'managed_by=pulpdist'],
  ]);
  assert.equal(filterParams(), []);
});

test.run();
