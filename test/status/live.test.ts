/**
 * The live overlay (status/live.ts) as a table: pass events in, the document's cells out.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LiveProgress } from '../../status/live.js';
import { sampleStatus } from '../../testkit/status-fixture.js';

const T0 = Date.parse('2026-12-05T10:00:00Z');
const cellOf = (doc: ReturnType<typeof sampleStatus>, mirror: string, site: string) => doc.mirrors.find((m) => m.name === mirror)!.sites.find((c) => c.site === site)!;
const start = (live: LiveProgress, site: string, at: number, estimate = { files: 10, bytes: 10_000 }) =>
  live.record({ type: 'action-start', site, mirror: 'epel-9', kind: 'sync', action: 'sync', estimate }, at);
const poll = (live: LiveProgress, site: string, at: number, doneFiles: number, doneBytes: number) =>
  live.record({ type: 'sync-progress', site, mirror: 'epel-9', task: '/pulp/api/v3/tasks/t1/', doneFiles, totalFiles: 10, doneBytes, totalBytes: 10_000 }, at);

test('a started sync is Progressing at once with its totals; polls move done, rate and ETA', () => {
  const doc = sampleStatus(new Date(T0));
  const live = new LiveProgress();
  assert.is(live.overlay(doc), doc, 'nothing running: the same document');
  assert.ok(start(live, 'hub', T0));
  let c = cellOf(live.overlay(doc), 'epel-9', 'hub');
  assert.is(c.state, 'Progressing');
  assert.equal(c.progress?.bytes, { done: 0, total: 10_000 });
  assert.equal(c.progress?.files, { done: 0, total: 10 });
  assert.is(c.progress?.bytesPerSecond, null, 'no rate from one sample');
  assert.ok(poll(live, 'hub', T0 + 2000, 4, 4000));
  c = cellOf(live.overlay(doc), 'epel-9', 'hub');
  assert.equal({ done: c.progress?.bytes.done, rate: c.progress?.bytesPerSecond, eta: c.progress?.etaSeconds, task: c.progress?.task }, { done: 4000, rate: 2000, eta: 3, task: '/pulp/api/v3/tasks/t1/' });
  assert.match(c.message, /^syncing: 4\/10 files, 3\.9 KiB of 9\.8 KiB, 2\.0 KiB\/s, 3(\.0)?s to go$/);
  // The other cells of the mirror and the other mirrors are the document's own.
  assert.equal(cellOf(live.overlay(doc), 'epel-9', 'origin'), cellOf(doc, 'epel-9', 'origin'));
  const out = live.overlay(doc);
  for (const [i, m] of out.mirrors.entries()) if (m.name !== 'epel-9') assert.is(m, doc.mirrors[i], `${m.name} is untouched`);
});

test('an ended sync: Failed at once with its reason; a succeeded one stays Progressing until the pass ends', () => {
  const doc = sampleStatus(new Date(T0));
  const live = new LiveProgress();
  start(live, 'hub', T0);
  start(live, 'leaf', T0);
  live.record({ type: 'action-end', site: 'hub', mirror: 'epel-9', kind: 'sync', action: 'sync', result: 'failed', message: '401 Unauthorized at hub', durationMs: 5 }, T0 + 10);
  live.record({ type: 'action-end', site: 'leaf', mirror: 'epel-9', kind: 'sync', action: 'sync', result: 'succeeded', durationMs: 5 }, T0 + 10);
  const out = live.overlay(doc);
  assert.equal({ state: cellOf(out, 'epel-9', 'hub').state, message: cellOf(out, 'epel-9', 'hub').message }, { state: 'Failed', message: 'sync failed: 401 Unauthorized at hub' });
  assert.equal({ state: cellOf(out, 'epel-9', 'leaf').state, eta: cellOf(out, 'epel-9', 'leaf').progress?.etaSeconds }, { state: 'Progressing', eta: 0 });
  // A poll after the end changes nothing; clear() forgets the pass.
  assert.not.ok(poll(live, 'leaf', T0 + 20, 1, 1));
  live.clear();
  assert.is(live.overlay(doc), doc);
});

test('events of other kinds, and of placements not started, change nothing', () => {
  const live = new LiveProgress();
  assert.not.ok(live.record({ type: 'action-start', site: 'hub', mirror: 'epel-9', kind: 'remote', action: 'create' }, T0));
  assert.not.ok(poll(live, 'hub', T0, 1, 1));
  assert.is(live.size, 0);
});

test.run();
