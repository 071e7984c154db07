/**
 * Pins as tables (serve-target.ts, plan-pin.ts): desired + observed + retained versions in, the
 * plan out. The feeder rule (a site skips a pinned site above it that serves another tree), a
 * pinned origin above a site that wants the latest, an ambiguous prefix, a mirror-wide `vN`
 * (the origin's version), overrides (what a rollout feeds), and pins outranking them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { desiredState } from '../../reconcilers/desired.js';
import { syncKey } from '../../reconcilers/names.js';
import { plan } from '../../reconcilers/plan.js';
import type { ObservedSite, ObservedState, PlanEntry, TreeSummary } from '../../reconcilers/plan-types.js';
import type { RetainedTrees } from '../../reconcilers/retained.js';
import { serveTargets, treeTarget } from '../../reconcilers/serve-target.js';
import type { MirrorSpec } from '../../spec/types.js';
import { convergedSite, mirror, site, tree } from './fixtures.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const SITES = [site('origin'), site('hub', { upstream: 'origin' }), site('leaf', { upstream: 'hub' })];
const OLD = tree([['a.txt', 'a1', 100]]);
const MID = tree([['a.txt', 'a2', 120]]);
const NEW = tree([['a.txt', 'a3', 140]]);
const PUB = (site: string, v: number) => `/pulp/api/v3/publications/file/file/${site}-${v}/`;

/** Retained versions newest first, v1 = the first tree given. */
function retained(site: string, ...trees: TreeSummary[]): RetainedTrees {
  const versions = trees.map((t, i) => ({ version: i + 1, digest: t.digest, files: t.files, bytes: t.bytes, publication: PUB(site, i + 1) })).reverse();
  return { versions, latest: trees.length };
}

function world(m: MirrorSpec, published: Record<string, TreeSummary>, kept: Record<string, RetainedTrees>, source: TreeSummary = NEW) {
  const specs = { sites: SITES, mirrors: [m] };
  const desired = desiredState(specs);
  const sites: ObservedSite[] = SITES.map((s) => convergedSite(desired, s.name, { [m.name]: published[s.name] ?? null }));
  const observed: ObservedState = {
    sites: new Map(sites.map((s) => [s.name, s])),
    sources: new Map([[m.name, source]]),
    retained: new Map(Object.entries(kept).map(([s, r]) => [syncKey(m.name, s), r])),
  };
  return { desired, observed, plan: plan(desired, observed, { now: NOW }) };
}

const at = (entries: PlanEntry[], site: string, kind: string) => entries.find((e) => e.site === site && e.kind === kind);

test('a leaf pinned to a tree it does not retain skips the hub pinned to another and pulls from the origin', () => {
  const m = mirror('tools', { pins: { hub: MID.digest.slice(0, 12), leaf: NEW.digest } });
  const { plan: p } = world(m, { origin: NEW, hub: NEW, leaf: OLD }, { hub: retained('hub', OLD, MID, NEW), leaf: retained('leaf', OLD) });
  // The hub serves MID from its v2 publication, with no sync.
  const hubDist = at(p.entries, 'hub', 'distribution');
  assert.is(hubDist?.action, 'update');
  assert.equal(hubDist?.changes?.map((c) => [c.field, c.to]), [['repository', null], ['publication', PUB('hub', 2)]]);
  assert.match(hubDist!.reason, /^serves [0-9a-f]{12}… \(v2\) instead of [0-9a-f]{12}… \(v3\) \(rollback; pinned by spec\.pins\.hub\)$/);
  assert.is(at(p.entries, 'hub', 'sync'), undefined);
  // The leaf pulls NEW from the origin: its remote moves there, its sync waits for the origin.
  const remote = at(p.entries, 'leaf', 'remote');
  assert.equal(remote?.changes?.map((c) => [c.field, c.to]), [['url', 'http://origin.test/pulp/content/tools/PULP_MANIFEST']]);
  const sync = at(p.entries, 'leaf', 'sync');
  assert.is(sync?.action, 'sync');
  if (sync?.action !== 'sync') return;
  assert.is(sync.op.feeder, 'origin');
  assert.is(sync.op.wantDigest, NEW.digest);
  assert.match(sync.reason, /^leaf does not retain [0-9a-f]{12}…: pulls it from origin \(pinned by spec\.pins\.leaf\)$/);
  assert.equal(p.pins?.get(syncKey('tools', 'hub')), { digest: MID.digest, version: 2, why: 'pinned by spec.pins.hub' });
  assert.is(p.errors, undefined);
});

test('a leaf wanting the latest skips a pinned hub; its remote points at the origin', () => {
  const { desired } = world(mirror('tools', { pins: { hub: 'v1' } }), { origin: NEW, hub: NEW, leaf: NEW }, { hub: retained('hub', OLD, NEW) });
  const leaf = desired.mirrors.get('tools')!.placements.find((x) => x.site === 'leaf')!;
  assert.is(leaf.feeder, 'origin');
  assert.is(leaf.remote.url, 'http://origin.test/pulp/content/tools/PULP_MANIFEST');
  // Its depth stays the chain's: planned after the hub.
  assert.is(leaf.depth, 2);
});

test('the origin pinned while the hub wants the latest: a plan error at the hub; the leaf waits behind it', () => {
  const { plan: p } = world(mirror('tools', { pins: { origin: 'v1' } }), { origin: NEW, hub: NEW, leaf: NEW }, { origin: retained('origin', OLD, NEW) });
  const message = 'hub wants the latest tree, but the origin origin is pinned by spec.pins.origin and nothing else up its chain serves the latest: pin hub too, or remove the origin\'s pin';
  assert.equal(p.errors, [{ site: 'hub', mirror: 'tools', message }]);
  const hub = at(p.entries, 'hub', 'sync');
  assert.is(hub?.action, 'noop');
  assert.is(hub?.action === 'noop' && hub.error, true);
  const leaf = at(p.entries, 'leaf', 'sync');
  assert.is(leaf?.action, 'noop');
  assert.is(leaf?.action === 'noop' && leaf.error, undefined);
  assert.ok(p.warnings.includes(`mirror tools at site hub: ${message}`));
});

test('an ambiguous prefix is a plan error naming both versions; nothing changes at that site', () => {
  const a = { ...OLD, digest: `abcdefabcdef1${OLD.digest.slice(13)}` };
  const b = { ...MID, digest: `abcdefabcdef2${MID.digest.slice(13)}` };
  const { plan: p } = world(mirror('tools', { pins: { leaf: 'abcdefabcdef' } }), { origin: NEW, hub: NEW, leaf: NEW }, { leaf: retained('leaf', a, b, NEW) });
  assert.equal(p.errors, [{ site: 'leaf', mirror: 'tools', message: 'abcdefabcdef… is ambiguous at leaf: it matches abcdefabcdef… (v2), abcdefabcdef… (v1); give more digits' }]);
  assert.equal(p.entries.filter((e) => e.site === 'leaf').map((e) => e.action), ['noop']);
});

test('a mirror-wide vN is the origin\'s version: every site serves that tree from its own version', () => {
  const { plan: p } = world(mirror('tools', { pin: 'v1' }), { origin: NEW, hub: NEW, leaf: NEW }, {
    origin: retained('origin', OLD, NEW), hub: retained('hub', MID, OLD, NEW), leaf: retained('leaf', OLD, NEW),
  });
  const pubs = p.entries.filter((e) => e.kind === 'distribution').map((e) => [e.site, e.changes?.find((c) => c.field === 'publication')?.to]);
  assert.equal(pubs, [['origin', PUB('origin', 1)], ['hub', PUB('hub', 2)], ['leaf', PUB('leaf', 1)]]);
  assert.is(p.entries.filter((e) => e.kind === 'sync').length, 0);
  assert.is(p.errors, undefined);
});

test('a pin to the latest version keeps the repository-backed distribution: nothing to do, and no sync even when the source moves', () => {
  const { plan: p } = world(mirror('tools', { pins: { leaf: 'v2' } }), { origin: NEW, hub: NEW, leaf: MID }, { leaf: retained('leaf', OLD, MID) });
  assert.equal(p.entries.filter((e) => e.site === 'leaf'), []);
  assert.equal(p.pins?.get(syncKey('tools', 'leaf')), { digest: MID.digest, version: 2, why: 'pinned by spec.pins.leaf' });
});

test('overrides: a hold keeps what a site serves and does not sync; a tree target by full digest; a spec pin outranks both', () => {
  const m = mirror('tools');
  const overrides = new Map([[syncKey('tools', 'leaf'), { kind: 'hold' as const, why: 'rollout stage 2 has not begun' }], [syncKey('tools', 'hub'), treeTarget(OLD.digest, 'rollout')]]);
  const specs = { sites: SITES, mirrors: [m] };
  const desired = desiredState(specs, { serve: overrides });
  const sites = SITES.map((s) => convergedSite(desired, s.name, { tools: s.name === 'origin' ? NEW : OLD }));
  const observed: ObservedState = { sites: new Map(sites.map((s) => [s.name, s])), sources: new Map([['tools', NEW]]), retained: new Map([[syncKey('tools', 'hub'), retained('hub', OLD)]]) };
  const p = plan(desired, observed, { now: NOW });
  assert.equal(p.entries.map((e) => `${e.site} ${e.action} ${e.kind}`), []);
  assert.equal(p.pins?.get(syncKey('tools', 'leaf')), { digest: OLD.digest, version: null, why: 'rollout stage 2 has not begun' });
  assert.equal(serveTargets(mirror('tools', { pins: { leaf: 'v3' } }), overrides).get('leaf'), { kind: 'tree', ref: { version: 3, at: 'leaf' }, why: 'pinned by spec.pins.leaf' });
});

test.run();
