/**
 * Syncs that must fail without a trace: a wrong digest, a truncated body, a connection closed
 * mid-body, a path that escapes the tree, a bad manifest line; and tasks that are canceled, queued
 * behind each other or run in parallel. After each failure the repository still has its old
 * version, no new artifact is stored and no temp file is left.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, runTask, startSite, waitTask, type RunningSite } from '../../testkit/site.js';
import { randomFiles, sha256, tempFiles, writeTree, type TreeFile } from '../../testkit/tree.js';

let tmp: string;
let tree: TreeServer;
let site: RunningSite;
let base: TreeFile[];
let repo: string;
let remote: string;

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function pollUntil<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-faults-'));
  base = randomFiles(5, 2000);
  await writeTree(tmp, base);
  tree = await serveTree(tmp);
  site = await startSite();
  repo = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'r' })).body.pulp_href;
  remote = (await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'm', url: `${tree.url}/PULP_MANIFEST`, max_retries: 1 })).body.pulp_href;
  const t = await runTask(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  assert.is(t.state, 'completed');
});

test.after(async () => {
  await site?.stop();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

async function latestVersion(): Promise<string> {
  return (await call(site, 'GET', repo)).body.latest_version_href;
}

/** Add one new file whose download will misbehave, sync, and check that nothing changed. */
async function failingSync(fault: Parameters<TreeServer['setFault']>[1], expect: RegExp): Promise<void> {
  const extra = randomFiles(1, 5000, `bad${Math.random().toString(36).slice(2, 6)}`)[0]!;
  await writeTree(tmp, [...base, extra]);
  tree.setFault(extra.path, fault);
  const latest = await latestVersion();
  const t = await runTask(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  tree.setFault(extra.path, null);
  assert.is(t.state, 'failed');
  assert.match(t.error.description, expect);
  assert.equal(t.created_resources, []);
  assert.is(t.progress_reports.find((p: any) => p.code === 'sync.downloading.artifacts').state, 'failed');
  assert.is(t.progress_reports.find((p: any) => p.code === 'associating.content').state, 'canceled');
  assert.is(await latestVersion(), latest);
  const h = sha256(extra.bytes);
  assert.not.ok(await exists(path.join(site.dataDir, 'artifacts', h.slice(0, 2), h.slice(2))), 'no artifact of the bad file');
  assert.equal(await tempFiles(site.dataDir), [], 'no temp file left');
  const arts = await call(site, 'GET', `/pulp/api/v3/artifacts/?sha256=${h}`);
  assert.is(arts.body.count, 0);
  await writeTree(tmp, base);
}

test('a wrong digest fails the task and keeps the old version', async () => {
  await failingSync({ kind: 'wrong-bytes' }, /failed validation due to checksum\. Expected '[0-9a-f]{64}', Actual '[0-9a-f]{64}'/);
});

test('a truncated body fails the task', async () => {
  await failingSync({ kind: 'truncate' }, /failed validation due to checksum/);
});

test('a connection closed mid-body fails the task', async () => {
  await failingSync({ kind: 'close-mid-body' }, /Response payload is not completed/);
});

test('an upstream 404 for a listed file fails at once', async () => {
  await failingSync({ kind: 'status', status: 404 }, /^404, message='Not Found', url=URL\('http:\/\/127\.0\.0\.1:\d+\/d0\/bad\w+0\.bin'\)$/);
});

test('redirects are followed (as aiohttp does), but never to a non-HTTP URL', async () => {
  const extra = randomFiles(1, 700, 'moved')[0]!;
  await writeTree(tmp, [...base, extra]);
  const { rename } = await import('node:fs/promises');
  await rename(path.join(tmp, extra.path), path.join(tmp, 'elsewhere.bin'));
  tree.setFault(extra.path, { kind: 'redirect', location: '/elsewhere.bin' });
  const ok = await runTask(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  assert.is(ok.state, 'completed', JSON.stringify(ok.error));
  assert.equal(ok.created_resources.slice(0, 1), [await latestVersion()]);
  const other = randomFiles(1, 700, 'sneaky')[0]!;
  await writeTree(tmp, [...base, extra, other]);
  tree.setFault(other.path, { kind: 'redirect', location: 'file:///etc/passwd' });
  const bad = await runTask(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  tree.setFault(extra.path, null);
  tree.setFault(other.path, null);
  assert.is(bad.state, 'failed');
  assert.match(bad.error.description, /redirect to a non-HTTP URL refused/);
  // Back to the base tree, as the other tests expect version numbers from here.
  await writeTree(tmp, base);
  assert.is((await runTask(site, 'POST', `${repo}sync/`, { remote, mirror: true })).state, 'completed');
});

test('a path that escapes the tree fails at parsing, naming the line, and nothing is fetched', async () => {
  const text = base.map((f) => `${f.path},${sha256(f.bytes)},${f.bytes.length}\n`).join('') + `../escape.txt,${'a'.repeat(64)},3\n`;
  await writeTree(tmp, base, text);
  const latest = await latestVersion();
  const before = tree.requests().length;
  const t = await runTask(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  assert.is(t.state, 'failed');
  assert.match(t.error.description, /failed on line:6\. .*"\.\." segment/);
  assert.is(t.progress_reports.find((p: any) => p.code === 'sync.parsing.metadata').state, 'failed');
  assert.equal(tree.requests().slice(before), ['PULP_MANIFEST']);
  assert.not.ok(await exists(path.join(path.dirname(site.dataDir), 'escape.txt')));
  assert.is(await latestVersion(), latest);
  await writeTree(tmp, base);
});

test('cancel a running sync: 200 canceling, then canceled, no version, no created resources', async () => {
  const extra = randomFiles(1, 1000, 'slow')[0]!;
  await writeTree(tmp, [...base, extra]);
  tree.setFault(extra.path, { kind: 'delay', ms: 30_000 });
  const latest = await latestVersion();
  const r = await call(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  await pollUntil('the download to start', async () => (tree.requests().includes(extra.path) ? true : undefined));
  const running = await call(site, 'GET', r.body.task);
  assert.is(running.body.state, 'running');
  assert.equal(running.body.created_resources, [null]);
  const c = await call(site, 'PATCH', r.body.task, { state: 'canceled' });
  assert.is(c.status, 200);
  assert.is(c.body.state, 'canceling');
  const t = await waitTask(site, r.body.task);
  tree.setFault(extra.path, null);
  assert.is(t.state, 'canceled');
  assert.is(t.error, null);
  assert.equal(t.created_resources, []);
  assert.is(await latestVersion(), latest);
  assert.equal(await tempFiles(site.dataDir), []);
  await writeTree(tmp, base);
});

test('two syncs of one repository run in turn; syncs of two repositories run together', async () => {
  const extra = randomFiles(1, 1000, 'gate')[0]!;
  await writeTree(tmp, [...base, extra]);
  tree.setFault(extra.path, { kind: 'delay', ms: 1500 });
  const repo2 = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'r2' })).body.pulp_href;
  const n = Number(/versions\/(\d+)\/$/.exec(await latestVersion())![1]);
  const a = await call(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  const b = await call(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  const c = await call(site, 'POST', `${repo2}sync/`, { remote, mirror: true });
  await pollUntil('both repositories syncing', async () => {
    const [ta, tc] = [await call(site, 'GET', a.body.task), await call(site, 'GET', c.body.task)];
    return ta.body.state === 'running' && tc.body.state === 'running' ? true : undefined;
  });
  const queued = await call(site, 'GET', b.body.task);
  assert.is(queued.body.state, 'waiting');
  assert.is(queued.body.worker, null);
  assert.is(queued.body.started_at, null);
  assert.equal(queued.body.progress_reports, []);
  const ta = await waitTask(site, a.body.task);
  const tb = await waitTask(site, b.body.task);
  const tc = await waitTask(site, c.body.task);
  tree.setFault(extra.path, null);
  assert.is(ta.state, 'completed');
  assert.is(tc.state, 'completed');
  assert.ok(tb.started_at >= ta.finished_at, 'the second sync started after the first finished');
  assert.equal(tb.created_resources, [], 'the queued sync found nothing new');
  assert.is(await latestVersion(), `${repo}versions/${n + 1}/`);
  await writeTree(tmp, base);
});

test.run();
