/**
 * A degraded site and the disk view where people look: the page's sites table, `pulpdist status`
 * in a terminal, /metrics and the status files, from one status document.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { renderStatusText } from '../../cli/commands/status.js';
import { SCHEMA_DIR } from '../../core/paths.js';
import { renderStatusFiles } from '../../status/files.js';
import { sampleStatus } from '../../testkit/status-fixture.js';
import { createMetrics, metricsText } from '../../web/metrics.js';
import { renderStatusPage } from '../../web/page.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const GiB = 1024 ** 3;

function doc(): StatusDocument {
  const d = sampleStatus(NOW);
  d.sites = d.sites.map((s) => {
    if (s.name === 'hub') return { ...s, state: 'degraded' as const, storage: { total: 20 * GiB, used: 19 * GiB, free: 1 * GiB }, diskLow: true, message: 'degraded: no online Pulp worker; its syncs and publishes wait until one is back' };
    if (s.name === 'origin') {
      return {
        ...s, state: 'reachable' as const, storage: { total: 100 * GiB, used: 40 * GiB, free: 60 * GiB }, diskLow: false,
        lastCleanup: { startedAt: '2026-11-25T08:59:00Z', finishedAt: '2026-11-25T09:00:00Z', result: 'completed' as const, removedContent: 12, removedArtifacts: 10, reclaimedBytes: 3 * GiB, task: '/pulp/api/v3/tasks/1/', message: '' },
      };
    }
    if (s.name === 'leaf') return { ...s, state: 'reachable' as const, storage: null };
    return s;
  });
  return d;
}

test('page: the sites table says degraded and why, and shows the disk', () => {
  const page = renderStatusPage(doc(), { now: NOW });
  const row = (name: string) => new RegExp(`<tr data-site="${name}">.*?</tr>`, 's').exec(page)?.[0] ?? '';
  assert.match(row('hub'), /<td class="warn">degraded<\/td>/);
  assert.match(row('hub'), /<td class="disk warn">1\.0 GiB free of 20\.0 GiB \(5%\)<\/td>/);
  assert.match(row('hub'), /no online Pulp worker/);
  assert.match(row('origin'), /<td class="ok">yes<\/td>/);
  assert.match(row('origin'), /<td class="disk">60\.0 GiB free of 100 GiB \(60%\)<br><small>last cleanup 3h ago: 3\.0 GiB reclaimed<\/small><\/td>/);
  assert.match(row('leaf'), /no figure \(object storage\)/);
  assert.match(row('edge'), /<td class="bad">no<\/td>/);
  // The topology picture names it too.
  assert.match(page, /<g class="node[^"]*" data-site="hub"[^>]*>\s*<title>hub: degraded · /);
});

test('terminal: the sites line says degraded, why, and the disk', () => {
  const text = renderStatusText(doc(), { now: NOW, colour: false });
  assert.match(text, /hub degraded: degraded: no online Pulp worker; its syncs and publishes wait until one is back · disk 1\.0 GiB free of 20\.0 GiB \(5%\)/);
  assert.match(text, /origin up \(pulp 3\.24\.0\) · disk 60\.0 GiB free of 100 GiB \(60%\) · last cleanup 3h ago: 3\.0 GiB reclaimed/);
});

test('metrics: degraded and storage per site; none for a site without a figure', async () => {
  const m = createMetrics({ countSyncsSince: NOW, now: () => NOW });
  m.recordStatus(doc());
  const text = await metricsText(m.registry);
  assert.match(text, /^pulpdist_site_degraded\{site="hub"\} 1$/m);
  assert.match(text, /^pulpdist_site_degraded\{site="origin"\} 0$/m);
  assert.match(text, new RegExp(`^pulpdist_site_storage_bytes\\{site="hub",kind="free"\\} ${GiB}$`, 'm'));
  assert.match(text, new RegExp(`^pulpdist_site_storage_bytes\\{site="origin",kind="total"\\} ${100 * GiB}$`, 'm'));
  assert.not.match(text, /pulpdist_site_storage_bytes\{site="leaf"/);
  assert.match(text, new RegExp(`^pulpdist_site_last_cleanup_reclaimed_bytes\\{site="origin"\\} ${3 * GiB}$`, 'm'));
  assert.match(text, /^pulpdist_site_last_cleanup_timestamp_seconds\{site="origin"\} 1795597200$/m);
  assert.not.match(text, /pulpdist_site_last_cleanup_reclaimed_bytes\{site="hub"/);
  assert.match(text, /^pulpdist_site_disk_low\{site="hub"\} 1$/m);
  assert.match(text, /^pulpdist_site_disk_low\{site="origin"\} 0$/m);
  assert.not.match(text, /pulpdist_site_disk_low\{site="leaf"/);
});

test('status files: health and diskLow, not the storage figures (they change with every write)', () => {
  const files = renderStatusFiles(doc());
  const hub = files.get('sites/hub.yaml')!;
  assert.match(hub, /^state: degraded$/m);
  assert.match(hub, /^diskLow: true$/m);
  assert.not.match(hub, /storage|free:/);
});

test('the document with health, storage, diskLow and lastCleanup is valid against schemas/status.schema.json, and the schema can fail', () => {
  const ajv = new Ajv.default({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'status.schema.json'), 'utf8')) as object);
  assert.ok(validate(doc()), JSON.stringify(validate.errors));
  const bad = doc() as unknown as { sites: Record<string, unknown>[] };
  bad.sites[0]!.state = 'sleepy';
  assert.not.ok(validate(bad));
  const noFigure = doc() as unknown as { sites: Record<string, unknown>[] };
  noFigure.sites[0]!.storage = { total: 1 };
  assert.not.ok(validate(noFigure));
});

test.run();
