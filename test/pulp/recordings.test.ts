/**
 * The client against answers a real Pulp 3.24 gave (shared/reference/real-pulp-3.24/), replayed
 * byte for byte by a local server: proof that it reads real Pulp's shapes (202 + task, created
 * resources listing a version and a publication, 409 on cancel, 401 and 400 bodies), not only
 * what our own embedded site produces. Each test names the recorded steps it expects, in order;
 * a request that matches none fails the test.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { createPulpClient } from '../../pulp/client.js';
import { isPulpConflict, PulpAuthError, PulpHttpError, PulpTaskError } from '../../pulp/errors.js';
import { siteAt, startFaultServer, type FaultServer } from './fault-server.js';
import type { LastSync } from '../../core/status.js';
import type { Task } from '../../pulp/types.js';
import { syncKey } from '../../reconcilers/names.js';
import type { PassEvent } from '../../reconcilers/pass-types.js';
import { syncFigures, syncPlacement } from '../../reconcilers/sync-task.js';

/** Copies of the steps used here, from shared/reference/real-pulp-3.24/ (same names and layout). */
const RECORDINGS = path.join(PACKAGE_ROOT, 'test', 'pulp', 'recorded');

interface Step {
  name: string;
  method: string;
  path: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

function loadStep(name: string): Step {
  const base = path.join(RECORDINGS, name);
  const curl = readFileSync(base + '.curl.txt', 'utf8').split('\n')[0]!;
  const method = /-X (\w+)/.exec(curl)?.[1] ?? 'GET';
  const url = curl.split(' ').filter((t) => t.startsWith('http')).pop()!.replace(/\\/g, '');
  const [statusLine, ...lines] = readFileSync(base + '.headers.txt', 'utf8').split(/\r?\n/).filter(Boolean);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    const key = l.slice(0, i).toLowerCase();
    // Hop-by-hop and length headers are the replaying server's own business.
    if (!['connection', 'content-length', 'date', 'transfer-encoding'].includes(key)) headers[key] = l.slice(i + 1).trim();
  }
  return { name, method, path: new URL(url).pathname, status: Number(statusLine!.split(' ')[1]), headers, body: readFileSync(base + '.body') };
}

/** Serve `steps` in order to requests with the same method and path; record what did not match. */
async function replay(stepNames: string[], fn: (s: FaultServer, steps: Step[]) => Promise<void>): Promise<void> {
  const steps = stepNames.map(loadStep);
  const queue = [...steps];
  const unmatched: string[] = [];
  const server = await startFaultServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    const i = queue.findIndex((s) => s.method === req.method && s.path === p);
    if (i === -1) {
      unmatched.push(`${req.method} ${req.url}`);
      res.writeHead(599);
      res.end();
      return;
    }
    const [step] = queue.splice(i, 1);
    res.writeHead(step!.status, { ...step!.headers, 'content-length': step!.body.length });
    res.end(step!.body);
  });
  try {
    await fn(server, steps);
    assert.equal(unmatched, [], 'requests no recorded step answers');
    assert.equal(queue.map((s) => s.name), [], 'recorded steps never asked for');
  } finally {
    await server.close();
  }
}

const json = (s: Step) => JSON.parse(s.body.toString('utf8'));
const client = (url: string) =>
  createPulpClient(siteAt(url, { auth: { username: 'admin', passwordEnv: 'P' } }), { env: { P: 'replay-secret' }, taskPollMinMs: 1, retries: 0 });

test('createDistribution follows the 202 task and reads the created distribution (24, 25, 26)', async () => {
  await replay(['24-create-dist1', '25-create-dist1-task-poll1', '26-get-dist1'], async (s, steps) => {
    const dist = await client(s.url).createDistribution({
      name: 'src-dist',
      base_path: 'src',
      publication: '/pulp/api/v3/publications/file/file/1557a7de-f0b7-421b-a6d1-c6a074697e10/',
    });
    assert.equal(dist, json(steps[2]!));
    assert.equal(JSON.parse(s.seen[0]!.body), JSON.parse(/-d (\S+)/.exec(readFileSync(`${RECORDINGS}/24-create-dist1.curl.txt`, 'utf8'))![1]!.replace(/\\/g, '')));
    assert.is(s.seen[0]!.headers.authorization, 'Basic ' + Buffer.from('admin:replay-secret').toString('base64'));
  });
});

test('createPublication finds the publication among created resources (21, 22, 23)', async () => {
  await replay(['21-publish-repo1', '22-publish-repo1-task-poll1', '23-get-pub1'], async (s, steps) => {
    const pub = await client(s.url).createPublication({ repository: '/pulp/api/v3/repositories/file/file/e051d685-9e21-4634-b377-f521b72c2ff2/' });
    assert.equal(pub, json(steps[2]!));
  });
});

test('a mirror sync returns the task listing the new version and its publication (13, 14)', async () => {
  await replay(['13-sync-repo1', '14-sync-repo1-task-poll1'], async (s) => {
    const task = await client(s.url).syncRepository('/pulp/api/v3/repositories/file/file/e051d685-9e21-4634-b377-f521b72c2ff2/', {
      remote: '/pulp/api/v3/remotes/file/file/895478e0-635f-46ed-8e86-053c88b9c0fe/',
      mirror: true,
    });
    assert.is(task.state, 'completed');
    assert.equal(task.created_resources, [
      '/pulp/api/v3/repositories/file/file/e051d685-9e21-4634-b377-f521b72c2ff2/versions/1/',
      '/pulp/api/v3/publications/file/file/808d5871-6c6b-4c40-81d4-acd71ebc189b/',
    ]);
  });
});

test('a sync that failed upstream is PulpTaskError with real Pulp\'s description (extra/03, extra/04)', async () => {
  await replay(['extra/03-sync-404', 'extra/04-sync-404-task-poll1'], async (s) => {
    const err = await client(s.url)
      .syncRepository('/pulp/api/v3/repositories/file/file/684538ff-6a44-408e-84d0-b6a8a335ff22/', { remote: '/pulp/api/v3/remotes/file/file/6da8a3cf-2aa5-4b9d-9fd2-ea61248bc554/' })
      .then(() => null, (e: unknown) => e);
    assert.instance(err, PulpTaskError);
    assert.is((err as PulpTaskError).description, "404, message='File not found', url=URL('http://127.0.0.1:8000/missing/PULP_MANIFEST')");
    assert.not.ok(JSON.stringify(err).includes('traceback'));
  });
});

test('cancelling a finished task answers it unchanged from the 409 (extra/31)', async () => {
  await replay(['extra/31-cancel-finished-task'], async (s) => {
    const task = await client(s.url).cancelTask('/pulp/api/v3/tasks/e1b89822-bc6f-4941-98dc-20baaaf98afb/');
    assert.is(task.state, 'completed');
    assert.equal(JSON.parse(s.seen[0]!.body), { state: 'canceled' });
  });
});

test('real 401 and 400 bodies become PulpAuthError and PulpHttpError (03, 06)', async () => {
  await replay(['03-list-repos-badpass', '06-create-repo1-duplicate'], async (s) => {
    const c = client(s.url);
    const auth = await c.listRepositories().then(() => null, (e: unknown) => e);
    assert.instance(auth, PulpAuthError);
    assert.match((auth as Error).message, /Invalid username\/password\..*environment variable P /);
    const dup = await c.createRepository({ name: 'src-repo' }).then(() => null, (e: unknown) => e);
    assert.instance(dup, PulpHttpError);
    assert.is((dup as PulpHttpError).status, 400);
    assert.equal((dup as PulpHttpError).body, { name: ['This field must be unique.'] });
    assert.ok(isPulpConflict(dup));
  });
});

test('status without credentials and the served manifest with its ETag (01, 29)', async () => {
  await replay(['01-status-noauth', '29-content-dist1-manifest'], async (s, steps) => {
    const c = createPulpClient(siteAt(s.url), { retries: 0 });
    const status = await c.status();
    assert.equal(status.versions.map((v) => v.component), ['core', 'file']);
    const m = await c.getPublishedManifest('src');
    assert.equal(m, { text: steps[1]!.body.toString('utf8'), etag: '"18eb0b23f09ee741-e5"' });
  });
});

test.run();

test('a mirror sync on real Pulp (files only in its reports) has bytes: the content-addressed estimate (extra4/03-05)', async () => {
  // Real Pulp reports downloaded files (`sync.downloading.artifacts`, total null), never bytes.
  const estimate = { files: 10, bytes: 4_143_448 + 716 };
  await replay(['extra4/03-sync-mirror', 'extra4/04-sync-mirror-task-poll1', 'extra4/05-sync-mirror-task-poll2'], async (s) => {
    const events: PassEvent[] = [];
    const syncs = new Map<string, LastSync>();
    const version = await syncPlacement(
      client(s.url),
      { mirror: 'rec4', site: 'r1', estimate },
      { repository: '/pulp/api/v3/repositories/file/file/e43274a1-4688-4fc7-b06e-d2a7b70fc60b/', remote: '/pulp/api/v3/remotes/file/file/ba3e86cb-c312-4d2d-9914-4fe8540041e6/' },
      { now: () => new Date(), onEvent: (e) => events.push(e) },
      syncs,
      AbortSignal.timeout(10_000),
    );
    assert.is(version, '/pulp/api/v3/repositories/file/file/e43274a1-4688-4fc7-b06e-d2a7b70fc60b/versions/1/');
    const progress = events.filter((e) => e.type === 'sync-progress');
    assert.ok(progress.length >= 2, 'a report per poll and the final one');
    for (const e of progress) assert.equal({ files: e.doneFiles, totalFiles: e.totalFiles, bytes: e.doneBytes, totalBytes: e.totalBytes }, { files: 10, totalFiles: 10, bytes: estimate.bytes, totalBytes: estimate.bytes });
    const last = syncs.get(syncKey('rec4', 'r1'));
    assert.equal({ result: last?.result, bytes: last?.downloadedBytes, files: last?.downloadedFiles }, { result: 'completed', bytes: estimate.bytes, files: 10 });
  });
});

test('syncFigures: bytes done are the site\'s report where it sends one, else the estimate\'s share of the files done', () => {
  const running = json(loadStep('extra4/04-sync-mirror-task-poll1')) as Task;
  const midway: Task = { ...running, progress_reports: running.progress_reports!.map((p) => (p.code === 'sync.downloading.artifacts' ? { ...p, done: 4, state: 'running' } : p)) };
  assert.equal(syncFigures(midway, { files: 10, bytes: 1000 }), { doneFiles: 4, totalFiles: 10, doneBytes: 400, totalBytes: 1000 });
  // Without an estimate nothing is guessed.
  assert.equal(syncFigures(midway), { doneFiles: 4, totalFiles: null, doneBytes: 0, totalBytes: null });
  // More files than estimated (the site lost blobs it had): totals grow to what was done.
  assert.equal(syncFigures(running, { files: 4, bytes: 1000 }), { doneFiles: 10, totalFiles: 10, doneBytes: 1000, totalBytes: 1000 });
  // The embedded site's byte report wins over the estimate's share.
  const embedded: Task = { ...midway, progress_reports: [...midway.progress_reports!, { message: 'Downloading Bytes', code: 'pulpdist.downloading.bytes', state: 'running', total: null, done: 1234, suffix: 'bytes' }] };
  assert.equal(syncFigures(embedded, { files: 10, bytes: 1000 }), { doneFiles: 4, totalFiles: 10, doneBytes: 1234, totalBytes: 1234 });
});
