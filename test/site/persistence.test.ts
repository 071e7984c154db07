/**
 * The store survives restarts and crashes: a clean restart keeps every object and every byte; a
 * SIGKILL right after an acknowledged create keeps it; a SIGKILL in the middle of a sync leaves the
 * old version, no temp file, and the task marked failed; a torn journal line is dropped.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createFsFlusher } from '../../site/flush.js';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, runTask, startSite, waitTask, type RunningSite } from '../../testkit/site.js';
import { randomFiles, sha256, tempFiles, writeTree, type TreeFile } from '../../testkit/tree.js';

let tmp: string;
let tree: TreeServer;
let site: RunningSite;
let files: TreeFile[];
let repo: string;
let remote: string;

const LISTS = [
  '/pulp/api/v3/repositories/file/file/',
  '/pulp/api/v3/remotes/file/file/',
  '/pulp/api/v3/publications/file/file/',
  '/pulp/api/v3/distributions/file/file/',
  '/pulp/api/v3/content/file/files/',
  '/pulp/api/v3/artifacts/',
];

async function snapshot(): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const l of LISTS) {
    const r = await call(site, 'GET', l);
    // base_url follows the (new) port; everything else must be identical.
    out.push(JSON.parse(r.text.replaceAll(site.url, 'ORIGIN')));
  }
  out.push((await call(site, 'GET', `${repo}versions/`)).body);
  return out;
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-persist-'));
  files = randomFiles(20, 1500);
  await writeTree(tmp, files);
  tree = await serveTree(tmp);
  site = await startSite();
  repo = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'r', autopublish: true, retain_repo_versions: 5, pulp_labels: { managed_by: 'pulpdist' } })).body.pulp_href;
  remote = (await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'm', url: `${tree.url}/PULP_MANIFEST`, max_retries: 0 })).body.pulp_href;
  assert.is((await runTask(site, 'POST', `${repo}sync/`, { remote, mirror: true })).state, 'completed');
  assert.is((await runTask(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'd', base_path: 'p/q', repository: repo })).state, 'completed');
});

test.after(async () => {
  await site?.stop();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('a restart keeps every object and serves the same bytes', async () => {
  const before = await snapshot();
  const tasksBefore = (await call(site, 'GET', '/pulp/api/v3/tasks/')).body.count;
  await site.restart();
  assert.equal(await snapshot(), before);
  assert.is((await call(site, 'GET', '/pulp/api/v3/tasks/')).body.count, tasksBefore);
  for (const f of files.slice(0, 5)) {
    const got = Buffer.from(await (await fetch(`${site.url}/pulp/content/p/q/${f.path}`)).arrayBuffer());
    assert.is(sha256(got), sha256(f.bytes));
  }
});

test('SIGKILL right after an acknowledged create keeps the object', async () => {
  const r = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'acked', url: 'http://127.0.0.1:9/PULP_MANIFEST' });
  assert.is(r.status, 201);
  await site.kill();
  await site.restart();
  const got = await call(site, 'GET', r.body.pulp_href);
  assert.is(got.status, 200);
  assert.is(got.body.name, 'acked');
});

test('SIGKILL in the middle of a sync: old version kept, no temp file, task failed, next sync works', async () => {
  const extra = randomFiles(3, 200_000, 'big');
  await writeTree(tmp, [...files, ...extra]);
  tree.setFault(extra[2]!.path, { kind: 'delay', ms: 60_000 });
  const r = await call(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  const end = Date.now() + 20_000;
  while (!tree.requests().includes(extra[2]!.path)) {
    if (Date.now() > end) throw new Error('the sync never reached the slow file');
    await new Promise((res) => setTimeout(res, 20));
  }
  await site.kill();
  tree.setFault(extra[2]!.path, null);
  await site.restart();
  const t = (await call(site, 'GET', r.body.task)).body;
  assert.is(t.state, 'failed');
  assert.equal(t.error, { reason: 'Worker has gone missing.' });
  assert.equal(t.created_resources, []);
  assert.is((await call(site, 'GET', repo)).body.latest_version_href, `${repo}versions/1/`);
  assert.equal(await tempFiles(site.dataDir), []);
  const again = await runTask(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  assert.is(again.state, 'completed');
  assert.is((await call(site, 'GET', repo)).body.latest_version_href, `${repo}versions/2/`);
  const got = Buffer.from(await (await fetch(`${site.url}/pulp/content/p/q/${extra[2]!.path}`)).arrayBuffer());
  assert.is(sha256(got), sha256(extra[2]!.bytes));
});

test('SIGTERM in the middle of a sync: exit 0 within the grace period, task failed, nothing half-made', async () => {
  const extra = randomFiles(1, 1000, 'term')[0]!;
  await writeTree(tmp, [...files, extra]);
  tree.setFault(extra.path, { kind: 'delay', ms: 60_000 });
  const latest = (await call(site, 'GET', repo)).body.latest_version_href;
  const r = await call(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  const end = Date.now() + 20_000;
  while (!tree.requests().includes(extra.path)) {
    if (Date.now() > end) throw new Error('the sync never reached the slow file');
    await new Promise((res) => setTimeout(res, 20));
  }
  await site.restart();
  tree.setFault(extra.path, null);
  assert.is(site.exitCode(), null, 'running again');
  const t = (await call(site, 'GET', r.body.task)).body;
  assert.is(t.state, 'failed');
  assert.equal(t.error, { reason: 'Aborted during worker shutdown.' });
  assert.is((await call(site, 'GET', repo)).body.latest_version_href, latest);
  assert.equal(await tempFiles(site.dataDir), []);
  assert.match(site.stderr(), /stopping .*signal=SIGTERM/);
  await writeTree(tmp, files);
});

test('durability: syncfs where `sync -f` works; without it (no coreutils on PATH) a warning, and every blob fdatasynced one by one', async () => {
  assert.not.match(site.stderr(), /syncfs unavailable/);
  const flusher = createFsFlusher(path.join(tmp, 'no-such-dir'));
  assert.is(await flusher.probe(), false);
  const err = await flusher.flush().then(() => null, (e: Error) => e);
  // sync's own message, on one line (the shell runs with PATH only: the C locale's words).
  assert.match(err?.message ?? '', /^syncfs of .*no-such-dir failed: sync: .*no-such-dir.*: No such file or directory$/);
  flusher.close();

  const noPath = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-nopath-'));
  const plain = await startSite({ env: { PATH: noPath } });
  try {
    assert.match(plain.stderr(), /syncfs unavailable .*durability=fdatasync/);
    const r2 = (await call(plain, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'r' })).body.pulp_href;
    const m2 = (await call(plain, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'm', url: `${tree.url}/PULP_MANIFEST` })).body.pulp_href;
    assert.is((await runTask(plain, 'POST', `${r2}sync/`, { remote: m2, mirror: true })).state, 'completed');
    const stored = (await call(plain, 'GET', '/pulp/api/v3/artifacts/?limit=1000')).body.results as { sha256: string }[];
    assert.ok(stored.length >= files.length);
    for (const a of stored) assert.is(sha256(await readFile(path.join(plain.dataDir, 'artifacts', a.sha256.slice(0, 2), a.sha256.slice(2)))), a.sha256);
    assert.equal(await tempFiles(plain.dataDir), []);
  } finally {
    await plain.stop();
    await rm(noPath, { recursive: true, force: true });
  }
});

test('a torn last journal line (a crash mid-append) is dropped on start', async () => {
  const before = await snapshot();
  await site.kill();
  await appendFile(path.join(site.dataDir, 'metadata', 'journal.jsonl'), '[{"put":"repositories","v":{"id":"torn');
  // And a half-written blob, as a crash mid-download leaves one.
  await mkdir(path.join(site.dataDir, 'artifacts', 'ab'), { recursive: true });
  await writeFile(path.join(site.dataDir, 'artifacts', 'ab', '.tmp-planted'), 'partial');
  await site.restart();
  assert.equal(await snapshot(), before);
  assert.equal(await tempFiles(site.dataDir), []);
  assert.match(site.stderr(), /removed temp files a previous run left behind .*count=1/);
  // The store still takes writes after the repair.
  const r = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'after-torn' });
  assert.is(r.status, 201);
});

test('a waiting task at a crash is failed too, and the site keeps working', async () => {
  const extra = randomFiles(1, 1000, 'gate')[0]!;
  await writeTree(tmp, [...files, extra]);
  tree.setFault(extra.path, { kind: 'delay', ms: 60_000 });
  const a = await call(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  const b = await call(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  assert.is((await call(site, 'GET', b.body.task)).body.state, 'waiting');
  await site.kill();
  tree.setFault(extra.path, null);
  await site.restart();
  for (const h of [a.body.task, b.body.task]) assert.is((await call(site, 'GET', h)).body.state, 'failed');
  const c = await waitTask(site, (await call(site, 'POST', `${repo}sync/`, { remote, mirror: true })).body.task);
  assert.is(c.state, 'completed');
});

test.run();
