/**
 * Every event the builders make, stamped as the bus stamps it, validates against
 * schemas/event.schema.json; the schema refuses data of the wrong shape; subjects and severities
 * follow docs/events.md.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SCHEMA_DIR } from '../../core/paths.js';
import { changeBlocked, controllerSource, passFailed, siteHealth, specRejected, stamp, syncFailed, syncStarted, syncSucceeded, treePropagated } from '../../events/build.js';
import { EVENT_TYPES } from '../../events/types.js';
import type { EventInput } from '../../events/types.js';

const schema = JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'event.schema.json'), 'utf8')) as Record<string, unknown>;
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema);
const digest = 'ab'.repeat(32);
const now = () => new Date('2026-12-05T08:00:00.000Z');

/** One of every type, with every optional field set where there is one. */
export const SAMPLES: EventInput[] = [
  syncStarted({ mirror: 'fedora-40', site: 'bne', reason: 'upstream published a new tree', task: '/pulp/api/v3/tasks/1/' }),
  syncSucceeded({ mirror: 'fedora-40', site: 'bne', treeDigest: digest, bytes: 1234, files: 3, durationMs: 900, task: '/pulp/api/v3/tasks/1/' }),
  syncFailed({ mirror: 'fedora-40', site: 'rdu', reason: 'site rdu: GET /pulp/api/v3/tasks/2/: 500', durationMs: 12, retryable: true }),
  treePropagated({ mirror: 'fedora-40', treeDigest: digest, sites: ['rdu', 'bne'], propagationMs: 4200, firstPublishedAt: '2026-12-05T07:59:55.800Z', completedAt: '2026-12-05T08:00:00.000Z' }),
  passFailed({ reason: 'observe failed at every site', commit: 'abc1234', durationMs: 5 }),
  specRejected({ commit: 'def5678', appliedCommit: 'abc1234', problems: [{ file: 'mirrors/a.yaml', line: 4, column: 7, severity: 'error', rule: 'unknown-site', message: 'spec.sites[1]: unknown site "x"' }] }),
  changeBlocked({ site: 'bne', rule: 'mass-delete', reason: 'would delete 12 of 14 mirrors', commit: 'abc1234' }),
  changeBlocked({ site: 'bne', mirror: 'fedora-40', rule: 'mass-delete', reason: 'held' }),
  siteHealth('unreachable', { site: 'brq', previous: 'reachable', reason: 'connect ECONNREFUSED' }),
  siteHealth('degraded', { site: 'brq', previous: 'unreachable', reason: 'no online worker', pulpVersion: '3.24.0' }),
  siteHealth('reachable', { site: 'brq', previous: 'degraded', pulpVersion: '3.24.0' }),
];

test('the samples cover every event type', () => {
  assert.equal([...new Set(SAMPLES.map((s) => s.type))].sort(), [...EVENT_TYPES].sort());
});

test('every built event, stamped, validates against schemas/event.schema.json', () => {
  let n = 0;
  for (const input of SAMPLES) {
    const event = stamp(input, { source: controllerSource('ctl-1.example.com'), now, id: () => `id-${++n}` });
    const json = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
    const ok = validate(json);
    assert.ok(ok, `${input.type}: ${JSON.stringify(validate.errors)}`);
    assert.is(json.id, `id-${n}`);
    assert.is(json.time, '2026-12-05T08:00:00.000Z');
    assert.is(json.source, 'pulpdist://ctl-1.example.com');
    assert.is(json.severity, input.severity);
  }
});

test('subjects and severities: mirror@site, mirror alone, site alone, none', () => {
  const byType = (i: number) => ({ subject: SAMPLES[i]!.subject, severity: SAMPLES[i]!.severity });
  assert.equal(byType(0), { subject: 'fedora-40@bne', severity: 'info' });
  assert.equal(byType(2), { subject: 'fedora-40@rdu', severity: 'error' });
  assert.equal(byType(3), { subject: 'fedora-40', severity: 'info' });
  assert.equal(byType(4), { subject: undefined, severity: 'error' });
  assert.equal(byType(5), { subject: 'def5678', severity: 'error' });
  assert.equal(byType(6), { subject: 'bne', severity: 'warning' });
  assert.equal(byType(7), { subject: 'fedora-40@bne', severity: 'warning' });
  assert.equal(byType(8), { subject: 'brq', severity: 'error' });
  assert.equal(byType(10), { subject: 'brq', severity: 'info' });
  assert.equal((SAMPLES[3]!.data as { sites: string[] }).sites, ['bne', 'rdu']);
});

test('the schema refuses data of the wrong shape for its type', () => {
  const good = JSON.parse(JSON.stringify(stamp(SAMPLES[1]!, { source: 'pulpdist://x', now }))) as { data: Record<string, unknown> };
  assert.ok(validate(good));
  const cases: [string, (e: { data: Record<string, unknown>; [k: string]: unknown }) => void][] = [
    ['digest not hex', (e) => { e.data.treeDigest = 'nope'; }],
    ['bytes missing', (e) => { delete e.data.bytes; }],
    ['unknown data field', (e) => { e.data.extra = 1; }],
    ['unknown type', (e) => { e.type = 'org.pulpdist.sync.exploded'; }],
    ['bad source', (e) => { e.source = 'http://x'; }],
    ['data of another type', (e) => { e.type = 'org.pulpdist.tree.propagated'; }],
  ];
  for (const [what, change] of cases) {
    const copy = JSON.parse(JSON.stringify(good)) as { data: Record<string, unknown> };
    change(copy);
    assert.not.ok(validate(copy), what);
  }
});

test('controllerSource keeps the identity a valid URI authority', () => {
  assert.is(controllerSource('Ctl-1.Example.com'), 'pulpdist://ctl-1.example.com');
  assert.is(controllerSource('a b/c'), 'pulpdist://a%20b%2fc');
});

test.run();
