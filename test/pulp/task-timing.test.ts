/** When the client first polls a worker task (pulp/task-timing.ts), as a table of recorded durations. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TaskTiming } from '../../pulp/task-timing.js';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString().replace('Z', '000Z');
const task = (ms: number) => ({ pulp_created: at(0), finished_at: at(ms) });

test('no sample yet: the minimum', () => {
  assert.is(new TaskTiming().firstPollMs('POST sync', 50), 50);
});

test('the lower quartile of recent durations, within [min, 4 × min], per call', () => {
  const cases: [number[], number][] = [
    [[120], 120],
    [[10, 20, 30], 50], // faster than the minimum: the minimum
    [[100, 150, 200, 900, 1000], 150],
    [[5000, 6000, 7000], 200], // slow tasks: at most 4 × min
  ];
  for (const [durations, want] of cases) {
    const t = new TaskTiming();
    for (const d of durations) t.record('POST sync', task(d));
    assert.is(t.firstPollMs('POST sync', 50), want, JSON.stringify(durations));
    assert.is(t.firstPollMs('create distribution', 50), 50, 'another call has its own samples');
  }
});

test('only the last 32 durations count; unparsable or negative ones are ignored', () => {
  const t = new TaskTiming();
  for (let i = 0; i < 40; i++) t.record('k', task(190));
  for (let i = 0; i < 32; i++) t.record('k', task(60));
  assert.is(t.firstPollMs('k', 50), 60);
  t.record('k', { pulp_created: 'not a date', finished_at: at(10) });
  t.record('k', { pulp_created: at(500), finished_at: at(0) });
  t.record('k', { pulp_created: at(0), finished_at: null });
  assert.is(t.firstPollMs('k', 50), 60);
});

test.run();
