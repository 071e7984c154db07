/** The plan rules as tables: desired + observed in, the plan out. No server. */
import { test } from 'uvu';
import { formatBytes } from '../../core/units.js';
import * as assert from 'uvu/assert';
import { desiredState, feederOf } from '../../reconcilers/desired.js';
import { hasChanges, plan } from '../../reconcilers/plan.js';
import { syncKey } from '../../reconcilers/names.js';
import type { ObservedSite, ObservedState, Plan, PlanEntry, SourceTree, TreeSummary } from '../../reconcilers/plan-types.js';
import type { SpecSet } from '../../spec/types.js';
import { addObjects, convergedSite, emptySite, mirror, site, tree } from './fixtures.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const SITES = [site('origin'), site('hub', { upstream: 'origin' }), site('leaf', { upstream: 'hub' })];
const V1 = tree([['a.txt', 'a1', 100], ['dir/b.bin', 'b1', 2000]]);
// v2: b renamed (same bytes), c new, a changed
const V2 = tree([['a.txt', 'a2', 150], ['dir/b-renamed.bin', 'b1', 2000], ['c.txt', 'c1', 30]]);

/** Bytes of a tree's canonical PULP_MANIFEST: every sync fetches it, and estimates count it. */
function mf(t: TreeSummary): number {
  return t.entries!.reduce((n, e) => n + Buffer.byteLength(`${e.relativePath},${e.sha256},${e.size}\n`), 0);
}

function specs(mirrors = [mirror('fedora'), mirror('tools', { sites: ['origin', 'leaf'] })]): SpecSet {
  return { sites: SITES, mirrors };
}

function observed(sites: ObservedSite[], sources: Record<string, SourceTree>): ObservedState {
  return { sites: new Map(sites.map((s) => [s.name, s])), sources: new Map(Object.entries(sources)) };
}

/** The entry, checked to be there with this action, typed as one (so its `op` can be read). */
function as<A extends Exclude<PlanEntry['action'], 'noop'>>(e: PlanEntry | undefined, action: A): Extract<PlanEntry, { action: A }> {
  if (!e) throw new Error(`no ${action} entry`);
  assert.is(e.action, action);
  return e as Extract<PlanEntry, { action: A }>;
}

function lines(p: Plan): string[] {
  return p.entries.map((e) => `${e.site} ${e.action} ${e.kind} ${e.name}${e.syncReason ? ' ' + e.syncReason : ''}`);
}

test('feederOf: nearest carrying site up the chain, else the origin (a hub not carrying the mirror is skipped)', () => {
  const sites = new Map(SITES.map((s) => [s.name, s]));
  assert.is(feederOf(mirror('f'), 'origin', sites), null);
  assert.is(feederOf(mirror('f'), 'hub', sites), 'origin');
  assert.is(feederOf(mirror('f'), 'leaf', sites), 'hub');
  assert.is(feederOf(mirror('t', { sites: ['origin', 'leaf'] }), 'leaf', sites), 'origin');
  // origin elsewhere: a site with no upstream pulls from the mirror's origin
  assert.is(feederOf(mirror('x', { origin: 'hub', sites: ['hub', 'origin', 'leaf'] }), 'origin', sites), 'hub');
});

test('desired: names, labels, remote urls by topology, bandwidth per sync', () => {
  const d = desiredState({ sites: [site('origin'), site('hub', { upstream: 'origin', bandwidth: 1000, concurrentSyncs: 3 }), site('leaf', { upstream: 'hub' })], mirrors: [mirror('fedora'), mirror('tools', { sites: ['origin', 'leaf'], source: { kind: 'manifest', url: 'https://ex.test/t/PULP_MANIFEST' } })] });
  const f = d.mirrors.get('fedora')!;
  assert.equal(f.placements.map((p) => [p.site, p.depth, p.feeder]), [['origin', 0, null], ['hub', 1, 'origin'], ['leaf', 2, 'hub']]);
  assert.is(f.placements[0]!.remote.url, 'file:///srv/fedora/PULP_MANIFEST');
  assert.is(f.placements[1]!.remote.url, 'http://origin.test/pulp/content/fedora/PULP_MANIFEST');
  assert.is(f.placements[2]!.remote.url, 'http://hub.test/pulp/content/fedora/PULP_MANIFEST');
  assert.is(f.placements[1]!.remote.pulpdist_bandwidth_limit, 333);
  assert.is(f.placements[0]!.remote.pulpdist_bandwidth_limit, null);
  assert.equal(f.placements[0]!.repository, { name: 'pulpdist.fedora', pulp_labels: { managed_by: 'pulpdist', pulpdist_mirror: 'fedora' }, retain_repo_versions: 3, autopublish: true });
  const t = d.mirrors.get('tools')!;
  assert.equal(t.placements.map((p) => [p.site, p.depth, p.feeder]), [['origin', 0, null], ['leaf', 1, 'origin']]);
  assert.is(t.placements[0]!.remote.url, 'https://ex.test/t/PULP_MANIFEST');
  assert.is(t.placements[1]!.remote.url, 'http://origin.test/pulp/content/tools/PULP_MANIFEST');
});

test('empty sites: create everything, then never-synced syncs, in depth → kind → name order', () => {
  const d = desiredState(specs());
  const p = plan(d, observed([emptySite('origin'), emptySite('hub'), emptySite('leaf')], { fedora: V1, tools: V1 }), { now: NOW });
  assert.equal(lines(p), [
    'origin create repository pulpdist.fedora',
    'origin create repository pulpdist.tools',
    'origin create remote pulpdist.fedora',
    'origin create remote pulpdist.tools',
    'origin create distribution pulpdist.fedora',
    'origin create distribution pulpdist.tools',
    'origin sync sync pulpdist.fedora never-synced',
    'origin sync sync pulpdist.tools never-synced',
    'hub create repository pulpdist.fedora',
    'leaf create repository pulpdist.tools',
    'hub create remote pulpdist.fedora',
    'leaf create remote pulpdist.tools',
    'hub create distribution pulpdist.fedora',
    'leaf create distribution pulpdist.tools',
    'hub sync sync pulpdist.fedora never-synced',
    'leaf sync sync pulpdist.tools never-synced',
    'leaf create repository pulpdist.fedora',
    'leaf create remote pulpdist.fedora',
    'leaf create distribution pulpdist.fedora',
    'leaf sync sync pulpdist.fedora never-synced',
  ]);
  assert.equal(p.summary, { create: 15, update: 0, delete: 0, sync: 5, publish: 0, files: 10, bytes: 5 * (2100 + mf(V1)) });
  const leafSync = p.entries.find((e) => e.site === 'leaf' && e.name === 'pulpdist.fedora' && e.kind === 'sync')!;
  assert.equal(as(leafSync, 'sync').op.feeder, 'hub');
  assert.equal(leafSync.estimate, { files: 2, bytes: 2100 + mf(V1) });
  const remote = p.entries.find((e) => e.site === 'origin' && e.kind === 'remote' && e.mirror === 'fedora')!;
  assert.equal(as(remote, 'create').op.body, { name: 'pulpdist.fedora', url: 'file:///srv/fedora/PULP_MANIFEST', policy: 'immediate', download_concurrency: 10, pulp_labels: { managed_by: 'pulpdist', pulpdist_mirror: 'fedora' } });
  assert.ok(hasChanges(p));
});

test('converged: nothing to do', () => {
  const d = desiredState(specs());
  const trees = { fedora: V1, tools: V1 };
  const p = plan(d, observed(['origin', 'hub', 'leaf'].map((s) => convergedSite(d, s, trees)), trees), { now: NOW });
  assert.equal(p.entries, []);
  assert.equal(p.warnings, []);
  assert.not.ok(hasChanges(p));
  assert.is(p.blockedDeletes, null);
});

test('source changed: every site syncs; estimates count only blobs the target lacks (renames are free)', () => {
  const d = desiredState(specs([mirror('fedora')]));
  const obs = observed(['origin', 'hub', 'leaf'].map((s) => convergedSite(d, s, { fedora: V1 })), { fedora: V2 });
  const p = plan(d, obs, { now: NOW });
  assert.equal(lines(p), [
    'origin sync sync pulpdist.fedora source-changed',
    'hub sync sync pulpdist.fedora upstream-newer',
    'leaf sync sync pulpdist.fedora upstream-newer',
  ]);
  for (const e of p.entries) assert.equal(e.estimate, { files: 2, bytes: 180 + mf(V2) }, e.site);
  assert.is(p.entries[1]!.reason, 'upstream origin publishes a newer tree');
  assert.is(as(p.entries[0], 'sync').op.wantDigest, V2.digest);
  assert.equal(p.summary, { create: 0, update: 0, delete: 0, sync: 3, publish: 0, files: 6, bytes: 3 * (180 + mf(V2)) });
});

test('only the hub lags: hub and leaf sync from the tree the origin publishes', () => {
  const d = desiredState(specs([mirror('fedora')]));
  const obs = observed([convergedSite(d, 'origin', { fedora: V2 }), convergedSite(d, 'hub', { fedora: V1 }), convergedSite(d, 'leaf', { fedora: V1 })], { fedora: V2 });
  assert.equal(lines(plan(d, obs, { now: NOW })), ['hub sync sync pulpdist.fedora upstream-newer', 'leaf sync sync pulpdist.fedora upstream-newer']);
});

test('hand edits: a changed remote url and an extra label are updated, field by field', () => {
  const d = desiredState(specs([mirror('fedora')]));
  const hub = convergedSite(d, 'hub', { fedora: V1 });
  const r = hub.remotes.get('pulpdist.fedora')!;
  r.url = 'http://elsewhere.test/PULP_MANIFEST';
  r.download_concurrency = null;
  hub.repositories.get('pulpdist.fedora')!.pulp_labels = { managed_by: 'pulpdist', pulpdist_mirror: 'fedora', extra: 'x' };
  const obs = observed([convergedSite(d, 'origin', { fedora: V1 }), hub, convergedSite(d, 'leaf', { fedora: V1 })], { fedora: V1 });
  const p = plan(d, obs, { now: NOW });
  assert.equal(lines(p), ['hub update repository pulpdist.fedora', 'hub update remote pulpdist.fedora']);
  assert.equal(p.entries[1]!.changes, [
    { field: 'url', from: 'http://elsewhere.test/PULP_MANIFEST', to: 'http://origin.test/pulp/content/fedora/PULP_MANIFEST' },
    { field: 'download_concurrency', from: null, to: 10 },
  ]);
  assert.equal(as(p.entries[1], 'update').op.body, { url: 'http://origin.test/pulp/content/fedora/PULP_MANIFEST', download_concurrency: 10 });
  assert.equal(as(p.entries[0], 'update').op.body, { pulp_labels: { managed_by: 'pulpdist', pulpdist_mirror: 'fedora' } });
});

test('a remote deleted by hand is created again; a missing distribution is created pointing at the repository', () => {
  const d = desiredState(specs([mirror('fedora')]));
  const leaf = convergedSite(d, 'leaf', { fedora: V1 });
  (leaf.remotes as Map<string, unknown>).delete('pulpdist.fedora');
  const repoHref = leaf.repositories.get('pulpdist.fedora')!.pulp_href;
  (leaf.distributions as Map<string, unknown>).delete('pulpdist.fedora');
  (leaf.published as Map<string, unknown>).delete('pulpdist.fedora');
  const obs = observed([convergedSite(d, 'origin', { fedora: V1 }), convergedSite(d, 'hub', { fedora: V1 }), leaf], { fedora: V1 });
  const p = plan(d, obs, { now: NOW });
  assert.equal(lines(p), ['leaf create remote pulpdist.fedora', 'leaf create distribution pulpdist.fedora', 'leaf sync sync pulpdist.fedora upstream-newer']);
  const dist = as(p.entries[1], 'create');
  assert.equal(dist.kind === 'distribution' ? dist.op.body.repository : dist.kind, repoHref);
  assert.is(p.entries[2]!.reason, 'upstream hub publishes a newer tree (what a new distribution will serve is unknown)');
});

test('bandwidth: set on embedded sites; against real Pulp left out with a warning', () => {
  const s = [site('origin', { bandwidth: 1000 }), site('hub', { upstream: 'origin', bandwidth: 2000, concurrentSyncs: 4 }), site('leaf', { upstream: 'hub' })];
  const d = desiredState({ sites: s, mirrors: [mirror('fedora')] });
  const p = plan(d, observed([emptySite('origin', { embedded: false }), emptySite('hub'), emptySite('leaf')], { fedora: V1 }), { now: NOW });
  const body = (site: string): Record<string, unknown> => ({ ...as(p.entries.find((e) => e.site === site && e.kind === 'remote'), 'create').op.body });
  assert.not.ok('pulpdist_bandwidth_limit' in body('origin'));
  assert.is(body('hub').pulpdist_bandwidth_limit, 500);
  assert.not.ok('pulpdist_bandwidth_limit' in body('leaf')); // no bandwidth: the site's default (no cap)
  assert.is(p.warnings.length, 1);
  assert.match(p.warnings[0]!, /site origin runs Pulp 3\.24\.1.*limits\.bandwidth .* is not enforced there; only concurrentSyncs \(2\)/);
  // converged real Pulp with no bandwidth field: no update
  const d2 = desiredState({ sites: s, mirrors: [mirror('fedora')] });
  const obs2 = observed([convergedSite(d2, 'origin', { fedora: V1 }, { embedded: false }), convergedSite(d2, 'hub', { fedora: V1 }), convergedSite(d2, 'leaf', { fedora: V1 })], { fedora: V1 });
  assert.equal(lines(plan(d2, obs2, { now: NOW })), []);
  // a changed cap on an embedded site is an update
  (obs2.sites.get('hub')!.remotes.get('pulpdist.fedora')!).pulpdist_bandwidth_limit = 100;
  const p2 = plan(d2, obs2, { now: NOW });
  assert.equal(p2.entries.map((e) => e.changes), [[{ field: 'pulpdist_bandwidth_limit', from: 100, to: 500 }]]);
});

test('shaper: a site naming one downloads through it (proxy_url) and gets no bandwidth warning; a changed shaper is an update', () => {
  const s = [site('origin', { bandwidth: 1000, shaper: 'http://127.0.0.1:3128' }), site('hub', { upstream: 'origin', bandwidth: 1000 }), site('leaf', { upstream: 'hub' })];
  const d = desiredState({ sites: s, mirrors: [mirror('fedora')] });
  const p = plan(d, observed([emptySite('origin', { embedded: false }), emptySite('hub', { embedded: false }), emptySite('leaf')], { fedora: V1 }), { now: NOW });
  const body = (site: string): Record<string, unknown> => ({ ...as(p.entries.find((e) => e.site === site && e.kind === 'remote'), 'create').op.body });
  assert.is(body('origin').proxy_url, 'http://127.0.0.1:3128');
  assert.not.ok('proxy_url' in body('hub')); // no shaper: Pulp's default, a direct download
  assert.equal(p.warnings.map((w) => w.replace(/ runs .*/, '')), ['site hub']);
  const obs2 = observed(['origin', 'hub', 'leaf'].map((n) => convergedSite(d, n, { fedora: V1 }, { embedded: n === 'leaf' })), { fedora: V1 });
  assert.equal(lines(plan(d, obs2, { now: NOW })), []);
  (obs2.sites.get('origin')!.remotes.get('pulpdist.fedora')!).proxy_url = null;
  assert.equal(plan(d, obs2, { now: NOW }).entries.map((e) => e.changes), [[{ field: 'proxy_url', from: null, to: 'http://127.0.0.1:3128' }]]);
});

test('prune: a mirror gone from the specs is deleted everywhere with what stops being published; unlabelled look-alikes stay', () => {
  const d = desiredState(specs([mirror('fedora'), mirror('tools', { sites: ['origin', 'leaf'] }), mirror('epel')]));
  const trees = { fedora: V1, tools: V1, epel: V1 };
  const all = ['origin', 'hub', 'leaf'].map((s) => convergedSite(d, s, trees));
  for (const s of all) {
    addObjects(s, 'pulpdist.gone', { managed_by: 'pulpdist', pulpdist_mirror: 'gone' }, V2);
    addObjects(s, 'pulpdist.lookalike', { pulpdist_mirror: 'lookalike' }, V2); // no managed_by
  }
  const p = plan(d, observed(all, trees), { now: NOW });
  assert.equal(lines(p), [
    'origin delete repository pulpdist.gone', 'origin delete remote pulpdist.gone', 'origin delete distribution pulpdist.gone',
    'hub delete repository pulpdist.gone', 'hub delete remote pulpdist.gone', 'hub delete distribution pulpdist.gone',
    'leaf delete repository pulpdist.gone', 'leaf delete remote pulpdist.gone', 'leaf delete distribution pulpdist.gone',
  ]);
  assert.equal(p.entries[2]!.stops, { files: 3, bytes: 2180 });
  assert.equal(p.entries[1]!.stops, { files: 0, bytes: 0 });
  assert.is(p.entries[0]!.reason, 'mirror gone is gone from the specs');
  assert.is(p.blockedDeletes, null);
  assert.equal(p.summary.delete, 9);
});

test('prune: a site dropped from a mirror is deleted there only', () => {
  const d0 = desiredState(specs([mirror('fedora'), mirror('epel'), mirror('tools')]));
  const trees = { fedora: V1, epel: V1, tools: V1 };
  const obs = observed(['origin', 'hub', 'leaf'].map((s) => convergedSite(d0, s, trees)), trees);
  const d = desiredState(specs([mirror('fedora', { sites: ['origin', 'leaf'] }), mirror('epel'), mirror('tools')]));
  const p = plan(d, obs, { now: NOW });
  assert.equal(lines(p), [
    'hub delete repository pulpdist.fedora', 'hub delete remote pulpdist.fedora', 'leaf update remote pulpdist.fedora',
    'hub delete distribution pulpdist.fedora',
  ]);
  assert.is(p.entries[0]!.reason, 'mirror fedora no longer lists site hub');
  assert.equal(p.entries[2]!.changes?.[0], { field: 'url', from: 'http://hub.test/pulp/content/fedora/PULP_MANIFEST', to: 'http://origin.test/pulp/content/fedora/PULP_MANIFEST' });
});

test('mass-delete guard: more than half of the managed placements → held unless approved, one sentence with files and bytes', () => {
  const d0 = desiredState(specs([mirror('a'), mirror('b'), mirror('c')]));
  const trees = { a: V1, b: V1, c: V1 };
  const obs = observed(['origin', 'hub', 'leaf'].map((s) => convergedSite(d0, s, trees)), trees);
  const d = desiredState(specs([mirror('a')]));
  const p = plan(d, obs, { now: NOW });
  assert.is(p.summary.delete, 18);
  const files = V1.files * 6;
  assert.is(
    p.blockedDeletes,
    `mass delete: 6 of 9 managed mirror placements would be deleted (2 mirrors: b, c), more than half; ${files} files (${formatBytes(V1.bytes * 6)}) would stop being served; ` +
      'held until approved: the trailer "Pulpdist-Allow-Mass-Delete: yes" on the spec commit, or apply --allow-mass-delete',
  );
  // One sentence for all 18 deletes, once.
  assert.equal(p.warnings.filter((w) => w.startsWith('mass delete')), [p.blockedDeletes]);
  const approved = plan(d, obs, { now: NOW, allowMassDelete: true, massDeleteApprovedBy: 'the trailer Pulpdist-Allow-Mass-Delete of commit abc' });
  assert.is(approved.blockedDeletes, null);
  assert.match(approved.warnings.join('\n'), /^mass delete: 6 of 9 .*; approved by the trailer Pulpdist-Allow-Mass-Delete of commit abc$/m);
  assert.match(plan(d, obs, { now: NOW, allowMassDelete: true }).warnings.join('\n'), /; approved by --allow-mass-delete$/m);
  // exactly half is allowed
  const d4 = desiredState(specs([mirror('a'), mirror('b'), mirror('c'), mirror('e')]));
  const obs4 = observed(['origin', 'hub', 'leaf'].map((s) => convergedSite(d4, s, { a: V1, b: V1, c: V1, e: V1 })), { a: V1, b: V1, c: V1, e: V1 });
  assert.is(plan(desiredState(specs([mirror('a'), mirror('b')])), obs4, { now: NOW }).blockedDeletes, null);
});

test('suspended: no entry anywhere, objects never pruned, even with hand edits and a changed source', () => {
  const d0 = desiredState(specs([mirror('fedora'), mirror('epel')]));
  const trees = { fedora: V1, epel: V1 };
  const all = ['origin', 'hub', 'leaf'].map((s) => convergedSite(d0, s, trees));
  all[1]!.remotes.get('pulpdist.fedora')!.url = 'http://hand.test/PULP_MANIFEST';
  const d = desiredState(specs([mirror('fedora', { suspend: true, sites: ['origin'] }), mirror('epel')]));
  const p = plan(d, observed(all, { fedora: V2, epel: V1 }), { now: NOW });
  assert.equal(lines(p), []);
});

test('unreachable hub: nothing planned or pruned there; the leaf waits for it; tools (not via hub) proceeds', () => {
  const d = desiredState(specs());
  const origin = convergedSite(d, 'origin', { fedora: V1, tools: V1 });
  const hub = emptySite('hub', { reachable: false });
  const leaf = convergedSite(d, 'leaf', { fedora: V1, tools: V1 });
  addObjects(leaf, 'pulpdist.gone', { managed_by: 'pulpdist', pulpdist_mirror: 'gone' });
  const p = plan(d, observed([origin, hub, leaf], { fedora: V2, tools: V2 }), { now: NOW });
  assert.equal(lines(p), [
    'origin sync sync pulpdist.fedora source-changed',
    'origin sync sync pulpdist.tools source-changed',
    'leaf sync sync pulpdist.tools upstream-newer',
    'leaf delete repository pulpdist.gone', 'leaf delete remote pulpdist.gone', 'leaf delete distribution pulpdist.gone',
    'leaf noop sync pulpdist.fedora',
  ]);
  assert.is(p.entries[6]!.reason, 'waiting: upstream hub is unreachable');
  assert.equal(p.sites.find((s) => s.name === 'hub'), { name: 'hub', reachable: false, embedded: false, pulpVersion: null, message: 'unreachable: connect ECONNREFUSED; nothing is planned or pruned there' });
  assert.not.ok(p.entries.some((e) => e.site === 'hub'));
});

test('schedule: interval and cron due from the last sync time the caller holds; unknown = not due', () => {
  const d = desiredState(specs([mirror('fedora', { schedule: { intervalMs: 6 * 3600_000 } }), mirror('tools', { schedule: { cron: '0 */6 * * *' }, sites: ['origin'] })]));
  const trees = { fedora: V1, tools: V1 };
  const obs = observed(['origin', 'hub', 'leaf'].map((s) => convergedSite(d, s, trees)), trees);
  assert.equal(lines(plan(d, obs, { now: NOW })), []);
  const last = new Map([
    [syncKey('fedora', 'origin'), new Date('2026-11-25T05:59:59Z')], // 6h ago + 1s: due
    [syncKey('fedora', 'hub'), new Date('2026-11-25T06:00:01Z')], // not yet
    [syncKey('tools', 'origin'), new Date('2026-11-25T06:00:00Z')], // cron tick at 12:00 ≤ now: due
  ]);
  const p = plan(d, obs, { now: NOW, lastSyncAt: last });
  assert.equal(lines(p), ['origin sync sync pulpdist.fedora schedule-due', 'origin sync sync pulpdist.tools schedule-due']);
  // Nothing new to fetch but the manifest.
  assert.equal(p.entries[0]!.estimate, { files: 0, bytes: mf(trees.fedora!) });
  last.set(syncKey('tools', 'origin'), new Date('2026-11-25T12:00:00Z')); // next tick 18:00
  last.set(syncKey('fedora', 'origin'), new Date('2026-11-25T06:00:01Z'));
  assert.equal(lines(plan(d, obs, { now: NOW, lastSyncAt: last })), []);
});

test('publish: versions exist but the distribution serves nothing', () => {
  const d = desiredState(specs([mirror('fedora', { sites: ['origin'] })]));
  const origin = convergedSite(d, 'origin', { fedora: V1 });
  (origin.published as Map<string, TreeSummary | null>).set('pulpdist.fedora', null);
  const p = plan(d, observed([origin, emptySite('hub'), emptySite('leaf')], { fedora: V1 }), { now: NOW });
  assert.equal(lines(p), ['origin publish publication pulpdist.fedora']);
  assert.is(as(p.entries[0], 'publish').op.repository, origin.repositories.get('pulpdist.fedora')!.pulp_href);
  assert.equal(p.summary.publish, 1);
});

test('publish: the latest publication deleted by hand, the distribution falls back to an older one with the same tree', () => {
  // Sources A → B → A: v3 and v1 hold the same tree, so the digest alone would call this converged.
  const d = desiredState(specs([mirror('fedora')]));
  const obs = observed(['origin', 'hub', 'leaf'].map((n) => convergedSite(d, n, { fedora: V1 })), { fedora: V1 });
  const origin = obs.sites.get('origin')!;
  const repo = origin.repositories.get('pulpdist.fedora')!;
  const withUnpublished: ObservedSite = { ...origin, unpublished: new Map([['pulpdist.fedora', { latest: `${repo.pulp_href}versions/3/`, served: `${repo.pulp_href}versions/1/` }]]) };
  const p = plan(d, { ...obs, sites: new Map([...obs.sites, ['origin', withUnpublished]]) }, { now: NOW });
  // The hub pulls what the origin serves, so it waits for the publish; the leaf matches the hub.
  assert.equal(lines(p), ['origin publish publication pulpdist.fedora', 'hub noop sync pulpdist.fedora']);
  assert.is(p.entries[0]!.reason, 'the latest version (v3) has no publication; the distribution falls back to v1');
  assert.is(p.entries[1]!.reason, 'waiting: upstream origin is publishing its latest version');
  // Without the finding, the same observation plans nothing.
  assert.equal(lines(plan(d, obs, { now: NOW })), []);
});

test('unreadable source: origin noop with the reason; downstream follows what the origin publishes', () => {
  const d = desiredState(specs([mirror('fedora')]));
  const obs = observed([convergedSite(d, 'origin', { fedora: V2 }), convergedSite(d, 'hub', { fedora: V1 }), convergedSite(d, 'leaf', { fedora: V1 })], { fedora: { error: 'no such directory /srv/fedora' } });
  const p = plan(d, obs, { now: NOW });
  assert.equal(lines(p), ['origin noop sync pulpdist.fedora', 'hub sync sync pulpdist.fedora upstream-newer', 'leaf sync sync pulpdist.fedora upstream-newer']);
  assert.is(p.entries[0]!.reason, 'source unreadable: no such directory /srv/fedora');
  assert.is(as(p.entries[1], 'sync').op.wantDigest, V2.digest);
  assert.not.ok(hasChanges({ ...p, summary: { ...p.summary, sync: 0 } }));
});

test('--site keeps only those sites, but their syncs still follow the whole topology', () => {
  const d = desiredState(specs([mirror('fedora')]));
  const p = plan(d, observed([emptySite('origin'), emptySite('hub'), emptySite('leaf')], { fedora: V1 }), { now: NOW, sites: ['leaf'] });
  assert.equal(lines(p), ['leaf create repository pulpdist.fedora', 'leaf create remote pulpdist.fedora', 'leaf create distribution pulpdist.fedora', 'leaf sync sync pulpdist.fedora never-synced']);
  assert.equal(p.sites.map((s) => s.name), ['leaf']);
});

test('deterministic: the same input in another map order gives the same plan', () => {
  const d = desiredState(specs([mirror('b'), mirror('a'), mirror('c', { sites: ['origin', 'leaf'] })]));
  const sites = [emptySite('leaf'), emptySite('origin'), emptySite('hub')];
  const p1 = plan(d, observed(sites, { a: V1, b: V2, c: V1 }), { now: NOW });
  const d2 = desiredState({ sites: [...SITES].reverse(), mirrors: [mirror('c', { sites: ['leaf', 'origin'] }), mirror('a'), mirror('b')] });
  const p2 = plan(d2, observed([...sites].reverse(), { c: V1, b: V2, a: V1 }), { now: NOW });
  assert.equal(JSON.stringify(p1), JSON.stringify(p2));
});

test.run();
