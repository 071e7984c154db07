/**
 * spec.rollout: its normal form, the sites each stage resolves to, and every rule with its exact
 * position (the later occurrence for a site in two stages).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveStageSites } from '../../spec/rollout.js';
import { load, mirror, where } from './fixtures.js';

/** origin; hub (upstream origin, tier core); leaf (upstream hub, tier canary); edge (tier canary, region eu). */
const SITES = `apiVersion: pulpdist/v1
kind: Site
metadata: {name: origin}
spec: {pulp: {url: https://pulp.origin.example.com}}
---
apiVersion: pulpdist/v1
kind: Site
metadata: {name: hub, labels: {tier: core}}
spec: {pulp: {url: https://pulp.hub.example.com}, upstream: origin}
---
apiVersion: pulpdist/v1
kind: Site
metadata: {name: leaf, labels: {tier: canary}}
spec: {pulp: {url: https://pulp.leaf.example.com}, upstream: hub}
---
apiVersion: pulpdist/v1
kind: Site
metadata: {name: edge, labels: {tier: canary, region: eu}}
spec: {pulp: {url: https://pulp.edge.example.com}}
`;

/** Lines 5-8 of the mirror; `rollout:` is line 8, its first stage starts on line 10. */
const HEAD = `  source: {path: /srv/m1}
  origin: origin
  sites: [origin, hub, leaf, edge]
  rollout:
    stages:
`;

const run = (stages: string, extra = '') => load({ 's.yaml': SITES, 'm.yaml': mirror(HEAD + stages + extra) });

test('a valid rollout is normalized: names, soak, probes, approval, rollback', () => {
  const r = run(
    `      - name: canary
        sites: [leaf]
        soak: 1h30m
        verify: [{path: repodata/repomd.xml, sha256: ${'a'.repeat(64)}}, {path: PULP_MANIFEST}]
      - sites: ["*"]
        approval: required
        approved: 9bc014aa12cd
`,
    '    rollbackOnFailure: true\n',
  );
  assert.equal(where(r), []);
  const rollout = r.specs.mirrors[0]?.rollout;
  assert.equal(rollout, {
    stages: [
      { name: 'canary', sites: ['leaf'], soakMs: 5_400_000, verify: [{ path: 'repodata/repomd.xml', sha256: 'a'.repeat(64) }, { path: 'PULP_MANIFEST' }], approval: false },
      { name: 'stage-2', sites: ['*'], soakMs: 0, verify: [], approval: true, approved: '9bc014aa12cd' },
    ],
    rollbackOnFailure: true,
  });
});

test('a mirror without spec.rollout has none in its model', () => {
  const r = load({ 's.yaml': SITES, 'm.yaml': mirror(`  source: {path: /srv/m1}\n  origin: origin\n  sites: [origin, hub]\n`) });
  assert.equal(where(r), []);
  assert.is('rollout' in (r.specs.mirrors[0] ?? {}), false);
});

test('stages resolve to sites: names, then labels, then "*" for the rest; the origin never', () => {
  const labels: Record<string, Record<string, string>> = { hub: { tier: 'core' }, leaf: { tier: 'canary' }, edge: { tier: 'canary', region: 'eu' }, origin: { tier: 'canary' } };
  const m = { origin: 'origin', sites: ['origin', 'hub', 'leaf', 'edge'] };
  assert.equal(resolveStageSites([{ sites: [], matchLabels: { tier: 'canary' } }, { sites: ['*'] }], m, (s) => labels[s]), [['leaf', 'edge'], ['hub']]);
  assert.equal(resolveStageSites([{ sites: ['edge'] }, { sites: ['hub', '*'] }], m, (s) => labels[s]), [['edge'], ['hub', 'leaf']]);
  assert.equal(resolveStageSites([{ sites: ['hub'] }, { sites: ['leaf', 'edge'] }], m, (s) => labels[s]), [['hub'], ['leaf', 'edge']]);
});

interface Case {
  name: string;
  stages: string;
  expect: string[];
  says: string;
}

const CASES: Case[] = [
  {
    name: 'an unknown site, at its entry',
    stages: `      - sites: [leaf, nowhere]\n      - sites: ["*"]\n`,
    expect: ['m.yaml:10:23 error unknown-site'],
    says: 'spec.rollout.stages[0].sites[1]: unknown site "nowhere" (known: edge, hub, leaf, origin)',
  },
  {
    name: 'none: two stages of names cover every site',
    stages: `      - sites: [leaf]\n      - sites: [hub, edge]\n`,
    expect: [],
    says: '',
  },
  {
    name: 'a site in two stages, at the later entry',
    stages: `      - sites: [leaf]\n      - sites: [hub, edge, leaf]\n`,
    expect: ['m.yaml:11:28 error rollout-duplicate-site'],
    says: 'spec.rollout.stages[1].sites[2]: lists site "leaf", already in stage "stage-1" (m.yaml:10:17); a site belongs to one stage',
  },
  {
    name: 'a label selector that takes a site another stage holds',
    stages: `      - sites: [leaf]\n      - matchLabels: {tier: canary}\n        sites: [hub]\n`,
    expect: ['m.yaml:11:22 error rollout-duplicate-site'],
    says: 'spec.rollout.stages[1].matchLabels: selects site "leaf", already in stage "stage-1"',
  },
  {
    name: 'the origin in a stage',
    stages: `      - sites: [origin, leaf]\n      - sites: ["*"]\n`,
    expect: ['m.yaml:10:17 error rollout-origin'],
    says: 'the origin "origin" is in no stage: it publishes each new tree first, at once',
  },
  {
    name: '"*" before the last stage',
    stages: `      - sites: ["*"]\n      - sites: [leaf]\n`,
    expect: ['m.yaml:10:17 error rollout-rest-not-last', 'm.yaml:9:5 error rollout-uncovered'],
    says: 'spec.rollout.stages[0].sites[0]: "*" (every site in no other stage) may only be in the last stage',
  },
  {
    name: 'a site of the mirror in no stage',
    stages: `      - sites: [leaf]\n`,
    expect: ['m.yaml:9:5 error rollout-uncovered'],
    says: 'spec.rollout.stages: sites "hub", "edge" of this mirror are in no stage: add them to a stage, or "*" to the last stage',
  },
  {
    name: 'a stage with neither sites nor labels, and two stages with one name',
    stages: `      - {name: a, sites: ["*"]}\n      - {name: a}\n`,
    expect: ['m.yaml:10:27 error rollout-rest-not-last', 'm.yaml:11:9 error rollout-empty-stage', 'm.yaml:11:16 error rollout-stage-name', 'm.yaml:9:5 error rollout-uncovered'],
    says: '',
  },
  {
    name: 'a selector that matches nothing, and approved without approval: warnings',
    stages: `      - matchLabels: {region: mars}\n        sites: [leaf]\n        approved: 9bc014aa12cd\n      - sites: ["*"]\n`,
    expect: ['m.yaml:10:9 warning rollout-empty-stage', 'm.yaml:12:9 warning rollout-approval'],
    says: 'spec.rollout.stages[0].matchLabels: matchLabels selects none',
  },
  {
    name: 'schema: a probe path that climbs out, a short approved prefix, a bad soak',
    stages: `      - sites: [leaf]\n        verify: [{path: ../etc/passwd}]\n        approved: 9bc0\n        soak: soon\n        approval: required\n      - sites: ["*"]\n`,
    expect: ['m.yaml:11:25 error schema', 'm.yaml:12:19 error schema', 'm.yaml:13:15 error schema'],
    says: 'spec.rollout.stages[0].soak: "soon" must be a duration such as 30s',
  },
];

for (const c of CASES) {
  test(`rule: ${c.name}`, () => {
    const r = run(c.stages);
    const got = where(r);
    // Problems come sorted by position; compare as sets of lines, then the first message.
    assert.equal([...got].sort(), [...c.expect].sort(), r.problems.map((p) => p.message).join('\n'));
    if (c.says) assert.ok(r.problems.some((p) => p.message.includes(c.says)), r.problems.map((p) => p.message).join('\n'));
  });
}

test('rule: a listed site that is not among the mirror\'s sites', () => {
  const r = load({ 's.yaml': SITES, 'm.yaml': mirror(`  source: {path: /srv/m1}\n  origin: origin\n  sites: [origin, leaf]\n  rollout:\n    stages:\n      - sites: [leaf, hub]\n`) });
  assert.equal(where(r), ['m.yaml:10:23 error rollout-site-not-in-mirror']);
  assert.match(r.problems[0]?.message ?? '', 'site "hub" does not carry this mirror (spec.sites: origin, leaf)');
});

test.run();
