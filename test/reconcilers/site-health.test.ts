/**
 * Plan's site-health rules as tables (reconcilers/site-health.ts): a degraded site starts no task
 * that needs a worker, a sync that would not fit the free space is held as Blocked while the
 * others go on, and a site without a storage figure is not guessed at.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderMarkdown } from '../../cli/reporters/plan.js';
import { desiredState } from '../../reconcilers/desired.js';
import { plan } from '../../reconcilers/plan.js';
import { mirrorStatuses, siteStatuses } from '../../reconcilers/status.js';
import type { ObservedSite, ObservedState, SourceTree } from '../../reconcilers/plan-types.js';
import { healthOf, onlineWorkersOf, PER_FILE_OVERHEAD, storageOf } from '../../reconcilers/site-health.js';
import type { PulpStatus } from '../../pulp/types.js';
import { convergedSite, emptySite, mirror, site, tree } from './fixtures.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const SITES = [site('origin'), site('hub', { upstream: 'origin' })];
const MiB = 1024 * 1024;
const BIG = tree([['big.iso', 'big', 30 * MiB]]);
const SMALL = tree([['small.txt', 'small', 1 * MiB]]);
const OTHER = tree([['other.txt', 'other', 2 * MiB]]);

function observed(sites: ObservedSite[], sources: Record<string, SourceTree>): ObservedState {
  return { sites: new Map(sites.map((s) => [s.name, s])), sources: new Map(Object.entries(sources)) };
}

const specs = { sites: SITES, mirrors: [mirror('big', { sites: ['origin', 'hub'] }), mirror('other', { sites: ['origin', 'hub'] }), mirror('small', { sites: ['origin', 'hub'] })] };
const sources = { big: BIG, other: OTHER, small: SMALL };

test('status/ bodies: storage as recorded, null for object storage or nonsense, workers counted', () => {
  // status/ of a real Pulp 3.24 whose worker was stopped (recorded: extra4/106).
  const real = { versions: [{ component: 'core', version: '3.24.1', package: 'pulpcore' }], online_workers: [], online_content_apps: [{ name: '11337@vm', last_heartbeat: '2026-12-05T06:48:07.082854Z' }], database_connection: { connected: true }, storage: { total: 270553174016, used: 27508772864, free: 81435521024 }, content_settings: { content_origin: 'http://127.0.0.1:24826', content_path_prefix: '/pulp/content/' } } as PulpStatus;
  assert.equal(storageOf(real), { total: 270553174016, used: 27508772864, free: 81435521024 });
  assert.is(onlineWorkersOf(real), 0);
  assert.is(storageOf({ ...real, storage: null }), null);
  assert.is(storageOf({ ...real, storage: { total: 'big', used: 1, free: 1 } as never }), null);
  assert.is(onlineWorkersOf({ ...real, online_workers: [{}, {}] }), 2);
});

test('diskLow: free space under the Site\'s storage.freeSpaceWarning (default 10%); no figure, no verdict', () => {
  const GiB = 1024 ** 3;
  const disk = (free: number) => ({ total: 100 * GiB, used: (100 - free) * GiB, free: free * GiB });
  const sites = [site('a'), site('b'), { ...site('c'), storage: { freeSpaceWarning: 0.25 } }, site('d'), site('e')];
  const d = desiredState({ sites, mirrors: [] });
  const o = observed([
    { ...emptySite('a'), storage: disk(9) }, { ...emptySite('b'), storage: disk(10) },
    { ...emptySite('c'), storage: disk(20) }, { ...emptySite('d'), storage: null }, { ...emptySite('e'), storage: { total: 0, used: 0, free: 0 } },
  ], {});
  const got = siteStatuses(d, o, new Map()).map((s) => [s.name, s.diskLow ?? 'absent', s.storage === null ? 'no figure' : 'figure']);
  assert.equal(got, [['a', true, 'figure'], ['b', false, 'figure'], ['c', true, 'figure'], ['d', 'absent', 'no figure'], ['e', false, 'figure']]);
});

test('degraded site: its syncs become noops that say why, no distribution create; the other site plans as usual', () => {
  const d = desiredState(specs);
  const hub: ObservedSite = { ...emptySite('hub'), onlineWorkers: 0, storage: null };
  const p = plan(d, observed([{ ...emptySite('origin'), onlineWorkers: 1 }, hub], sources), { now: NOW });
  const atHub = p.entries.filter((e) => e.site === 'hub').map((e) => `${e.action} ${e.kind}`);
  assert.ok(!atHub.includes('create distribution'), atHub.join(', '));
  assert.ok(!atHub.includes('sync sync'));
  assert.is(atHub.filter((x) => x === 'noop sync').length, 3);
  assert.ok(p.entries.filter((e) => e.site === 'hub' && e.action === 'noop').every((e) => /^site hub has no online Pulp worker/.test(e.reason)));
  assert.is(p.entries.filter((e) => e.site === 'origin' && e.action === 'sync').length, 3);
  assert.equal(p.sites.map((s) => [s.name, s.health]), [['origin', 'reachable'], ['hub', 'degraded']]);
  assert.match(p.sites[1]!.message, /degraded: no online Pulp worker/);
  // The merge-request note says it too.
  const md = renderMarkdown(p);
  assert.match(md, /^\| hub \| \*\*degraded\*\* \|/m);
  assert.match(md, /^\*\*hub\*\*: degraded: no online Pulp worker/m);
  assert.is(healthOf(hub), 'degraded');
  assert.is(healthOf(emptySite('x', { reachable: false })), 'unreachable');
  // A site observed before workers were counted (no field) is not degraded.
  assert.is(healthOf(emptySite('x')), 'reachable');
});

test('a degraded site publishes nothing either (a publish is a worker task)', () => {
  const d = desiredState({ sites: SITES, mirrors: [mirror('small', { sites: ['origin', 'hub'] })] });
  const hub = convergedSite(d, 'hub', { small: SMALL });
  // Its repository has versions but its distribution serves nothing: a publish would be planned.
  (hub.published as Map<string, unknown>).set('pulpdist.small', null);
  const p = plan(d, observed([convergedSite(d, 'origin', { small: SMALL }), { ...hub, onlineWorkers: 0 }], { small: SMALL }), { now: NOW });
  const e = p.entries.find((x) => x.site === 'hub')!;
  assert.equal([e.action, /the publish waits/.test(e.reason)], ['noop', true]);
});

test('syncs that must fit: in plan order until the free space (less a 1% margin) runs out; the rest go on', () => {
  const d = desiredState(specs);
  const total = 1000 * MiB;
  // 20 MiB free (+ 10 MiB margin): big (30 MiB) does not fit, other (2 MiB) and small (1 MiB) do.
  const hub: ObservedSite = { ...emptySite('hub'), onlineWorkers: 1, storage: { total, used: total - 30 * MiB, free: 30 * MiB } };
  const p = plan(d, observed([{ ...emptySite('origin'), storage: null }, hub], sources), { now: NOW });
  const syncs = p.entries.filter((e) => e.site === 'hub' && e.kind === 'sync');
  assert.equal(syncs.map((e) => [e.mirror, e.action]), [['big', 'noop'], ['other', 'sync'], ['small', 'sync']]);
  const held = syncs[0]!;
  assert.ok(held.action === 'noop' && held.blocked === true);
  assert.match(held.reason, /^needs 30\.0 MiB, 30\.0 MiB free at hub \(1% of its disk is kept free\)$/);
  const adds = syncs.filter((e) => e.action === 'sync').reduce((n, e) => n + e.estimate!.bytes + e.estimate!.files * PER_FILE_OVERHEAD, 0);
  const planSite = p.sites.find((s) => s.name === 'hub')!;
  assert.is(planSite.adds, adds);
  assert.match(planSite.message, /1 sync held: not enough free space/);
  // No figure at the origin (object storage): said, not guessed; every sync goes.
  assert.match(p.sites.find((s) => s.name === 'origin')!.message, /no storage figure/);
  assert.is(p.entries.filter((e) => e.site === 'origin' && e.action === 'sync').length, 3);
  // The placement is Blocked, with the reason.
  const cell = mirrorStatuses({ desired: d, observed: observed([emptySite('origin'), hub], sources), remaining: p, results: [], lastSync: new Map(), dryRun: false })
    .find((m) => m.name === 'big')!.sites.find((s) => s.site === 'hub')!;
  assert.equal([cell.state, cell.message], ['Blocked', held.reason]);
});

test('a later sync is held when the earlier ones of the pass took the room; the message says so', () => {
  const d = desiredState(specs);
  const total = 100 * MiB;
  // 34 MiB free, 1 MiB margin: big (30 MiB) fits, then other (2 MiB) fits, small (1 MiB) does not.
  const hub: ObservedSite = { ...emptySite('hub'), storage: { total, used: total - 34 * MiB, free: 34 * MiB } };
  const p = plan(d, observed([emptySite('origin'), hub], sources), { now: NOW });
  const syncs = p.entries.filter((e) => e.site === 'hub' && e.kind === 'sync');
  assert.equal(syncs.map((e) => e.action), ['sync', 'sync', 'noop']);
  assert.match(syncs[2]!.reason, /free at hub after this pass's other syncs there/);
});

test.run();
