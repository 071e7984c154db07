import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { PropagationTracker } from '../../status/propagation.js';
import { renderStatusFiles, stateTransitions, statusChanged } from '../../status/files.js';
import { buildStatusDocument, type ControllerSnapshot } from '../../status/model.js';
import { commitMessage } from '../../status/writer.js';
import type { MirrorStatus } from '../../core/status.js';
import type { PassResult } from '../../reconcilers/pass-types.js';
import type { MirrorSpec, SiteSpec, SpecSet } from '../../spec/types.js';

const pos = { file: 'x.yaml', line: 1, column: 1 };
const site = (name: string, upstream?: string): SiteSpec => ({
  name,
  labels: {},
  pulp: { url: `http://${name}.test`, apiRoot: '/pulp/api/v3/', contentOrigin: `http://${name}.test`, tlsValidation: true },
  ...(upstream ? { upstream } : {}),
  limits: { concurrentSyncs: 2, downloadConcurrency: 10 },
  position: pos,
});
const mirror = (name: string, sites: string[], suspend = false): MirrorSpec => ({
  name,
  labels: {},
  source: { kind: 'path', path: '/srv/' + name },
  origin: sites[0]!,
  sites,
  basePath: name,
  retainVersions: 3,
  suspend,
  position: pos,
});
const specs: SpecSet = { sites: [site('origin'), site('hub', 'origin')], mirrors: [mirror('zeta', ['origin', 'hub']), mirror('alpha', ['origin'], true)] };
const base: ControllerSnapshot = {
  version: '0.1.0',
  startedAt: new Date('2026-01-01T00:00:00Z'),
  observedCommit: null,
  specCommit: 'c1',
  problems: [
    { file: 'm.yaml', line: 3, column: 5, severity: 'error', message: 'bad', rule: 'schema' },
    { file: 'm.yaml', line: 4, column: 1, severity: 'warning', message: 'meh', rule: 'x' },
  ],
  lastPass: null,
  specs,
  pass: null,
};

const cell = (site: string, state: MirrorStatus['sites'][number]['state'], digest: string | null, finishedAt: string | null = null): MirrorStatus['sites'][number] => ({
  site,
  state,
  version: digest ? 1 : null,
  treeDigest: digest,
  files: null,
  bytes: null,
  lastSync: finishedAt ? { startedAt: finishedAt, finishedAt, result: 'completed', downloadedBytes: 1, downloadedFiles: 1, task: '/t/' } : null,
  message: '',
});

test('before any pass: every mirror × site Pending (Suspended when suspended), sites not observed, only errors listed', () => {
  const doc = buildStatusDocument(base);
  assert.equal(doc.mirrors.map((m) => m.name), ['alpha', 'zeta']);
  assert.equal(doc.mirrors[1]!.sites.map((c) => [c.site, c.state]), [['origin', 'Pending'], ['hub', 'Pending']]);
  assert.is(doc.mirrors[0]!.sites[0]!.state, 'Suspended');
  assert.equal(doc.sites.map((s) => [s.name, s.reachable, s.upstream ?? null]), [['hub', false, 'origin'], ['origin', false, null]]);
  assert.equal(doc.controller.specErrors, [{ file: 'm.yaml', line: 3, column: 5, message: 'bad' }]);
  assert.is(doc.controller.startedAt, '2026-01-01T00:00:00.000Z');
});

test('after a pass: its statuses are used; mirrors the specs no longer name are dropped', () => {
  const pass: PassResult = {
    converged: true,
    changes: 2,
    failures: [],
    nextDueAt: null,
    sites: [{ name: 'origin', url: 'http://origin.test', reachable: true, pulpVersion: '3.24.0', lastSeen: '2026-01-01T00:01:00Z', message: '' }],
    mirrors: [
      { name: 'zeta', origin: 'origin', treeDigest: 'd1', sites: [cell('origin', 'Synced', 'd1')] },
      { name: 'gone', origin: 'origin', treeDigest: 'd9', sites: [cell('origin', 'Synced', 'd9')] },
    ],
  };
  const doc = buildStatusDocument({ ...base, pass, observedCommit: 'c1' });
  assert.equal(doc.mirrors.map((m) => m.name), ['alpha', 'zeta']);
  assert.equal(doc.mirrors[1]!.sites.map((c) => c.state), ['Synced', 'Pending']);
  assert.is(doc.mirrors[1]!.treeDigest, 'd1');
  assert.is(doc.sites.find((s) => s.name === 'origin')!.reachable, true);
});

test('Blocked placements stay in the document although the specs no longer name them (a held delete is still served)', () => {
  const blocked = { ...cell('origin', 'Blocked', 'd9'), message: 'held by the mass-delete guard' };
  const pass: PassResult = {
    converged: false,
    changes: 0,
    failures: [],
    nextDueAt: null,
    sites: [],
    mirrors: [
      // zeta left hub in the specs (zeta@hub is named: kept as it is); zeta@leaf is not named but Blocked
      { name: 'zeta', origin: 'origin', treeDigest: 'd1', sites: [cell('origin', 'Synced', 'd1'), { ...blocked, site: 'leaf' }] },
      { name: 'gone', origin: 'origin', treeDigest: null, sites: [blocked, { ...blocked, site: 'hub' }] },
      { name: 'pruned', origin: 'origin', treeDigest: null, sites: [cell('origin', 'Synced', 'd9')] },
    ],
  };
  const doc = buildStatusDocument({ ...base, pass, observedCommit: 'c1' });
  assert.equal(doc.mirrors.map((m) => m.name), ['alpha', 'gone', 'zeta']);
  assert.equal(doc.mirrors[1]!.sites.map((c) => [c.site, c.state]), [['origin', 'Blocked'], ['hub', 'Blocked']]);
  assert.equal(doc.mirrors[2]!.sites.map((c) => [c.site, c.state]), [['origin', 'Synced'], ['hub', 'Pending'], ['leaf', 'Blocked']]);
});

test('status files: one per mirror and site, controller.yaml, README; timestamp-only changes are not changes', () => {
  const doc = buildStatusDocument(base);
  const files = renderStatusFiles(doc);
  assert.equal([...files.keys()].sort(), ['README.md', 'controller.yaml', 'mirrors/alpha.yaml', 'mirrors/zeta.yaml', 'sites/hub.yaml', 'sites/origin.yaml']);
  assert.is(YAML.parse(files.get('mirrors/zeta.yaml')!).sites[1].site, 'hub');
  assert.match(files.get('README.md')!, /`m\.yaml:3:5`: bad/);
  assert.match(files.get('README.md')!, /\| zeta \| ⏳ Pending \| ⏳ Pending \|/);

  const later = buildStatusDocument({ ...base, startedAt: new Date('2026-02-01T00:00:00Z'), lastPass: null });
  assert.is(statusChanged(files, renderStatusFiles(later)), false);
  const fewer = buildStatusDocument({ ...base, specs: { ...specs, mirrors: [specs.mirrors[0]!] } });
  assert.is(statusChanged(files, renderStatusFiles(fewer)), true);
  const fixed = buildStatusDocument({ ...base, problems: [] });
  assert.is(statusChanged(files, renderStatusFiles(fixed)), true);
});

test('state transitions and the commit message', () => {
  const a = buildStatusDocument(base);
  const pass: PassResult = {
    converged: true, changes: 1, failures: [], nextDueAt: null, sites: [],
    mirrors: [{ name: 'zeta', origin: 'origin', treeDigest: 'd1', sites: [cell('origin', 'Synced', 'd1'), cell('hub', 'Failed', null)] }],
  };
  const b = buildStatusDocument({ ...base, pass, observedCommit: '0123456789abcdef', problems: [] });
  const t = stateTransitions(renderStatusFiles(a), renderStatusFiles(b));
  assert.equal(t, ['zeta@hub: Pending → Failed', 'zeta@origin: Pending → Synced']);
  assert.is(commitMessage(b, t), 'status: 1 Failed, 1 Suspended, 1 Synced · spec 0123456789ab [skip ci]\n\nzeta@hub: Pending → Failed\nzeta@origin: Pending → Synced\n');
});

test('propagation: measured from the origin publishing a digest to each site publishing it, once', () => {
  const tracker = new PropagationTracker(new Date('2026-01-01T00:00:00Z'));
  const m = (o: string | null, h: string | null, oAt: string | null, hAt: string | null): MirrorStatus[] => [
    { name: 'zeta', origin: 'origin', treeDigest: o, sites: [cell('origin', 'Synced', o, oAt), cell('hub', 'Synced', h, hAt)] },
  ];
  // Published before the controller started: not measurable, nothing reported.
  assert.equal(tracker.observe(m('d0', 'd0', '2025-12-31T00:00:00Z', '2025-12-31T00:05:00Z'), new Date('2026-01-01T00:00:10Z')), []);
  // New digest at the origin; the hub catches up 90 s later.
  assert.equal(tracker.observe(m('d1', 'd0', '2026-01-01T01:00:00Z', '2025-12-31T00:05:00Z'), new Date('2026-01-01T01:00:05Z')), []);
  assert.equal(tracker.observe(m('d1', 'd1', '2026-01-01T01:00:00Z', '2026-01-01T01:01:30Z'), new Date('2026-01-01T01:02:00Z')), [{ mirror: 'zeta', site: 'hub', seconds: 90 }]);
  assert.equal(tracker.observe(m('d1', 'd1', '2026-01-01T01:00:00Z', '2026-01-01T01:01:30Z'), new Date('2026-01-01T01:03:00Z')), [], 'counted once');
  // A brand-new mirror converged within one pass after start is measured from the sync times.
  const t2 = new PropagationTracker(new Date('2026-01-01T00:00:00Z'));
  assert.equal(t2.observe(m('d2', 'd2', '2026-01-01T00:10:00Z', '2026-01-01T00:10:04Z'), new Date('2026-01-01T00:10:05Z')), [{ mirror: 'zeta', site: 'hub', seconds: 4 }]);
});

const passOf = (mirrors: MirrorStatus[]): PassResult => ({ converged: true, changes: 0, failures: [], nextDueAt: null, sites: [], mirrors });

test('the last known status (restored at start) stands until a pass reports; without valid specs it stands whole', () => {
  const known = { mirrors: [{ name: 'zeta', origin: 'origin', treeDigest: 'd1', sites: [cell('origin', 'Synced', 'd1', '2026-01-01T00:00:00Z'), cell('hub', 'Failed', null)] }], sites: [{ name: 'hub', url: 'http://old.test', upstream: 'elsewhere', reachable: true, pulpVersion: '3.24.1', lastSeen: '2026-01-01T00:00:00Z', message: '' }] };
  const doc = buildStatusDocument({ ...base, known });
  const zeta = doc.mirrors.find((m) => m.name === 'zeta')!;
  assert.equal(zeta.sites, known.mirrors[0]!.sites, 'not Pending with no version');
  assert.is(zeta.treeDigest, 'd1');
  assert.equal(doc.sites.find((x) => x.name === 'hub'), { name: 'hub', url: 'http://hub.test', upstream: 'origin', reachable: true, pulpVersion: '3.24.1', lastSeen: '2026-01-01T00:00:00Z', message: '' });
  assert.is(doc.mirrors.find((m) => m.name === 'alpha')!.sites[0]!.state, 'Suspended', 'suspended in the spec in force wins');
  const passed = buildStatusDocument({ ...base, known, pass: passOf([{ name: 'zeta', origin: 'origin', treeDigest: 'd2', sites: [cell('origin', 'Synced', 'd2'), cell('hub', 'OutOfSync', 'd1')] }]) });
  assert.equal(passed.mirrors.find((m) => m.name === 'zeta')!.sites.map((c) => c.state), ['Synced', 'OutOfSync'], 'a pass wins');
  const noSpecs = buildStatusDocument({ ...base, specs: null, known });
  assert.equal(noSpecs.mirrors, known.mirrors, 'not "no mirrors"');
  assert.is(noSpecs.sites[0]!.url, 'http://old.test');
});

test('propagation in the document: the current tree\'s time per site, null at the origin and until a site has it; kept across a restart', () => {
  const tracker = new PropagationTracker(new Date('2026-01-01T00:00:00Z'));
  const m = (o: string, h: string | null, hAt: string | null): MirrorStatus[] => [
    { name: 'zeta', origin: 'origin', treeDigest: o, sites: [cell('origin', 'Synced', o, '2026-01-01T01:00:00Z'), cell('hub', 'Synced', h, hAt)] },
  ];
  tracker.observe(m('d1', null, null), new Date('2026-01-01T01:00:05Z'));
  assert.is(tracker.seconds('zeta', 'hub'), null, 'not there yet');
  tracker.observe(m('d1', 'd1', '2026-01-01T01:00:42Z'), new Date('2026-01-01T01:01:00Z'));
  assert.is(tracker.seconds('zeta', 'hub'), 42);
  assert.is(tracker.seconds('zeta', 'origin'), null);
  const doc = buildStatusDocument({ ...base, pass: passOf(m('d1', 'd1', '2026-01-01T01:00:42Z')), propagation: (mi, si) => tracker.seconds(mi, si) });
  assert.equal(doc.mirrors.find((x) => x.name === 'zeta')?.sites.map((c) => [c.site, c.propagationSeconds]), [['origin', null], ['hub', 42]]);
  assert.is(buildStatusDocument({ ...base, pass: passOf(m('d1', 'd1', null)) }).mirrors.find((x) => x.name === 'zeta')?.sites[1]?.propagationSeconds, undefined, 'no tracker: no field');

  // A new process takes back what the old one committed, and measures a newer site from the origin's time.
  const restored = m('d1', 'd1', '2026-01-01T01:00:42Z');
  restored[0]!.sites[1]!.propagationSeconds = 42;
  restored[0]!.sites.push(cell('leaf', 'OutOfSync', 'd0', null));
  const next = new PropagationTracker(new Date('2026-01-02T00:00:00Z'));
  next.restore(restored);
  assert.is(next.seconds('zeta', 'hub'), 42);
  const later = m('d1', 'd1', '2026-01-01T01:00:42Z');
  later[0]!.sites.push(cell('leaf', 'Synced', 'd1', '2026-01-02T00:00:30Z'));
  assert.equal(next.observe(later, new Date('2026-01-02T00:01:00Z')), [{ mirror: 'zeta', site: 'leaf', seconds: 82_830 }]);
  assert.is(next.seconds('zeta', 'hub'), 42, 'the hub is not counted again');
});

test.run();
