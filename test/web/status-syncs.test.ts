/**
 * The recent syncs of a mirror: status/sync-history.ts fed documents as the controller publishes
 * them, served at /api/v1/mirrors/NAME/syncs and in the page's expanded row (`?open=NAME`).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/logger.js';
import type { LastSync, StatusDocument } from '../../core/status.js';
import { SyncHistory } from '../../status/sync-history.js';
import { sampleStatus } from '../../testkit/status-fixture.js';
import { createMetrics } from '../../web/metrics.js';
import { startStatusServer } from '../../web/server.js';

const NOW = new Date('2026-12-05T12:00:00Z');

/** The sample with fedora-40@hub's last sync replaced. */
function withHubSync(doc: StatusDocument, sync: LastSync): StatusDocument {
  return { ...doc, mirrors: doc.mirrors.map((m) => (m.name !== 'fedora-40' ? m : { ...m, sites: m.sites.map((c) => (c.site === 'hub' ? { ...c, lastSync: sync } : c)) })) };
}
const sync = (n: number, result: LastSync['result'] = 'completed'): LastSync => ({
  startedAt: `2026-12-05T1${n}:00:00.000Z`, finishedAt: `2026-12-05T1${n}:00:30.000Z`, result, downloadedBytes: n * 1024 * 1024, downloadedFiles: n, task: `/pulp/api/v3/tasks/t${n}/`,
});

test('SyncHistory keeps each new finished sync once, newest first, up to its depth, and forgets removed mirrors', () => {
  const h = new SyncHistory(3);
  const base = sampleStatus(NOW);
  const docs = [1, 1, 2, 3, 4].map((n) => withHubSync(base, sync(n)));
  for (const d of docs) h.observe(d);
  assert.equal(h.of('fedora-40')?.hub?.map((s) => s.task), ['/pulp/api/v3/tasks/t4/', '/pulp/api/v3/tasks/t3/', '/pulp/api/v3/tasks/t2/']);
  // A running sync (no finishedAt) is not history yet.
  h.observe(withHubSync(base, { ...sync(5), finishedAt: null, result: null }));
  assert.is(h.of('fedora-40')?.hub?.[0]?.task, '/pulp/api/v3/tasks/t4/');
  h.observe({ ...base, mirrors: base.mirrors.filter((m) => m.name !== 'fedora-40') });
  assert.is(h.of('fedora-40'), undefined);
});

test('GET /api/v1/mirrors/NAME/syncs and the page row expanded by ?open=NAME', async () => {
  const h = new SyncHistory();
  let doc = withHubSync(sampleStatus(NOW), sync(1, 'failed'));
  h.observe(doc);
  doc = withHubSync(doc, sync(2));
  h.observe(doc);
  const server = await startStatusServer({ listen: '127.0.0.1:0', getStatus: () => doc, isReady: () => true, metrics: createMetrics(), log: silentLogger, now: () => NOW, recentSyncs: (m) => h.of(m) });
  try {
    const r = await fetch(`${server.url}/api/v1/mirrors/fedora-40/syncs`);
    assert.is(r.status, 200);
    const body = (await r.json()) as { mirror: string; sites: Record<string, LastSync[]> };
    assert.is(body.mirror, 'fedora-40');
    assert.equal(body.sites.hub?.map((s) => s.result), ['completed', 'failed']);
    assert.is((await fetch(`${server.url}/api/v1/mirrors/nosuch/syncs`)).status, 404);

    const closed = await (await fetch(`${server.url}/`)).text();
    assert.not.match(closed, 'data-history=');
    assert.match(closed, '<a class="mname" href="/?open=fedora-40" aria-expanded="false"');
    const open = await (await fetch(`${server.url}/?open=fedora-40`)).text();
    const row = /<tr class="history" data-history="fedora-40">[^]*?<\/table><\/td><\/tr>/.exec(open)?.[0] ?? '';
    assert.match(row, /<th scope="row" rowspan="2">hub<\/th><td class="ok">completed<\/td>/);
    assert.match(row, /<td class="bad">failed<\/td>/);
    assert.match(row, '2.0 MiB in 2 files');
    // The link now closes it, and keeps the rest of the view.
    const filtered = await (await fetch(`${server.url}/?state=Failed&open=fedora-40`)).text();
    assert.match(filtered, '<a class="mname" href="/?state=Failed" aria-expanded="true"');
  } finally {
    await server.close();
  }
});

test.run();
