/**
 * The last successful sync of a placement outlives a failed sync after it and a restart: in the
 * document (`lastSuccessAt`) and in pulpdist_last_sync_success_timestamp_seconds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LoopState } from '../../controller/state.js';
import type { LastSync, MirrorStatus } from '../../core/status.js';
import type { PassResult } from '../../reconcilers/pass-types.js';
import type { SpecSet } from '../../spec/types.js';
import { renderStatusFiles } from '../../status/files.js';
import { parseStatusFiles } from '../../status/restore.js';
import { createMetrics } from '../../web/metrics.js';

const specs: SpecSet = {
  sites: [{ name: 'origin', pulp: { url: 'http://127.0.0.1:9' } }, { name: 'leaf', pulp: { url: 'http://127.0.0.1:10' }, upstream: 'origin' }] as SpecSet['sites'],
  mirrors: [{ name: 'a', origin: 'origin', sites: ['origin', 'leaf'] }] as SpecSet['mirrors'],
};
const view = { specCommit: 'c'.repeat(40), problems: [], valid: { commit: 'c'.repeat(40), specs } };
const sync = (finishedAt: string, result: LastSync['result']): LastSync => ({ startedAt: finishedAt, finishedAt, result, downloadedBytes: 0, downloadedFiles: 0, task: null });
const mirrors = (leaf: LastSync | null): MirrorStatus[] => [{
  name: 'a', origin: 'origin', treeDigest: null,
  sites: [
    { site: 'origin', state: 'Synced', version: 1, treeDigest: null, files: 1, bytes: 1, lastSync: sync('2026-12-05T08:00:00.000Z', 'completed'), message: '' },
    { site: 'leaf', state: leaf?.result === 'failed' ? 'Failed' : 'Synced', version: 1, treeDigest: null, files: 1, bytes: 1, lastSync: leaf, message: '' },
  ],
}];
const pass = (m: MirrorStatus[]): PassResult => ({ converged: true, changes: 0, failures: [], nextDueAt: null, sites: [], mirrors: m });
const leafOf = (s: LoopState) => s.doc.mirrors[0]!.sites.find((c) => c.site === 'leaf')!;

async function gauge(doc: LoopState['doc'], site: string): Promise<number | undefined> {
  // A fresh registry, as after a restart: only the document can say when the last success was.
  const metrics = createMetrics({ countSyncsSince: new Date('2026-12-06T00:00:00Z') });
  metrics.recordStatus(doc);
  const text = await metrics.registry.metrics();
  const m = new RegExp(`^pulpdist_last_sync_success_timestamp_seconds\\{mirror="a",site="${site}"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

test('a failed sync after a success: lastSuccessAt keeps the success; the restored document and a fresh registry still show it', async () => {
  const s = new LoopState({ version: '0', startedAt: new Date('2026-12-05T00:00:00Z'), specs: view });
  s.pass = pass(mirrors(sync('2026-12-05T09:00:00.000Z', 'completed')));
  s.publish();
  assert.is(leafOf(s).lastSuccessAt, '2026-12-05T09:00:00.000Z');
  s.pass = pass(mirrors(sync('2026-12-05T10:00:00.000Z', 'failed')));
  s.publish();
  assert.is(leafOf(s).lastSync?.result, 'failed');
  assert.is(leafOf(s).lastSuccessAt, '2026-12-05T09:00:00.000Z', 'the success before the failure');

  // Restart: the status commit is read back into a new process's state.
  const restored = parseStatusFiles(renderStatusFiles(s.doc));
  const next = new LoopState({ version: '0', startedAt: new Date('2026-12-06T00:00:00Z'), specs: view });
  next.restore({ mirrors: restored.mirrors, sites: restored.sites });
  next.publish();
  assert.is(leafOf(next).lastSuccessAt, '2026-12-05T09:00:00.000Z', 'before the first pass');
  next.pass = pass(mirrors(sync('2026-12-06T01:00:00.000Z', 'failed')));
  next.publish();
  assert.is(leafOf(next).lastSuccessAt, '2026-12-05T09:00:00.000Z', 'after a pass whose sync failed again');
  assert.is(await gauge(next.doc, 'leaf'), Date.parse('2026-12-05T09:00:00.000Z') / 1000);
  assert.is(await gauge(next.doc, 'origin'), Date.parse('2026-12-05T08:00:00.000Z') / 1000);
});

test('never synced: no lastSuccessAt and no gauge', async () => {
  const s = new LoopState({ version: '0', startedAt: new Date('2026-12-05T00:00:00Z'), specs: view });
  s.pass = pass(mirrors(null));
  s.publish();
  assert.is(leafOf(s).lastSuccessAt, null);
  assert.is(await gauge(s.doc, 'leaf'), undefined);
});

test.run();
