/**
 * createMetrics on its own: syncs counted once, not again after a restart, not lost between
 * scrapes; gauges that follow the latest document only.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { createMetrics, metricsText } from '../../web/metrics.js';
import { sampleStatus } from '../../testkit/status-fixture.js';

const NOW = new Date('2026-11-25T12:00:00Z');

/** The value of one sample line, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && line.split(' ')[0] !== name) continue;
    const head = line.slice(0, line.lastIndexOf(' '));
    if (head.split('{')[0] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => head.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** The sample document with one more finished sync of fedora-40 at hub. */
function withNewHubSync(doc: StatusDocument, finishedAt: string, bytes: number): StatusDocument {
  const next = structuredClone(doc);
  const hub = next.mirrors[0]!.sites.find((s) => s.site === 'hub')!;
  hub.lastSync = { startedAt: new Date(Date.parse(finishedAt) - 5000).toISOString(), finishedAt, result: 'completed', downloadedBytes: bytes, downloadedFiles: 2, task: `/pulp/api/v3/tasks/${finishedAt}/` };
  return next;
}

test('syncs that finished before the controller started are not counted (a restart counts nothing twice)', async () => {
  const m = createMetrics({ countSyncsSince: NOW, now: () => NOW });
  const doc = sampleStatus(NOW); // every sync in it finished before NOW
  m.recordStatus(doc);
  let text = await metricsText(m.registry);
  assert.is(sample(text, 'pulpdist_syncs_total', { mirror: 'fedora-40', site: 'hub' }), undefined);
  assert.is(sample(text, 'pulpdist_sync_downloaded_bytes_total', { mirror: 'fedora-40', site: 'hub' }), undefined);
  // The gauges still show the document.
  assert.is(sample(text, 'pulpdist_mirror_state', { mirror: 'fedora-40', site: 'hub', state: 'Synced' }), 1);
  const later = withNewHubSync(doc, new Date(NOW.getTime() + 60_000).toISOString(), 4096);
  m.recordStatus(later);
  m.recordStatus(later);
  text = await metricsText(m.registry);
  assert.is(sample(text, 'pulpdist_syncs_total', { mirror: 'fedora-40', site: 'hub', result: 'completed' }), 1);
  assert.is(sample(text, 'pulpdist_sync_downloaded_bytes_total', { mirror: 'fedora-40', site: 'hub' }), 4096);
  assert.is(sample(text, 'pulpdist_sync_duration_seconds_sum', { site: 'hub', result: 'completed' }), 5);
});

test('a sync seen only by a document that was never scraped is still counted', async () => {
  const m = createMetrics({ countSyncsSince: NOW });
  const doc = sampleStatus(NOW);
  const t1 = new Date(NOW.getTime() + 10_000).toISOString();
  const t2 = new Date(NOW.getTime() + 20_000).toISOString();
  m.recordStatus(withNewHubSync(doc, t1, 100));
  m.recordStatus(withNewHubSync(doc, t2, 200));
  const text = await metricsText(m.registry);
  assert.is(sample(text, 'pulpdist_syncs_total', { mirror: 'fedora-40', site: 'hub', result: 'completed' }), 2);
  assert.is(sample(text, 'pulpdist_sync_downloaded_bytes_total', { mirror: 'fedora-40', site: 'hub' }), 300);
  assert.is(sample(text, 'pulpdist_last_sync_success_timestamp_seconds', { mirror: 'fedora-40', site: 'hub' }), Date.parse(t2) / 1000);
});

test('the last successful sync time survives a failed sync after it', async () => {
  const m = createMetrics({ countSyncsSince: NOW });
  const ok = withNewHubSync(sampleStatus(NOW), new Date(NOW.getTime() + 10_000).toISOString(), 100);
  m.recordStatus(ok);
  const failed = structuredClone(ok);
  const hub = failed.mirrors[0]!.sites.find((s) => s.site === 'hub')!;
  hub.state = 'Failed';
  hub.lastSync = { ...hub.lastSync!, startedAt: new Date(NOW.getTime() + 20_000).toISOString(), finishedAt: new Date(NOW.getTime() + 25_000).toISOString(), result: 'failed', task: '/pulp/api/v3/tasks/f/' };
  m.recordStatus(failed);
  const text = await metricsText(m.registry);
  assert.is(sample(text, 'pulpdist_last_sync_success_timestamp_seconds', { mirror: 'fedora-40', site: 'hub' }), (NOW.getTime() + 10_000) / 1000);
  assert.is(sample(text, 'pulpdist_syncs_total', { mirror: 'fedora-40', site: 'hub', result: 'failed' }), 1);
  assert.is(sample(text, 'pulpdist_mirror_state', { mirror: 'fedora-40', site: 'hub', state: 'Failed' }), 1);
  // A mirror removed from the document leaves every per-mirror gauge.
  m.recordStatus({ ...failed, mirrors: failed.mirrors.filter((x) => x.name !== 'fedora-40') });
  const after = await metricsText(m.registry);
  assert.is(sample(after, 'pulpdist_last_sync_success_timestamp_seconds', { mirror: 'fedora-40' }), undefined);
  assert.is(sample(after, 'pulpdist_mirror_state', { mirror: 'fedora-40' }), undefined);
});

test('metricsText renders what registry.metrics() renders', async () => {
  const m = createMetrics({ version: '9.9.9' });
  m.recordStatus(sampleStatus(NOW));
  m.recordPropagation('fedora-40', 'leaf', 90);
  m.recordPropagation('fedora-40', 'leaf', -1); // nonsense is dropped, not observed
  const ours = await metricsText(m.registry);
  assert.is(ours, await m.registry.metrics());
  assert.is(sample(ours, 'pulpdist_build_info', { version: '9.9.9' }), 1);
  assert.is(sample(ours, 'pulpdist_propagation_seconds_count', { mirror: 'fedora-40', site: 'leaf' }), 1);
});

test.run();
