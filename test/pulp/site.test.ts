/**
 * The client against a real embedded site (`pulpdist site` child process): CRUD and task
 * following for every kind, paging, label filters, task failure, auth, abort and timeout.
 * The upstream tree is a temp dir read through a file:// remote under --allowed-import-path.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import path from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { createPulpClient, type PulpClientOptions } from '../../pulp/client.js';
import { isPulpConflict, isPulpNotFound, PulpAuthError, PulpHttpError, PulpTaskError, PulpTaskTimeoutError } from '../../pulp/errors.js';
import type { PulpClient, Task } from '../../pulp/types.js';
import { tempDir } from '../../testkit/cli.js';
import { startSite, type RunningSite } from '../../testkit/site.js';
import { rejection, siteAt } from './fault-server.js';

const PASSWORD = 'site-test-password-7f3a';
const ENV = { PULPDIST_TEST_SITE_PASSWORD: PASSWORD };
const LABELS = { managed_by: 'pulpdist', pulpdist_mirror: 'client_test' };
const FAST: PulpClientOptions = { taskPollMinMs: 10, taskPollMaxMs: 100, retryBaseMs: 10, retryMaxMs: 100, env: ENV };

let site: RunningSite;
let tmp: { dir: string; cleanup: () => Promise<void> };
let tree: string;
let manifestText: string;
let client: PulpClient;

async function writeTree(dir: string, files: Record<string, string | Buffer>, corrupt: string[] = []): Promise<string> {
  const lines: string[] = [];
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
    const digest = corrupt.includes(rel) ? '0'.repeat(64) : createHash('sha256').update(content).digest('hex');
    lines.push(`${rel},${digest},${Buffer.byteLength(content)}\n`);
  }
  const text = lines.join('');
  await writeFile(path.join(dir, 'PULP_MANIFEST'), text);
  return text;
}

function siteSpec(extra: Parameters<typeof siteAt>[1] = {}) {
  return siteAt(site.url, { auth: { username: 'admin', passwordEnv: 'PULPDIST_TEST_SITE_PASSWORD' }, ...extra }, 'local');
}

/** Poll until `check` holds, or fail after `ms`. */
async function eventually<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await delay(20);
  }
}

test.before(async () => {
  tmp = await tempDir('pulpdist-client-');
  tree = path.join(tmp.dir, 'tree');
  manifestText = await writeTree(tree, { 'a.txt': 'alpha\n', 'sub/b.bin': Buffer.alloc(2048, 7), 'sub/deeper/c.txt': 'gamma' });
  site = await startSite({ dataDir: path.join(tmp.dir, 'data'), username: 'admin', password: PASSWORD, allowedImportPaths: [tmp.dir] });
  client = createPulpClient(siteSpec(), FAST);
});

test.after(async () => {
  await site?.stop();
  await tmp?.cleanup();
});

test('status names the embedded site', async () => {
  const status = await client.status();
  assert.ok(status.versions.some((v) => v.component === 'pulpdist-site'), JSON.stringify(status.versions));
});

test('repositories: create, filter by name and label, update through a task, delete', async () => {
  const repo = await client.createRepository({ name: 'pulpdist.crud', pulp_labels: LABELS, retain_repo_versions: 3, autopublish: true });
  assert.is(repo.name, 'pulpdist.crud');
  assert.equal(repo.pulp_labels, LABELS);
  assert.match(repo.pulp_href, /^\/pulp\/api\/v3\/repositories\/file\/file\/[0-9a-f-]{36}\/$/);
  const other = await client.createRepository({ name: 'unmanaged.crud' });

  assert.equal((await client.listRepositories({ name: 'pulpdist.crud' })).map((r) => r.pulp_href), [repo.pulp_href]);
  assert.equal(
    (await client.listRepositories({ name__in: ['pulpdist.crud', 'unmanaged.crud'] })).map((r) => r.name).sort(),
    ['pulpdist.crud', 'unmanaged.crud'],
  );
  const labelled = await client.listRepositories({ pulp_label_select: 'managed_by=pulpdist,pulpdist_mirror=client_test' });
  assert.equal(labelled.map((r) => r.name), ['pulpdist.crud']);

  const task = await client.updateRepository(repo.pulp_href, { description: 'patched', retain_repo_versions: 5 });
  assert.is(task.state, 'completed');
  const [after] = await client.listRepositories({ name: 'pulpdist.crud' });
  assert.is(after!.description, 'patched');
  assert.is(after!.retain_repo_versions, 5);

  const dup = await rejection(client.createRepository({ name: 'pulpdist.crud' }));
  assert.instance(dup, PulpHttpError);
  assert.is((dup as PulpHttpError).status, 400);
  assert.equal((dup as PulpHttpError).body, { name: ['This field must be unique.'] });

  assert.ok(isPulpConflict(dup));

  const deleted = await client.deleteRepository(repo.pulp_href);
  assert.is(deleted.result, 'deleted');
  assert.is(deleted.result === 'deleted' && deleted.task.state, 'completed');
  // Deleted again (someone was first): a 404, which counts as deleted.
  assert.equal(await client.deleteRepository(repo.pulp_href), { result: 'already-gone' });
  await client.deleteRepository(other.pulp_href);
  assert.equal(await client.listRepositories({ name__in: ['pulpdist.crud', 'unmanaged.crud'] }), []);
  const gone = await rejection(client.getVersion(repo.latest_version_href));
  assert.instance(gone, PulpHttpError);
  assert.is((gone as PulpHttpError).status, 404);
  assert.equal((gone as PulpHttpError).body, { detail: 'Not found.' });
  assert.ok(isPulpNotFound(gone));
  assert.not.ok(isPulpNotFound(dup));
  assert.not.ok(isPulpConflict(gone));
});

test('remotes: create with the bandwidth field, update and delete through tasks', async () => {
  const url = `file://${tree}/PULP_MANIFEST`;
  const remote = await client.createRemote({ name: 'pulpdist.remote', url, pulp_labels: LABELS, download_concurrency: 4, pulpdist_bandwidth_limit: 1_000_000 });
  assert.is(remote.url, url);
  assert.is(remote.download_concurrency, 4);
  assert.is(remote.pulpdist_bandwidth_limit, 1_000_000);
  assert.is((await client.updateRemote(remote.pulp_href, { pulpdist_bandwidth_limit: null })).state, 'completed');
  const [after] = await client.listRemotes({ pulp_label_select: 'pulpdist_mirror=client_test' });
  assert.is(after!.pulp_href, remote.pulp_href);
  assert.is(after!.pulpdist_bandwidth_limit, null);
  await client.deleteRemote(remote.pulp_href);
  assert.equal(await client.listRemotes({ name: 'pulpdist.remote' }), []);
});

test('sync, publish, distribute: created objects are returned and the manifest is served', async () => {
  const remote = await client.createRemote({ name: 'pulpdist.flow', url: `file://${tree}/PULP_MANIFEST`, pulp_labels: LABELS });
  const repo = await client.createRepository({ name: 'pulpdist.flow', pulp_labels: LABELS, remote: remote.pulp_href });
  const states: string[] = [];
  const sync = await client.syncRepository(repo.pulp_href, { remote: remote.pulp_href, mirror: true }, { onProgress: (t) => states.push(t.state) });
  assert.is(sync.state, 'completed');
  assert.is(states.at(-1), 'completed');
  const versionHref = sync.created_resources.find((h) => typeof h === 'string' && h.startsWith(repo.versions_href));
  assert.ok(versionHref, JSON.stringify(sync.created_resources));
  const version = await client.getVersion(versionHref!);
  assert.is(version.number, 1);
  assert.is(version.content_summary.present['file.file']?.count, 3);

  const content = await client.listContent({ repository_version: versionHref! });
  assert.equal(content.map((c) => c.relative_path).sort(), ['a.txt', 'sub/b.bin', 'sub/deeper/c.txt']);

  const pub = await client.createPublication({ repository: repo.pulp_href });
  assert.match(pub.pulp_href, /^\/pulp\/api\/v3\/publications\/file\/file\//);
  assert.is(pub.repository_version, versionHref);
  assert.ok((await client.listPublications({ repository: repo.pulp_href })).some((p) => p.pulp_href === pub.pulp_href));

  const dist = await client.createDistribution({ name: 'pulpdist.flow', base_path: 'client/flow', repository: repo.pulp_href, pulp_labels: LABELS });
  assert.match(dist.pulp_href, /^\/pulp\/api\/v3\/distributions\/file\/file\//);
  assert.is(dist.base_path, 'client/flow');
  assert.is(dist.base_url, `${site.url}/pulp/content/client/flow/`);
  assert.equal((await client.listDistributions({ base_path: 'client/flow' })).map((d) => d.pulp_href), [dist.pulp_href]);

  const served = await client.getPublishedManifest('client/flow');
  assert.ok(served && served !== 'not-modified');
  assert.equal(served.text.split('\n').filter(Boolean).sort(), manifestText.split('\n').filter(Boolean).sort());
  assert.type(served.etag, 'string');
  assert.is(await client.getPublishedManifest('client/flow', { etag: served.etag! }), 'not-modified');
  assert.ok(await client.getPublishedManifest('client/flow', { etag: '"stale"' }));
  assert.is(await client.getPublishedManifest('client/nothing-here'), null);

  assert.is((await client.updateDistribution(dist.pulp_href, { base_path: 'client/flow2' })).state, 'completed');
  assert.ok(await client.getPublishedManifest('client/flow2'));
  const deleted = await client.deleteDistribution(dist.pulp_href);
  assert.is(deleted.result === 'deleted' && deleted.task.state, 'completed');
  assert.is(await client.getPublishedManifest('client/flow2'), null);
});

test('lists follow every page (page size 3, 8 objects) and keep each object once', async () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(JSON.parse(l)) });
  const paged = createPulpClient(siteSpec(), { ...FAST, pageSize: 3, log });
  const names = Array.from({ length: 8 }, (_, i) => `pulpdist.page${i}`);
  for (const name of names) await paged.createRepository({ name, pulp_labels: { managed_by: 'pulpdist', pulpdist_mirror: 'paging' } });
  const listed = await paged.listRepositories({ pulp_label_select: 'pulpdist_mirror=paging' });
  assert.equal(listed.map((r) => r.name).sort(), names.slice().sort());
  const pages = lines.filter((l) => l.msg === 'pulp request' && l.method === 'GET');
  assert.is(pages.length, 3);
  for (const r of listed) await paged.deleteRepository(r.pulp_href);
});

test('a sync with a wrong digest fails as PulpTaskError carrying the task\'s description', async () => {
  const bad = path.join(tmp.dir, 'bad');
  await writeTree(bad, { 'x.txt': 'not what the manifest says' }, ['x.txt']);
  const remote = await client.createRemote({ name: 'pulpdist.bad', url: `file://${bad}/PULP_MANIFEST` });
  const repo = await client.createRepository({ name: 'pulpdist.bad', remote: remote.pulp_href });
  const err = await rejection(client.syncRepository(repo.pulp_href, {}));
  assert.instance(err, PulpTaskError);
  const e = err as PulpTaskError;
  assert.is(e.state, 'failed');
  assert.is(e.site, 'local');
  assert.match(e.description ?? '', /checksum/);
  assert.ok(e.message.endsWith(e.description!), e.message);
  const task = await client.getTask(e.task);
  assert.is(task.error?.description, e.description);
  const [after] = await client.listRepositories({ name: 'pulpdist.bad' });
  assert.is(after!.latest_version_href, repo.latest_version_href);
});

test('wrong password: PulpAuthError naming the variable, with the password nowhere', async () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l) });
  const wrong = 'definitely-wrong-password';
  const bad = createPulpClient(siteSpec(), { ...FAST, log, env: { PULPDIST_TEST_SITE_PASSWORD: wrong } });
  const err = await rejection(bad.listRemotes());
  assert.instance(err, PulpAuthError);
  const e = err as PulpAuthError;
  assert.is(e.status, 401);
  assert.match(e.message, /environment variable PULPDIST_TEST_SITE_PASSWORD/);
  const text = [e.message, JSON.stringify(e), String(e.stack), ...lines].join('\n');
  assert.not.ok(text.includes(wrong));
  assert.not.ok(text.includes(PASSWORD));

  const unset = createPulpClient(siteSpec(), { ...FAST, env: {} });
  const cfg = await rejection(unset.listRemotes());
  assert.instance(cfg, ConfigError);
  assert.match((cfg as Error).message, /PULPDIST_TEST_SITE_PASSWORD/);
});

/** A repository whose sync crawls: one 256 KiB file under a 4 KiB/s cap. */
async function slowRepo(name: string) {
  const dir = path.join(tmp.dir, name);
  await writeTree(dir, { 'big.bin': Buffer.alloc(256 * 1024, 1) });
  const remote = await client.createRemote({ name, url: `file://${dir}/PULP_MANIFEST`, pulpdist_bandwidth_limit: 4096 });
  return client.createRepository({ name, remote: remote.pulp_href });
}

test('aborting a sync stops polling, cancels the task on the site, and keeps the old version', async () => {
  const repo = await slowRepo('pulpdist.abort');
  const controller = new AbortController();
  const reason = new Error('pass aborted');
  let seen: Task | null = null;
  const err = await rejection(
    client.syncRepository(repo.pulp_href, {}, {
      signal: controller.signal,
      onProgress: (t) => {
        seen = t;
        if (t.state === 'running') controller.abort(reason);
      },
    }),
  );
  assert.is(err, reason);
  const taskHref = (seen as Task | null)?.pulp_href;
  assert.ok(taskHref);
  const final = await eventually('the task to be canceled', () => client.getTask(taskHref!), (t) => t.state === 'canceled');
  assert.equal(final.created_resources.filter(Boolean), []);
  const [after] = await client.listRepositories({ name: 'pulpdist.abort' });
  assert.is(after!.latest_version_href, repo.latest_version_href);
});

test('a task past its deadline is cancelled on the site and reported as a retryable timeout', async () => {
  const repo = await slowRepo('pulpdist.deadline');
  const err = await rejection(client.syncRepository(repo.pulp_href, {}, { timeoutMs: 300 }));
  assert.instance(err, PulpTaskTimeoutError);
  const e = err as PulpTaskTimeoutError;
  assert.is(e.retryable, true);
  const final = await eventually('the task to be canceled', () => client.getTask(e.task), (t) => t.state === 'canceled');
  assert.is(final.pulp_href, e.task);
});

test.run();
