/**
 * One pass's rollouts (reconcilers/rollout-pass.ts) over plain observed data: what each site
 * serves comes from observe, the probes of every mirror go to the runner once, the overrides come
 * out by syncKey; and the lines plan and the page show (rollout-view.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MirrorRollout } from '../../core/status.js';
import type { ObservedSite, ObservedState, TreeSummary } from '../../reconcilers/plan-types.js';
import type { ProbeRequest } from '../../reconcilers/rollout.js';
import { nextSoakEnd, passRollouts, withRollouts } from '../../reconcilers/rollout-pass.js';
import { rolloutLines, rolloutSummary } from '../../reconcilers/rollout-view.js';
import type { SpecSet } from '../../spec/types.js';
import { emptySite, mirror, site, tree } from './fixtures.js';

const OLD = tree([['a.txt', 'a1', 10]]);
const NEW = tree([['a.txt', 'a2', 12]]);
const T0 = new Date('2026-12-05T10:00:00.000Z');

/** origin → hub → leaf; the canary is the leaf (under the hub, which is in stage 2). */
const SPECS: SpecSet = {
  sites: [site('origin'), site('hub', { upstream: 'origin' }), site('leaf', { upstream: 'hub' })],
  mirrors: [
    mirror('tools', { basePath: 'tools/el9', rollout: { stages: [{ name: 'canary', sites: ['leaf'], soakMs: 300_000, verify: [{ path: 'repodata/repomd.xml' }], approval: false }, { name: 'rest', sites: ['*'], soakMs: 0, verify: [], approval: false }], rollbackOnFailure: true } }),
    mirror('plain'),
  ],
};

function serving(name: string, trees: Record<string, TreeSummary | null>, o: { reachable?: boolean } = {}): ObservedSite {
  const s = emptySite(name, o);
  return { ...s, published: new Map(Object.entries(trees).map(([m, t]) => [`pulpdist.${m}`, t])) };
}

function observed(origin: TreeSummary, hub: TreeSummary, leaf: TreeSummary, o: { leafReachable?: boolean } = {}): ObservedState {
  return {
    sites: new Map([
      ['origin', serving('origin', { tools: origin, plain: origin })],
      ['hub', serving('hub', { tools: hub, plain: hub })],
      ['leaf', serving('leaf', { tools: leaf, plain: leaf }, { reachable: o.leafReachable ?? true })],
    ]),
    sources: new Map(),
  };
}

test('a new tree at the origin: the hub (stage 2) holds, the canary leaf pulls it; a mirror without rollout gets nothing', async () => {
  const r = await passRollouts(SPECS, observed(NEW, OLD, OLD), { records: new Map(), now: T0, signal: new AbortController().signal });
  assert.equal([...r.overrides.keys()], ['tools@hub']);
  assert.equal(r.overrides.get('tools@hub')?.kind, 'hold');
  assert.equal([...r.rollouts.keys()], ['tools']);
  assert.equal([r.rollouts.get('tools')?.digest, r.rollouts.get('tools')?.previous], [NEW.digest, OLD.digest]);
});

test('the canary serves it: its probes go to the runner with the mirror\'s base path; a failure rolls the canary back', async () => {
  const rec = (await passRollouts(SPECS, observed(NEW, OLD, OLD), { records: new Map(), now: T0, signal: new AbortController().signal })).rollouts;
  const asked: { base: string; probes: readonly ProbeRequest[] }[] = [];
  const r = await passRollouts(SPECS, observed(NEW, OLD, NEW), {
    records: rec, now: new Date(T0.getTime() + 60_000), signal: new AbortController().signal,
    probe: async (m, probes) => {
      asked.push({ base: m.basePath, probes });
      return probes.map((p) => ({ ...p, ok: false, detail: 'answered 404' }));
    },
  });
  assert.equal(asked, [{ base: 'tools/el9', probes: [{ site: 'leaf', path: 'repodata/repomd.xml' }] }]);
  const s = r.rollouts.get('tools') as MirrorRollout;
  assert.is(s.state, 'Blocked');
  assert.equal(r.overrides.get('tools@leaf'), { kind: 'tree', digest: OLD.digest, why: `rollout of ${NEW.digest.slice(0, 12)}… halted at stage canary: rolled back` });
  assert.equal(r.overrides.get('tools@hub')?.kind, 'hold');
});

test('the soak counts from the completed sync of the canary when the pass ran it', async () => {
  const rec = (await passRollouts(SPECS, observed(NEW, OLD, OLD), { records: new Map(), now: T0, signal: new AbortController().signal })).rollouts;
  const finishedAt = new Date(T0.getTime() + 30_000).toISOString();
  const lastSync = new Map([['tools@leaf', { startedAt: T0.toISOString(), finishedAt, result: 'completed' as const, downloadedBytes: 12, downloadedFiles: 1, task: null }]]);
  const r = await passRollouts(SPECS, observed(NEW, OLD, NEW), {
    records: rec, lastSync, now: new Date(T0.getTime() + 90_000), signal: new AbortController().signal,
    probe: async (_m, probes) => probes.map((p) => ({ ...p, ok: true, detail: 'answered 200' })),
  });
  const s = r.rollouts.get('tools') as MirrorRollout;
  assert.equal([s.state, s.soakEndsAt], ['Soaking', new Date(T0.getTime() + 330_000).toISOString()]);
  const now = new Date(T0.getTime() + 90_000).toISOString();
  assert.is(rolloutSummary(s, now), 'stage 1/2 canary: soaking, soak ends 10:05');
  assert.equal(rolloutLines(s, [{ name: 'canary', sites: ['leaf'] }, { name: 'rest', sites: ['hub'] }], (x) => (x === 'hub' ? OLD.digest : NEW.digest), now), [
    `rollout of ${NEW.digest.slice(0, 12)}… (previous ${OLD.digest.slice(0, 12)}…): Soaking`,
    `stage 1/2 canary: leaf serves ${NEW.digest.slice(0, 12)}…; soak ends 10:05`,
    `stage 2/2 rest waits (soak ends 10:05): hub serves ${OLD.digest.slice(0, 12)}…`,
  ]);
});

test('an unreachable canary has not published the tree: the rollout waits for it', async () => {
  const rec = (await passRollouts(SPECS, observed(NEW, OLD, OLD), { records: new Map(), now: T0, signal: new AbortController().signal })).rollouts;
  const r = await passRollouts(SPECS, observed(NEW, OLD, NEW, { leafReachable: false }), { records: rec, now: T0, signal: new AbortController().signal });
  assert.match(r.rollouts.get('tools')?.reason ?? '', 'waiting for leaf to publish');
});

test('the tree rolled out is the source\'s, before the origin has synced it: the later stages are held in the same pass', async () => {
  const obs = { ...observed(OLD, OLD, OLD), sources: new Map([['tools', NEW], ['plain', NEW]]) };
  const r = await passRollouts(SPECS, obs, { records: new Map(), now: T0, signal: new AbortController().signal });
  assert.equal([r.rollouts.get('tools')?.digest, r.rollouts.get('tools')?.previous], [NEW.digest, OLD.digest]);
  assert.equal([...r.overrides.keys()], ['tools@hub']);
});

test('a suspended mirror\'s rollout is kept where it stands; a mirror whose rollout left the spec loses it', async () => {
  const rec = (await passRollouts(SPECS, observed(NEW, OLD, OLD), { records: new Map(), now: T0, signal: new AbortController().signal })).rollouts;
  const tools = SPECS.mirrors[0];
  assert.ok(tools);
  const suspended: SpecSet = { ...SPECS, mirrors: [{ ...tools, suspend: true }] };
  const r = await passRollouts(suspended, observed(NEW, OLD, NEW), { records: rec, now: T0, signal: new AbortController().signal });
  assert.equal([r.rollouts.get('tools'), r.overrides.size], [rec.get('tools'), 0]);
  const { rollout: _gone, ...plain } = tools;
  const without = await passRollouts({ ...SPECS, mirrors: [plain] }, observed(NEW, OLD, NEW), { records: rec, now: T0, signal: new AbortController().signal });
  assert.equal(without.rollouts.size, 0);
});

test('statuses: the halted stage\'s sites are Blocked with the reason; nextSoakEnd is the earliest soak end', async () => {
  const rec = (await passRollouts(SPECS, observed(NEW, OLD, OLD), { records: new Map(), now: T0, signal: new AbortController().signal })).rollouts;
  const halted = (await passRollouts(SPECS, observed(NEW, OLD, NEW), {
    records: rec, now: T0, signal: new AbortController().signal, probe: async (_m, probes) => probes.map((p) => ({ ...p, ok: false, detail: 'answered 500' })),
  })).rollouts;
  const cell = (site: string) => ({ site, state: 'Synced' as const, version: 1, treeDigest: null, files: null, bytes: null, lastSync: null, message: '' });
  const [tools, plain] = withRollouts(SPECS, [{ name: 'tools', origin: 'origin', treeDigest: null, sites: [cell('origin'), cell('hub'), cell('leaf')] }, { name: 'plain', origin: 'origin', treeDigest: null, sites: [cell('origin')] }], halted);
  assert.equal(tools?.sites.map((c) => c.state), ['Synced', 'Synced', 'Blocked']);
  assert.match(tools?.sites[2]?.message ?? '', 'probe repodata/repomd.xml at leaf: answered 500');
  assert.equal([tools?.rollout?.state, plain?.rollout], ['Blocked', undefined]);
  const soaking = { ...(halted.get('tools') as MirrorRollout), state: 'Soaking' as const, soakEndsAt: '2026-12-05T10:07:00.000Z' };
  assert.equal(nextSoakEnd(new Map([['a', soaking], ['b', { ...soaking, soakEndsAt: '2026-12-05T10:06:00.000Z' }], ['c', halted.get('tools') as MirrorRollout]])), new Date('2026-12-05T10:06:00.000Z'));
  assert.is(nextSoakEnd(halted), null);
});

test.run();
