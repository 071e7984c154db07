/**
 * The rollout engine (reconcilers/rollout.ts), pure: every rule with plain data in and the
 * overrides, status and wanted probes out. Three trees: A (the sites' old one), B (new), C (newer).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MirrorRollout } from '../../core/status.js';
import { evaluateRollout, type ProbeResult, type RolloutInput, type RolloutOutput } from '../../reconcilers/rollout.js';
import { rolloutRecordOf } from '../../reconcilers/rollout-record.js';
import type { RolloutSpec, RolloutStageSpec } from '../../spec/types.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const T0 = '2026-12-05T10:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
const PROBE = { path: 'repodata/repomd.xml' };

function stage(name: string, sites: string[], extra: Partial<RolloutStageSpec> = {}): RolloutStageSpec {
  return { name, sites, soakMs: 0, verify: [], approval: false, ...extra };
}

/** canary = leaf, soak 10 minutes, one probe; then the rest (hub, edge). */
const SPEC: RolloutSpec = { stages: [stage('canary', ['leaf'], { soakMs: 600_000, verify: [PROBE] }), stage('rest', ['*'])], rollbackOnFailure: false };

function input(serves: Record<string, string | null>, opts: { record?: MirrorRollout | null; now?: string; spec?: RolloutSpec; probes?: ProbeResult[]; latest?: string | null; publishedAt?: Record<string, string> } = {}): RolloutInput {
  const sites = new Map(Object.entries(serves).map(([s, d]) => [s, { serves: d, publishedAt: opts.publishedAt?.[s] ?? null }]));
  return {
    mirror: { name: 'm', origin: 'o', sites: ['o', 'hub', 'leaf', 'edge'], rollout: opts.spec ?? SPEC },
    labelsOf: () => undefined,
    latest: opts.latest === undefined ? serves.o ?? null : opts.latest,
    sites,
    record: opts.record ?? null,
    now: opts.now ?? T0,
    ...(opts.probes ? { probes: opts.probes } : {}),
  };
}

const ok = (site: string): ProbeResult => ({ site, ...PROBE, ok: true, detail: 'answered 200' });
const bad = (site: string): ProbeResult => ({ site, ...PROBE, ok: false, detail: 'answered 404' });

/** Overrides as `site:kind[:digest]`, sorted. */
function overrides(out: RolloutOutput): string[] {
  return [...out.overrides].map(([s, o]) => `${s}:${o.kind}${o.kind === 'tree' ? `:${o.digest[0]}` : ''}`).sort();
}

function status(out: RolloutOutput): MirrorRollout {
  assert.ok(out.status, 'a status');
  return out.status as MirrorRollout;
}

/** Runs the two evaluations of a pass: the one that asks for probes, then the one with their results. */
function pass(inp: RolloutInput, answer: (site: string) => ProbeResult): RolloutOutput {
  const first = evaluateRollout(inp);
  if (!first.probes.length) return first;
  return evaluateRollout({ ...inp, probes: first.probes.map((p) => answer(p.site)) });
}

test('a new tree at the origin: stage 1 begins, later stages hold, the origin is in no stage', () => {
  const out = evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A }));
  const s = status(out);
  assert.equal([s.digest, s.previous, s.stage, s.stages, s.stageName, s.state], [B, A, 0, 2, 'canary', 'Progressing']);
  assert.equal(overrides(out), ['edge:hold', 'hub:hold']);
  assert.equal(s.before, { leaf: A, hub: A, edge: A });
  assert.match(s.reason, 'waiting for leaf to publish bbbbbbbbbbbb…');
  assert.equal(out.probes, []);
});

test('a stage whose sites serve the tree asks for its probes, once per site and path', () => {
  const rec = status(evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A })));
  const out = evaluateRollout(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(1) }));
  assert.equal(out.probes, [{ site: 'leaf', path: 'repodata/repomd.xml' }]);
  assert.is(status(out).state, 'Progressing');
});

test('probes pass: the stage soaks from the last of its sites publishing, then the next stage begins', () => {
  let rec = status(evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A })));
  // leaf published at minute 2 (its history says so), seen at minute 3.
  let out = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(3), publishedAt: { leaf: at(2) } }), ok);
  rec = status(out);
  assert.equal([rec.state, rec.soakEndsAt, rec.stage], ['Soaking', at(12), 0]);
  assert.equal(overrides(out), ['edge:hold', 'hub:hold']);
  out = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(11) }), ok);
  assert.equal([status(out).state, status(out).stage], ['Soaking', 0]);
  out = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: status(out), now: at(12) }), ok);
  rec = status(out);
  assert.equal([rec.state, rec.stage, rec.stageName, rec.stageSince], ['Progressing', 1, 'rest', at(12)]);
  assert.equal(overrides(out), []);
  assert.match(rec.reason, 'waiting for hub, edge');
  out = pass(input({ o: B, hub: B, leaf: B, edge: B }, { record: rec, now: at(20) }), ok);
  rec = status(out);
  assert.equal([rec.state, rec.stage, rec.stageName, rec.reason], ['Done', 2, null, '']);
  assert.equal(overrides(out), []);
});

test('without publishedAt the soak counts from when the pass first saw the site serve the tree', () => {
  const rec = status(evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A })));
  const out = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(5) }), ok);
  assert.equal([status(out).published, status(out).soakEndsAt], [{ leaf: at(5) }, at(15)]);
});

test('a site that stops serving the tree during its soak publishes it again before the soak counts', () => {
  let rec = status(pass(input({ o: B, hub: A, leaf: B, edge: A }, { now: at(0) }), ok));
  assert.is(rec.state, 'Soaking');
  rec = status(pass(input({ o: B, hub: A, leaf: A, edge: A }, { record: rec, now: at(4) }), ok));
  assert.equal([rec.state, rec.published], ['Progressing', {}]);
  rec = status(pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(6) }), ok));
  assert.equal([rec.state, rec.soakEndsAt], ['Soaking', at(16)]);
});

test('a failed probe halts: Blocked with the reason; without rollback the stage keeps the tree, later stages hold', () => {
  const rec = status(evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A })));
  const out = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(1) }), bad);
  const s = status(out);
  assert.is(s.state, 'Blocked');
  assert.is(s.reason, 'rollout of bbbbbbbbbbbb… halted at stage 1/2 canary: probe repodata/repomd.xml at leaf: answered 404');
  assert.equal(overrides(out), ['edge:hold', 'hub:hold']);
  // Halted stays halted, with no probe asked for, even once the soak would be over.
  const later = evaluateRollout(input({ o: B, hub: A, leaf: B, edge: A }, { record: s, now: at(60) }));
  assert.equal([status(later).state, later.probes, overrides(later)], ['Blocked', [], ['edge:hold', 'hub:hold']]);
});

test('a probe that got no answer says nothing of the tree: tried again next pass, no halt', () => {
  const spec = { ...SPEC, rollbackOnFailure: true };
  const rec = status(evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A }, { spec })));
  const silent = (site: string): ProbeResult => ({ site, ...PROBE, ok: false, detail: 'no answer: nothing within 10000 ms', unanswered: true });
  const out = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(1), spec }), silent);
  assert.equal([status(out).state, status(out).haltedProbes, overrides(out)], ['Progressing', undefined, ['edge:hold', 'hub:hold']]);
  assert.match(status(out).reason, 'probe repodata/repomd.xml at leaf: no answer: nothing within 10000 ms; tried again next pass');
  const next = evaluateRollout(input({ o: B, hub: A, leaf: B, edge: A }, { record: status(out), now: at(2), spec }));
  assert.equal(next.probes, [{ site: 'leaf', path: 'repodata/repomd.xml' }]);
});

test('rollbackOnFailure: the failed stage\'s sites go back to the tree they served before', () => {
  const spec = { ...SPEC, rollbackOnFailure: true };
  const rec = status(evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A }, { spec })));
  const out = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(1), spec }), bad);
  assert.equal(overrides(out), ['edge:hold', 'hub:hold', 'leaf:tree:a']);
  assert.match(status(out).reason, 'its sites go back to the tree they served before');
  const back = out.overrides.get('leaf');
  assert.equal(back, { kind: 'tree', digest: A, why: 'rollout of bbbbbbbbbbbb… halted at stage canary: rolled back' });
});

test('rollback of a site that served nothing before holds it, and says so', () => {
  const spec = { ...SPEC, rollbackOnFailure: true };
  const rec = status(evaluateRollout(input({ o: B, hub: null, leaf: null, edge: null }, { spec })));
  assert.is(rec.previous, null);
  const out = pass(input({ o: B, hub: null, leaf: B, edge: null }, { record: rec, now: at(1), spec }), bad);
  assert.equal(overrides(out), ['edge:hold', 'hub:hold', 'leaf:hold']);
  assert.match((out.overrides.get('leaf') as { why: string }).why, 'it served no other tree before');
});

test('a halted stage whose probes change in Git is tried again', () => {
  const rec = status(pass(input({ o: B, hub: A, leaf: B, edge: A }), bad));
  assert.is(rec.state, 'Blocked');
  const fixed: RolloutSpec = { ...SPEC, stages: [stage('canary', ['leaf'], { soakMs: 600_000, verify: [{ path: 'PULP_MANIFEST' }] }), stage('rest', ['*'])] };
  const out = evaluateRollout(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(2), spec: fixed }));
  assert.equal(out.probes, [{ site: 'leaf', path: 'PULP_MANIFEST' }]);
  assert.is(status(out).haltedProbes, undefined);
});

test('a newer tree supersedes a halted rollout and starts at stage 1; a rollback goes to the last good tree', () => {
  const spec = { ...SPEC, rollbackOnFailure: true };
  const started = status(evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A }, { spec })));
  const halted = status(pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: started, spec }), bad));
  // leaf still serves B (the rollback has not happened yet) when C arrives.
  const out = evaluateRollout(input({ o: C, hub: A, leaf: B, edge: A }, { record: halted, now: at(5), spec }));
  const s = status(out);
  assert.equal([s.digest, s.previous, s.stage, s.state, s.since], [C, A, 0, 'Progressing', at(5)]);
  assert.equal(s.before, { leaf: A, hub: A, edge: A });
  assert.is(s.haltedProbes, undefined);
  assert.equal(overrides(out), ['edge:hold', 'hub:hold']);
});

test('a newer tree supersedes a running rollout; after a finished one, the finished tree is the previous', () => {
  let rec = status(evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A })));
  rec = status(pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(0) }), ok));
  rec = status(pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(10) }), ok));
  assert.equal([rec.stage, rec.state], [1, 'Progressing']);
  const superseded = status(evaluateRollout(input({ o: C, hub: B, leaf: B, edge: A }, { record: rec, now: at(11) })));
  assert.equal([superseded.digest, superseded.previous, superseded.stage], [C, A, 0]);
  assert.equal(superseded.before, { leaf: A, hub: A, edge: A });
  const done = status(pass(input({ o: B, hub: B, leaf: B, edge: B }, { record: rec, now: at(12) }), ok));
  assert.is(done.state, 'Done');
  const next = status(evaluateRollout(input({ o: C, hub: B, leaf: B, edge: B }, { record: done, now: at(13) })));
  assert.equal([next.digest, next.previous, next.before], [C, B, { leaf: B, hub: B, edge: B }]);
});

test('approval: the stage waits, its sites held, until approved names the tree; another tree\'s approval does not count', () => {
  const gated = (approved?: string): RolloutSpec => ({ ...SPEC, stages: [SPEC.stages[0] as RolloutStageSpec, stage('rest', ['*'], { approval: true, ...(approved ? { approved } : {}) })] });
  let rec = status(pass(input({ o: B, hub: A, leaf: B, edge: A }, { spec: gated() }), ok));
  let out = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(10), spec: gated() }), ok);
  rec = status(out);
  assert.equal([rec.state, rec.stage, rec.stageName, rec.stageSince], ['WaitingApproval', 1, 'rest', null]);
  assert.is(rec.reason, 'stage 2/2 rest waits for approval: set spec.rollout.stages[1].approved to bbbbbbbbbbbb by a merge request');
  assert.equal(overrides(out), ['edge:hold', 'hub:hold']);
  out = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(11), spec: gated('aaaaaaaaaaaa') }), ok);
  assert.equal([status(out).state, overrides(out)], ['WaitingApproval', ['edge:hold', 'hub:hold']]);
  assert.match(status(out).reason, '(it approves aaaaaaaaaaaa, another tree)');
  out = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: status(out), now: at(12), spec: gated('bbbbbbbbbbbb') }), ok);
  assert.equal([status(out).state, status(out).stage, status(out).stageSince, overrides(out)], ['Progressing', 1, at(12), []]);
});

test('approval on the first stage: nothing but the origin gets the tree until it is approved', () => {
  const spec: RolloutSpec = { ...SPEC, stages: [stage('canary', ['leaf'], { approval: true }), stage('rest', ['*'])] };
  const out = evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A }, { spec }));
  assert.equal([status(out).state, overrides(out)], ['WaitingApproval', ['edge:hold', 'hub:hold', 'leaf:hold']]);
});

test('a rollout added to a mirror every site already serves is Done at once', () => {
  const out = evaluateRollout(input({ o: B, hub: B, leaf: B, edge: B }));
  assert.equal([status(out).state, status(out).stage, overrides(out), out.probes], ['Done', 2, [], []]);
});

test('nothing published at the origin and no record: nothing to roll out', () => {
  const out = evaluateRollout(input({ o: null, hub: null, leaf: null, edge: null }));
  assert.equal([out.status, overrides(out)], [null, []]);
});

test('the origin unknown this pass: the recorded rollout goes on', () => {
  const rec = status(evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A })));
  const out = evaluateRollout(input({ o: null, hub: A, leaf: A, edge: A }, { record: rec, latest: null, now: at(1) }));
  assert.equal([status(out).digest, overrides(out)], [B, ['edge:hold', 'hub:hold']]);
});

test('the record survives a restart: written as JSON, read back, the same evaluation', () => {
  const rec = status(pass(input({ o: B, hub: A, leaf: B, edge: A }, { now: at(0) }), ok));
  const restored = rolloutRecordOf(JSON.parse(JSON.stringify(rec)));
  assert.equal(restored, rec);
  const a = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: rec, now: at(10) }), ok);
  const b = pass(input({ o: B, hub: A, leaf: B, edge: A }, { record: restored, now: at(10) }), ok);
  assert.equal([a.status, overrides(a)], [b.status, overrides(b)]);
  assert.is(status(a).stage, 1);
});

test('a record that is not one (edited by hand in Git) is dropped, not trusted half-way', () => {
  const rec = status(evaluateRollout(input({ o: B, hub: A, leaf: A, edge: A })));
  for (const broken of [null, 'x', { ...rec, digest: 'b' }, { ...rec, stage: 3 }, { ...rec, state: 'Sleeping' }, { ...rec, since: 'yesterday' }, { ...rec, before: { leaf: 42 } }, { ...rec, published: { leaf: 'soon' } }]) {
    assert.is(rolloutRecordOf(broken), null, JSON.stringify(broken));
  }
});

test('stages selected by labels and an empty stage pass through to the next', () => {
  const spec: RolloutSpec = { stages: [stage('eu', [], { matchLabels: { region: 'eu' } }), stage('mars', [], { matchLabels: { region: 'mars' } }), stage('rest', ['*'])], rollbackOnFailure: false };
  const inp = { ...input({ o: B, hub: A, leaf: A, edge: B }, { spec }), labelsOf: (s: string) => (s === 'edge' ? { region: 'eu' } : undefined) };
  const out = evaluateRollout({ ...inp, record: status(evaluateRollout(inp)), now: at(1) });
  assert.equal([status(out).stage, status(out).stageName, overrides(out)], [2, 'rest', []]);
});

test.run();
