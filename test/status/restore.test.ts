/** Reading back the status files (status/restore.ts) and seeding a pass memory with them (controller/history.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import type { StatusDocument } from '../../core/status.js';
import { seedMemory } from '../../controller/history.js';
import { createPassMemory } from '../../reconcilers/pass.js';
import { syncKey } from '../../reconcilers/names.js';
import { renderStatusFiles } from '../../status/files.js';
import { parseStatusFiles } from '../../status/restore.js';

const COMMIT = 'a'.repeat(40);
const DIGEST = 'b'.repeat(64);
const doc: StatusDocument = {
  controller: { version: '0.1.0', startedAt: '2026-12-01T00:00:00.000Z', observedCommit: COMMIT, specCommit: COMMIT, specErrors: [], lastPass: null },
  sites: [{ name: 'origin', url: 'http://127.0.0.1:1', reachable: true, pulpVersion: '3.24.1', lastSeen: '2026-12-01T10:00:00.000Z', message: '' }],
  mirrors: [
    {
      name: 'tools',
      origin: 'origin',
      treeDigest: DIGEST,
      sites: [
        {
          site: 'origin', state: 'Synced', version: 3, treeDigest: DIGEST, files: 5, bytes: 1500, message: '',
          lastSync: { startedAt: '2026-12-01T09:59:00.000Z', finishedAt: '2026-12-01T10:00:00.000Z', result: 'completed', downloadedBytes: 1500, downloadedFiles: 5, task: '/pulp/api/v3/tasks/1/' },
        },
        {
          site: 'leaf', state: 'Failed', version: 2, treeDigest: null, files: null, bytes: null, message: 'sync failed',
          lastSync: { startedAt: '2026-12-01T10:01:00.000Z', finishedAt: '2026-12-01T10:02:00.000Z', result: 'failed', downloadedBytes: 0, downloadedFiles: 0, task: null },
        },
      ],
    },
  ],
};

test('the files a status commit holds read back as the document said them', () => {
  const r = parseStatusFiles(renderStatusFiles(doc));
  assert.is(r.observedCommit, COMMIT);
  assert.equal(r.mirrors, doc.mirrors);
  assert.equal(r.sites, doc.sites);
  assert.equal(r.skipped, []);
});

test('a hand-edited file that is not in our shape is skipped, named; a bad field is dropped, not trusted', () => {
  const files = renderStatusFiles(doc);
  files.set('mirrors/broken.yaml', 'name: broken\nsites: nope\n');
  files.set('mirrors/garbage.yaml', ': : :\n\t- [');
  const edited = YAML.parse(files.get('mirrors/tools.yaml')!) as { sites: { state: string; lastSync: { finishedAt: string; downloadedBytes: unknown } }[] };
  edited.sites[0]!.lastSync.downloadedBytes = -4;
  files.set('mirrors/tools.yaml', YAML.stringify(edited));
  files.set('controller.yaml', 'observedCommit: "not a commit"\n');
  const r = parseStatusFiles(files);
  assert.equal(r.skipped, ['mirrors/broken.yaml', 'mirrors/garbage.yaml']);
  assert.is(r.observedCommit, null);
  assert.is(r.mirrors[0]!.sites[0]!.lastSync!.downloadedBytes, null);
  edited.sites[0]!.state = 'Great';
  files.set('mirrors/tools.yaml', YAML.stringify(edited));
  assert.equal(parseStatusFiles(files).skipped, ['mirrors/broken.yaml', 'mirrors/garbage.yaml', 'mirrors/tools.yaml']);
});

test('seeding: every last sync; the schedule clock only from a completed one; what memory holds wins', () => {
  const memory = createPassMemory();
  const newer = { startedAt: null, finishedAt: '2026-12-02T00:00:00.000Z', result: 'completed' as const, downloadedBytes: 1, downloadedFiles: 1, task: null };
  memory.lastSync.set(syncKey('other', 'origin'), newer);
  const n = seedMemory(memory, { mirrors: [...doc.mirrors, { name: 'other', origin: 'origin', treeDigest: null, sites: [{ ...doc.mirrors[0]!.sites[0]!, site: 'origin' }] }], sites: doc.sites });
  assert.is(n, 2);
  assert.equal(memory.lastSync.get(syncKey('tools', 'leaf')), doc.mirrors[0]!.sites[1]!.lastSync);
  assert.equal(memory.lastSyncAt.get(syncKey('tools', 'origin')), new Date('2026-12-01T10:00:00.000Z'));
  assert.is(memory.lastSyncAt.has(syncKey('tools', 'leaf')), false, 'a failed sync does not restart the schedule');
  assert.is(memory.lastSync.get(syncKey('other', 'origin')), newer);
  assert.is(memory.lastSeen.get('origin'), '2026-12-01T10:00:00.000Z');
});

test.run();
