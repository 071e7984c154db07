/** A cron schedule is a window: a source change waits for the next cron time unless syncOnChange. Tables, pure. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cronHold } from '../../reconcilers/sync.js';
import type { MirrorSchedule } from '../../spec/types.js';

const NIGHTLY: MirrorSchedule = { cron: '30 2 * * *' };
const at = (iso: string) => new Date(iso);

test('cronHold: when a source change may sync', () => {
  const table: [string, MirrorSchedule | undefined, string | undefined, string, string | null][] = [
    // [what, schedule, last sync, now, held until]
    ['no schedule: at once', undefined, '2026-12-05T01:00:00Z', '2026-12-05T10:00:00Z', null],
    ['interval: at once', { intervalMs: 3_600_000 }, '2026-12-05T09:59:00Z', '2026-12-05T10:00:00Z', null],
    ['cron, synced before the last window opened: at once', NIGHTLY, '2026-12-04T12:00:00Z', '2026-12-05T10:00:00Z', null],
    ['cron, synced after the last window: held to the next', NIGHTLY, '2026-12-05T02:31:00Z', '2026-12-05T10:00:00Z', '2026-12-06T02:30:00.000Z'],
    ['cron, exactly at the window: at once', NIGHTLY, '2026-12-05T02:31:00Z', '2026-12-06T02:30:00Z', null],
    ['cron, last sync unknown: the next window from now', NIGHTLY, undefined, '2026-12-05T10:00:00Z', '2026-12-06T02:30:00.000Z'],
    ['cron with syncOnChange: at once', { cron: '30 2 * * *', syncOnChange: true }, '2026-12-05T02:31:00Z', '2026-12-05T10:00:00Z', null],
  ];
  for (const [what, schedule, last, now, want] of table) {
    const held = cronHold(schedule, last === undefined ? undefined : at(last), at(now));
    assert.is(held === null ? null : held.toISOString(), want, what);
  }
});

test.run();
