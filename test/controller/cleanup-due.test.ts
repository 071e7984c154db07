/**
 * When a site's orphan cleanup is due (controller/cleanup-schedule.ts, issue 22), decided from the
 * pass that just ended and the clock: every interval from the start; after a pass that removed a
 * mirror's repository or synced there (a sync with retainVersions drops a version), at most once
 * an hour (or per protection time when longer) and never more often than the interval; never at a
 * degraded, unreachable or disabled site. The clock is moved by hand; no Pulp is needed to decide.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CleanupSchedule } from '../../controller/cleanup-schedule.js';
import { silentLogger } from '../../core/logger.js';
import type { SiteStatus } from '../../core/status.js';
import type { PassResult } from '../../reconcilers/pass-types.js';
import type { PlanEntry } from '../../reconcilers/plan-types.js';
import type { SiteSpec, SpecSet } from '../../spec/types.js';
import { site } from '../reconcilers/fixtures.js';

const H = 3_600_000;
const DAY = 24 * H;

function clock(start = Date.parse('2026-12-05T00:00:00Z')): { now: () => Date; advance(ms: number): void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}

function withCleanup(name: string, c: Partial<NonNullable<SiteSpec['orphanCleanup']>> = {}): SiteSpec {
  return { ...site(name), orphanCleanup: { enabled: true, intervalMs: DAY, protectionMs: H, ...c } };
}

function pass(entries: Partial<PlanEntry>[] = [], states: Record<string, SiteStatus['state']> = {}): PassResult {
  const names = ['hub', 'leaf', 'edge', 'off'];
  return {
    converged: true, changes: entries.length, mirrors: [], nextDueAt: null, failures: [],
    sites: names.map((n) => ({ name: n, url: `http://${n}.test`, upstream: null, reachable: states[n] !== 'unreachable', state: states[n] ?? 'reachable', pulpVersion: '3.24.0', lastSeen: null, message: '' })),
    plan: { entries: entries as PlanEntry[] } as PassResult['plan'],
  };
}

const due = (s: CleanupSchedule, specs: SpecSet, r: PassResult) => s.due(specs, r).map((x) => x.name);

test('every interval from the start, per site; a pass with nothing removed or synced asks for nothing sooner', () => {
  const c = clock();
  const s = new CleanupSchedule({ log: silentLogger, now: c.now });
  const specs: SpecSet = { sites: [withCleanup('hub'), withCleanup('leaf', { intervalMs: 6 * H })], mirrors: [] };
  assert.equal(due(s, specs, pass()), []);
  c.advance(6 * H);
  assert.equal(due(s, specs, pass()), ['leaf']);
  c.advance(18 * H);
  assert.equal(due(s, specs, pass()), ['hub', 'leaf']);
});

test('after a removed mirror or a sync: due once the hour (or a longer protection time) has passed, not at once', () => {
  const c = clock();
  const s = new CleanupSchedule({ log: silentLogger, now: c.now });
  const specs: SpecSet = { sites: [withCleanup('hub'), withCleanup('leaf', { protectionMs: 3 * H }), withCleanup('edge')], mirrors: [] };
  const removed = pass([{ site: 'hub', kind: 'repository', action: 'delete' }, { site: 'leaf', kind: 'sync', action: 'sync' }, { site: 'edge', kind: 'distribution', action: 'delete' }]);
  c.advance(30 * 60_000);
  assert.equal(due(s, specs, removed), [], 'half an hour after the start: too soon');
  c.advance(30 * 60_000);
  // hub: an hour; leaf: its protection time (3 h) is longer; edge: a distribution delete frees nothing.
  assert.equal(due(s, specs, pass()), ['hub'], 'the pass that removed something is remembered');
  c.advance(2 * H);
  assert.equal(due(s, specs, pass()), ['hub', 'leaf']);
});

test('never more often than the interval, and never at a degraded, unreachable or disabled site', () => {
  const c = clock();
  const s = new CleanupSchedule({ log: silentLogger, now: c.now });
  const specs: SpecSet = {
    sites: [withCleanup('hub', { intervalMs: 10 * 60_000 }), withCleanup('leaf'), withCleanup('edge'), withCleanup('off', { enabled: false })],
    mirrors: [],
  };
  const synced = pass([{ site: 'hub', kind: 'sync', action: 'sync' }]);
  c.advance(5 * 60_000);
  assert.equal(due(s, specs, synced), [], 'a 10-minute interval caps the after-a-pass cleanup too');
  c.advance(5 * 60_000);
  assert.equal(due(s, specs, synced), ['hub']);
  c.advance(DAY);
  assert.equal(due(s, specs, pass([], { leaf: 'degraded', edge: 'unreachable' })), ['hub']);
});

test.run();
