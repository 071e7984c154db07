/** Status of every mirror × site after a pass, from plain data. */
import { test } from 'uvu';
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
  assert.match(sites[1]!.message, /^unreachable: connect ECONNREFUSED$/);
});

test('nextDue: interval adds; cron gives the next tick in UTC', () => {
  const last = new Date('2026-11-25T05:30:00Z');
  assert.equal(nextDue({ intervalMs: 3600_000 }, last).toISOString(), '2026-11-25T06:30:00.000Z');
  assert.equal(nextDue({ cron: '0 */6 * * *' }, last).toISOString(), '2026-11-25T06:00:00.000Z');
  assert.equal(nextDue({ cron: '15 3 * * 1' }, last).toISOString(), '2026-11-30T03:15:00.000Z');
});

test.run();
