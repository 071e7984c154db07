/** Status of every mirror × site after a pass, from plain data. */
import { test } from 'uvu';
import { formatBytes } from '../../core/units.js';
import * as assert from 'uvu/assert';
import { desiredState } from '../../reconcilers/desired.js';
import { plan } from '../../reconcilers/plan.js';
import type { ObservedState } from '../../reconcilers/plan-types.js';
import { mirrorStatuses, siteStatuses } from '../../reconcilers/status.js';
import { nextDue } from '../../reconcilers/sync.js';
import type { EntryResult } from '../../reconcilers/pass-types.js';
import { convergedSite, emptySite, mirror, site, tree } from './fixtures.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const SITES = [site('origin'), site('hub', { upstream: 'origin' }), site('leaf', { upstream: 'hub' })];
const V1 = tree([['a', 'a1', 100], ['b', 'b1', 50]]);
const V2 = tree([['a', 'a2', 100]]);

test('states: Synced, OutOfSync, Failed, Pending (skipped, unreachable), Suspended — with version, digest and counts', () => {
  const d = desiredState({ sites: SITES, mirrors: [mirror('fedora'), mirror('frozen', { suspend: true }), mirror('tools', { sites: ['origin', 'leaf'] })] });
  const origin = convergedSite(d, 'origin', { fedora: V2, frozen: V1, tools: V2 });
  const hub = convergedSite(d, 'hub', { fedora: V1, frozen: V1 });
  const leaf = emptySite('leaf', { reachable: false });
  const observed: ObservedState = { sites: new Map([['origin', origin], ['hub', hub], ['leaf', leaf]]), sources: new Map([['fedora', V2], ['tools', V2]]) };
  const remaining = plan(d, observed, { now: NOW });
  const failedSync = remaining.entries.find((e) => e.site === 'hub' && e.mirror === 'fedora')!;
  const results: EntryResult[] = [{ entry: failedSync, result: 'failed', message: 'task failed: 404 on PULP_MANIFEST', durationMs: 5 }];
  const last = new Map([['fedora@origin', { startedAt: 'a', finishedAt: 'b', result: 'completed' as const, downloadedBytes: 100, downloadedFiles: 1, task: '/t/' }]]);
  const st = mirrorStatuses({ desired: d, observed, remaining, results, lastSync: last, dryRun: false });
  const row = (m: string) => Object.fromEntries(st.find((x) => x.name === m)!.sites.map((s) => [s.site, [s.state, s.message]]));
  assert.equal(row('fedora'), {
    hub: ['Failed', 'sync failed: task failed: 404 on PULP_MANIFEST'],
    leaf: ['Pending', 'site leaf is unreachable: connect ECONNREFUSED'],
    origin: ['Synced', 'publishes the source tree'],
  });
  assert.equal(row('frozen').origin, ['Suspended', 'suspended: pulpdist leaves this mirror alone']);
  assert.equal(row('tools').origin, ['Synced', 'publishes the source tree']);
  const fo = st.find((x) => x.name === 'fedora')!;
  assert.is(fo.treeDigest, V2.digest);
  assert.is(fo.origin, 'origin');
  const o = fo.sites.find((s) => s.site === 'origin')!;
  assert.equal([o.version, o.treeDigest, o.files, o.bytes, o.lastSync?.downloadedBytes], [1, V2.digest, 1, 100, 100]);

  // Without the failure, the hub's pending sync shows as OutOfSync with the plan's reason.
  const st2 = mirrorStatuses({ desired: d, observed, remaining, results: [], lastSync: new Map(), dryRun: true });
  assert.equal(st2.find((x) => x.name === 'fedora')!.sites.find((s) => s.site === 'hub')!.state, 'OutOfSync');
  assert.match(st2.find((x) => x.name === 'fedora')!.sites.find((s) => s.site === 'hub')!.message, /^sync: upstream origin publishes a newer tree$/);

  const sites = siteStatuses(d, observed, new Map([['leaf', '2026-11-24T00:00:00.000Z']]));
  assert.equal(sites.map((s) => [s.name, s.reachable, s.upstream, s.lastSeen]), [
    ['hub', true, 'origin', '2026-11-25T00:00:00.000Z'],
    ['leaf', false, 'hub', '2026-11-24T00:00:00.000Z'],
    ['origin', true, null, '2026-11-25T00:00:00.000Z'],
  ]);
  // The cause alone: `reachable: false` says unreachable and readers put the name first.
  assert.match(sites[1]!.message, /^connect ECONNREFUSED$/);
});

test('a site that refused the credentials: its placements are Failed with the cause, once named; a site down leaves them Pending', () => {
  const d = desiredState({ sites: SITES, mirrors: [mirror('fedora')] });
  const error = 'hub: GET http://hub.test/pulp/api/v3/status/ answered 401 (Pulp rejected the credentials); check the password of user "u" in environment variable HUB_PW (site "hub")';
  const hub = { ...emptySite('hub', { reachable: false }), error, refused: true };
  const observed: ObservedState = {
    sites: new Map([['origin', convergedSite(d, 'origin', { fedora: V1 })], ['hub', hub], ['leaf', { ...emptySite('leaf', { reachable: false }), error: 'leaf: GET http://leaf.test/ failed: connect ECONNREFUSED' }]]),
    sources: new Map([['fedora', V1]]),
  };
  const st = mirrorStatuses({ desired: d, observed, remaining: plan(d, observed, { now: NOW }), results: [], lastSync: new Map(), dryRun: false });
  const cells = Object.fromEntries(st[0]!.sites.map((c) => [c.site, [c.state, c.message]]));
  assert.equal(cells.hub, ['Failed', `site hub: ${error.slice('hub: '.length)}`]);
  assert.equal(cells.leaf, ['Pending', 'site leaf is unreachable: GET http://leaf.test/ failed: connect ECONNREFUSED']);
  assert.equal(cells.origin, ['Synced', 'publishes the source tree']);
  const sites = siteStatuses(d, observed, new Map());
  assert.is(sites.find((s) => s.name === 'hub')!.message, error.slice('hub: '.length));
});

test('an unreadable source: the origin is Failed with the cause and no CLI advice; the sites below keep what they serve', () => {
  const d = desiredState({ sites: SITES, mirrors: [mirror('fedora')] });
  const observed: ObservedState = {
    sites: new Map(['origin', 'hub', 'leaf'].map((n) => [n, convergedSite(d, n, { fedora: V1 })])),
    sources: new Map([['fedora', { error: '/srv/trees/fedora: no such directory' }]]),
  };
  const st = mirrorStatuses({ desired: d, observed, remaining: plan(d, observed, { now: NOW }), results: [], lastSync: new Map(), dryRun: false });
  const cells = Object.fromEntries(st[0]!.sites.map((c) => [c.site, [c.state, c.message]]));
  assert.equal(cells.origin, ['Failed', 'source unreadable: /srv/trees/fedora: no such directory']);
  assert.is(cells.hub![0], 'Synced');
  // A tree being written is not a failure: the origin waits.
  const waiting: ObservedState = { ...observed, sources: new Map([['fedora', { error: 'source tree changing: …', waiting: true as const }]]) };
  const st2 = mirrorStatuses({ desired: d, observed: waiting, remaining: plan(d, waiting, { now: NOW }), results: [], lastSync: new Map(), dryRun: false });
  assert.is(st2[0]!.sites.find((c) => c.site === 'origin')!.state, 'Pending');
});

test('held mass delete: every placement still served is Blocked with what would go, also when its mirror left the specs; approved → none', () => {
  const d0 = desiredState({ sites: SITES, mirrors: [mirror('fedora'), mirror('epel'), mirror('tools', { sites: ['origin', 'hub'] })] });
  const trees = { fedora: V1, epel: V2, tools: V2 };
  const observed: ObservedState = { sites: new Map(['origin', 'hub', 'leaf'].map((n) => [n, convergedSite(d0, n, trees)])), sources: new Map([['tools', V2]]) };
  // fedora and epel leave the specs; tools leaves hub: 7 of 8 placements would go.
  const d = desiredState({ sites: SITES, mirrors: [mirror('tools', { sites: ['origin'] })] });
  const remaining = plan(d, observed, { now: NOW });
  assert.ok(remaining.blockedDeletes);
  const st = mirrorStatuses({ desired: d, observed, remaining, results: [], lastSync: new Map(), dryRun: false });
  const rows = st.map((m) => [m.name, m.sites.map((c) => `${c.site}:${c.state}:${c.files}`)]);
  assert.equal(rows, [
    ['epel', ['hub:Blocked:1', 'leaf:Blocked:1', 'origin:Blocked:1']],
    ['fedora', ['hub:Blocked:2', 'leaf:Blocked:2', 'origin:Blocked:2']],
    ['tools', ['hub:Blocked:1', 'origin:Synced:1']],
  ]);
  const fo = st.find((m) => m.name === 'fedora')!;
  assert.is(fo.origin, 'origin');
  assert.is(fo.sites[0]!.message, `held by the mass-delete guard: mirror fedora is gone from the specs; deleting it would stop serving 2 files (${formatBytes(V1.bytes)}) here`);
  assert.match(st.find((m) => m.name === 'tools')!.sites[0]!.message, /^held by the mass-delete guard: mirror tools no longer lists site hub; /);
  const approved = plan(d, observed, { now: NOW, allowMassDelete: true });
  assert.equal(mirrorStatuses({ desired: d, observed, remaining: approved, results: [], lastSync: new Map(), dryRun: true }).map((m) => m.name), ['tools']);
});

test('nextDue: interval adds; cron gives the next tick in UTC', () => {
  const last = new Date('2026-11-25T05:30:00Z');
  assert.equal(nextDue({ intervalMs: 3600_000 }, last).toISOString(), '2026-11-25T06:30:00.000Z');
  assert.equal(nextDue({ cron: '0 */6 * * *' }, last).toISOString(), '2026-11-25T06:00:00.000Z');
  assert.equal(nextDue({ cron: '15 3 * * 1' }, last).toISOString(), '2026-11-30T03:15:00.000Z');
});

test.run();
