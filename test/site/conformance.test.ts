/**
 * The embedded site against the recordings of a real Pulp 3.24: the same calls in the same order,
 * compared by status, headers that matter, keys and value types (and whole bodies where they hold
 * no ids or times).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, startSite, waitTask, type RunningSite } from '../../testkit/site.js';
import { assertShape, recorded } from './recorded.js';

let site: RunningSite;
let tree: TreeServer;
let tmp: string;
const ids: Record<string, string> = {};

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-conf-'));
  await mkdir(path.join(tmp, 'sub'));
  const files: [string, Buffer][] = [
    ['a.txt', Buffer.from('hello from realpulp fixture 1\n')],
    ['b.txt', Buffer.from('second file\n')],
    ['sub/c.bin', Buffer.alloc(20000, 7)],
  ];
  for (const [p, b] of files) await writeFile(path.join(tmp, p), b);
  await writeFile(path.join(tmp, 'PULP_MANIFEST'), files.map(([p, b]) => `${p},${sha(b)},${b.length}\n`).join(''));
  tree = await serveTree(tmp);
  site = await startSite({ username: 'admin', password: 'password' });
});

test.after(async () => {
  await site?.stop();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

async function noAuth(method: string, href: string, auth?: string) {
  const res = await fetch(site.url + href, { method, headers: auth ? { Authorization: auth } : {} });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

test('01 status is public and shaped like Pulp, plus a pulpdist-site component', async () => {
  const rec = recorded('01-status-noauth');
  const r = await noAuth('GET', '/pulp/api/v3/status/');
  assert.is(r.status, rec.status);
  assert.is(r.headers.get('content-type'), 'application/json');
  assert.is(r.headers.get('allow'), rec.headers.allow);
  const body = JSON.parse(r.text);
  assertShape(body, rec.body);
  assert.equal(body.versions.map((v: any) => v.component), ['core', 'file', 'pulpdist-site']);
  assert.equal(body.versions[2].package, 'pulpdist');
  assert.is(body.content_settings.content_origin, site.url);
});

test('02/03 no credentials and a bad password give the recorded 401s', async () => {
  for (const [name, auth] of [
    ['02-list-repos-noauth', undefined],
    ['03-list-repos-badpass', `Basic ${Buffer.from('admin:nope').toString('base64')}`],
  ] as const) {
    const rec = recorded(name);
    const r = await noAuth('GET', '/pulp/api/v3/repositories/file/file/', auth);
    assert.is(r.status, 401);
    assert.is(r.text, rec.text);
    assert.is(r.headers.get('www-authenticate'), rec.headers['www-authenticate']);
    assert.is(r.headers.get('allow'), rec.headers.allow);
  }
});

test('04 an empty list is the exact recorded envelope', async () => {
  const r = await call(site, 'GET', '/pulp/api/v3/repositories/file/file/');
  assert.is(r.status, 200);
  assert.is(r.text, recorded('04-list-repos-empty').text);
});

test('05-07 repository create (201 + Location), duplicate and bad field (400 bodies)', async () => {
  const rec = recorded('05-create-repo1');
  const r = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'src-repo', description: 'source repo' });
  assert.is(r.status, 201);
  assert.is(r.headers.get('location'), r.body.pulp_href);
  assert.match(r.body.pulp_href, /^\/pulp\/api\/v3\/repositories\/file\/file\/[0-9a-f-]{36}\/$/);
  assert.match(r.body.pulp_created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assertShape(r.body, rec.body);
  assert.is(r.body.latest_version_href, `${r.body.pulp_href}versions/0/`);
  ids.repo = r.body.pulp_href;
  const dup = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'src-repo' });
  assert.is(dup.status, 400);
  assert.is(dup.text, recorded('06-create-repo1-duplicate').text);
  const bad = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'x', retain_repo_versions: 'abc' });
  assert.is(bad.status, 400);
  assert.is(bad.text, recorded('07-create-repo-badfield').text);
});

test('08-10 remote create and its 400s', async () => {
  const r = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'src-remote', url: `${tree.url}/PULP_MANIFEST`, policy: 'immediate' });
  assert.is(r.status, 201);
  assertShape(r.body, recorded('08-create-remote1').body, '$', ['pulpdist_bandwidth_limit']);
  assert.is(r.body.pulpdist_bandwidth_limit, null);
  ids.remote = r.body.pulp_href;
  const missing = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'r2' });
  assert.is(missing.text, recorded('09-create-remote-missing-url').text);
  const policy = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'r3', url: 'http://x/PULP_MANIFEST', policy: 'sometimes' });
  assert.is(policy.status, 400);
  assert.is(policy.text, recorded('10-create-remote-bad-policy').text);
});

test('13/14 mirror sync: 202 {task}, then a task like the recorded one', async () => {
  const r = await call(site, 'POST', `${ids.repo}sync/`, { remote: ids.remote, mirror: true });
  assert.is(r.status, 202);
  assert.equal(Object.keys(r.body), ['task']);
  assert.is(r.headers.get('allow'), recorded('13-sync-repo1').headers.allow);
  assert.is(r.headers.get('location'), null);
  const task = await waitTask(site, r.body.task);
  const rec = recorded('14-sync-repo1-task-poll1').body;
  assertShape(task, rec);
  assert.is(task.state, 'completed');
  assert.is(task.logging_cid, r.headers.get('correlation-id'));
  const codes = task.progress_reports.map((p: any) => p.code);
  for (const p of rec.progress_reports) assert.ok(codes.includes(p.code), p.code);
  const byCode = (c: string) => task.progress_reports.find((p: any) => p.code === c);
  assert.is(byCode('sync.downloading.artifacts').done, 3);
  assert.is(byCode('associating.content').done, 3);
  assert.is(byCode('sync.parsing.metadata').total, 3);
  assert.ok(byCode('pulpdist.downloading.bytes').done > 20042);
  assert.is(task.created_resources.length, 2);
  assert.is(task.created_resources[0], `${ids.repo}versions/1/`);
  assert.match(task.created_resources[1], /^\/pulp\/api\/v3\/publications\/file\/file\//);
  assert.equal(task.reserved_resources_record, [ids.repo, `shared:${ids.remote}`]);
  ids.mirrorPub = task.created_resources[1];
});

test('16-18 version, content in it, version list', async () => {
  const v = await call(site, 'GET', `${ids.repo}versions/1/`);
  assertShape(v.body, recorded('16-get-repo1-version1').body);
  assert.is(v.body.content_summary.present['file.file'].count, 3);
  const c = await call(site, 'GET', v.body.content_summary.present['file.file'].href);
  assertShape(c.body, recorded('17-list-content-in-v1').body);
  assert.equal(c.body.results.map((x: any) => x.relative_path).sort(), ['a.txt', 'b.txt', 'sub/c.bin']);
  const vs = await call(site, 'GET', `${ids.repo}versions/`);
  assertShape(vs.body, recorded('18-list-repo1-versions').body);
  assert.equal(vs.body.results.map((x: any) => x.number), [1, 0]);
  assert.is(vs.headers.get('allow'), 'GET, HEAD, OPTIONS');
});

test('20 a resync with no change makes no version', async () => {
  const r = await call(site, 'POST', `${ids.repo}sync/`, { remote: ids.remote, mirror: true });
  const task = await waitTask(site, r.body.task);
  assertShape(task, recorded('20-resync-repo1-task-poll1').body);
  assert.equal(task.created_resources, []);
  assert.is(task.progress_reports.find((p: any) => p.code === 'sync.downloading.artifacts').done, 0);
  const repo = await call(site, 'GET', ids.repo);
  assert.is(repo.body.latest_version_href, `${ids.repo}versions/1/`);
});

test('21-23 publish, and the publication', async () => {
  const r = await call(site, 'POST', '/pulp/api/v3/publications/file/file/', { repository: ids.repo });
  assert.is(r.status, 202);
  const task = await waitTask(site, r.body.task);
  assertShape(task, recorded('22-publish-repo1-task-poll1').body);
  assert.equal(task.reserved_resources_record, [`shared:${ids.repo}`]);
  ids.pub = task.created_resources[0];
  const p = await call(site, 'GET', ids.pub);
  assertShape(p.body, recorded('23-get-pub1').body);
  assert.is(p.body.repository_version, `${ids.repo}versions/1/`);
  assert.is(p.headers.get('allow'), 'GET, DELETE, HEAD, OPTIONS');
});

test('24-27 distribution create is a task; base_url; duplicate base_path', async () => {
  const r = await call(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'src-dist', base_path: 'src', publication: ids.pub });
  assert.is(r.status, 202);
  const task = await waitTask(site, r.body.task);
  assertShape(task, recorded('25-create-dist1-task-poll1').body);
  assert.equal(task.reserved_resources_record, ['/api/v3/distributions/']);
  ids.dist = task.created_resources[0];
  const d = await call(site, 'GET', ids.dist);
  assertShape(d.body, recorded('26-get-dist1').body);
  assert.is(d.body.base_url, `${site.url}/pulp/content/src/`);
  const pub = await call(site, 'GET', ids.pub);
  assert.equal(pub.body.distributions, [ids.dist]);
  const dup = await call(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'other', base_path: 'src', publication: ids.pub });
  assert.is(dup.status, 400);
  assert.is(dup.text, recorded('27-create-dist-dup-basepath').text);
});

test('28-34 content app: listing, manifest, files, 404s, root', async () => {
  const idx = await fetch(`${site.url}/pulp/content/src/`);
  assert.is(idx.headers.get('content-type'), 'text/html');
  const html = await idx.text();
  const norm = (s: string) => s.replace(/\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d/g, 'DATE').replace(/\d+ Bytes/g, 'N Bytes');
  assert.is(norm(html), norm(recorded('28-content-dist1-index').text));
  const man = await fetch(`${site.url}/pulp/content/src/PULP_MANIFEST`);
  assert.is(man.headers.get('content-type'), 'application/octet-stream');
  const lines = (await man.text()).trim().split('\n').sort();
  assert.equal(lines.map((l) => l.split(',')[0]), ['a.txt', 'b.txt', 'sub/c.bin']);
  const a = await fetch(`${site.url}/pulp/content/src/a.txt`);
  assert.is(a.status, 200);
  assert.is(a.headers.get('content-type'), 'text/plain');
  assert.match(a.headers.get('etag')!, /^"[0-9a-f]+-1e"$/);
  assert.is(a.headers.get('accept-ranges'), 'bytes');
  assert.ok(a.headers.get('last-modified'));
  assert.is(await a.text(), 'hello from realpulp fixture 1\n');
  const again = await fetch(`${site.url}/pulp/content/src/a.txt`, { headers: { 'If-None-Match': a.headers.get('etag')! } });
  assert.is(again.status, 304);
  const head = await fetch(`${site.url}/pulp/content/src/a.txt`, { method: 'HEAD' });
  assert.equal([head.status, head.headers.get('content-length'), head.headers.get('etag'), await head.text()], [200, '30', a.headers.get('etag'), '']);
  const unsat = await fetch(`${site.url}/pulp/content/src/a.txt`, { headers: { Range: 'bytes=100-200' } });
  assert.equal([unsat.status, unsat.headers.get('content-range')], [416, 'bytes */30']);
  const range = await fetch(`${site.url}/pulp/content/src/sub/c.bin`, { headers: { Range: 'bytes=0-9' } });
  assert.is(range.status, 206);
  assert.is(range.headers.get('content-range'), 'bytes 0-9/20000');
  assert.is((await range.arrayBuffer()).byteLength, 10);
  for (const p of ['/pulp/content/src/nope.txt', '/pulp/content/no-such-base/x', '/pulp/content/src']) {
    const nf = await fetch(site.url + p);
    assert.is(nf.status, 404, p);
    assert.is(nf.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.is(await nf.text(), recorded('32-content-dist1-missing').text);
  }
  const root = await fetch(`${site.url}/pulp/content/`);
  assert.is(await root.text(), recorded('34-content-root').text);
});

test('46/47 PATCH a repository is an immediate task (worker null)', async () => {
  const r = await call(site, 'PATCH', ids.repo, { description: 'patched' });
  assert.is(r.status, 202);
  const task = await waitTask(site, r.body.task);
  assertShape(task, recorded('47-patch-repo1-task-poll1').body);
  assert.is(task.worker, null);
  assert.is(task.name, 'pulpcore.app.tasks.base.general_update');
  assert.is((await call(site, 'GET', ids.repo)).body.description, 'patched');
});

test('52 pagination links are absolute, sorted, keep limit and drop a zero offset', async () => {
  await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'dst-repo' });
  const r = await call(site, 'GET', '/pulp/api/v3/repositories/file/file/?limit=1&offset=1');
  const rec = recorded('52-list-repos-page').body;
  assertShape(r.body, rec);
  assert.is(r.body.count, 2);
  assert.is(r.body.next, null);
  assert.is(r.body.previous, rec.previous.replace('http://127.0.0.1:24817', site.url));
  assert.is(r.body.results[0].name, 'src-repo');
});

test('55-57 404s and a sync with a missing remote', async () => {
  for (const [name, href] of [
    ['55-get-404', '/pulp/api/v3/repositories/file/file/00000000-0000-0000-0000-000000000000/'],
    ['56-get-bad-uuid', '/pulp/api/v3/repositories/file/file/not-a-uuid/'],
  ]) {
    const r = await call(site, 'GET', href!);
    assert.is(r.status, 404);
    assert.is(r.text, recorded(name!).text);
  }
  const r = await call(site, 'POST', `${ids.repo}sync/`, { remote: '/pulp/api/v3/remotes/file/file/00000000-0000-0000-0000-000000000000/' });
  assert.is(r.status, 400);
  assert.is(r.text, recorded('57-sync-bad-remote').text);
  assert.is(r.headers.get('allow'), 'POST, OPTIONS');
});

test('extra/04 a manifest 404 fails the task with the recorded description form', async () => {
  const rem = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'missing', url: `${tree.url}/missing/PULP_MANIFEST` });
  const r = await call(site, 'POST', `${ids.repo}sync/`, { remote: rem.body.pulp_href });
  const task = await waitTask(site, r.body.task);
  const rec = recorded('extra-04-sync-404-task-poll1').body;
  assert.is(task.state, 'failed');
  assert.is(task.error.description, `404, message='File not found', url=URL('${tree.url}/missing/PULP_MANIFEST')`);
  assert.equal(task.progress_reports.map((p: any) => [p.code, p.state]), rec.progress_reports.map((p: any) => [p.code, p.state]));
  assert.equal(task.created_resources, []);
});

test('extra/31 cancelling a finished task is 409 with the task; extra3/16 a bad state is 400', async () => {
  const tasks = await call(site, 'GET', '/pulp/api/v3/tasks/?limit=1&state=completed&name=pulp_file.app.tasks.synchronizing.synchronize');
  const href = tasks.body.results[0].pulp_href;
  const r = await call(site, 'PATCH', href, { state: 'canceled' });
  assert.is(r.status, 409);
  assert.is(r.body.pulp_href, href);
  assertShape(r.body, recorded('extra-31-cancel-finished-task').body);
  const bad = await call(site, 'PATCH', href, { state: 'completed' });
  assert.is(bad.status, 400);
  assert.is(bad.text, recorded('extra3-16-cancel-bad-state').text);
});

test('extra/38 artifacts list; extra/58 405; extra/59 API root', async () => {
  const a = await call(site, 'GET', '/pulp/api/v3/artifacts/?limit=1');
  assertShape(a.body, recorded('extra-38-list-artifacts-before').body);
  assert.is(a.body.next, `${site.url}/pulp/api/v3/artifacts/?limit=1&offset=1`);
  assert.match(a.body.results[0].file, /^artifact\/[0-9a-f]{2}\/[0-9a-f]{62}$/);
  const m = await call(site, 'DELETE', '/pulp/api/v3/repositories/file/file/');
  assert.is(m.status, 405);
  assert.is(m.text, recorded('extra-58-method-not-allowed').text);
  assert.is(m.headers.get('allow'), 'GET, POST, HEAD, OPTIONS');
  const root = await call(site, 'GET', '/pulp/api/v3/');
  const rec = recorded('extra-59-api-root').body;
  for (const k of ['repositories/file/file', 'remotes/file/file', 'tasks', 'artifacts', 'distributions/file/file']) {
    assert.is(root.body[k], rec[k].replace('http://127.0.0.1:24817', site.url), k);
  }
});

test('extra/48 PUT needs every required field; extra/50 distribution delete', async () => {
  const put = await call(site, 'PUT', ids.dist, { name: 'src-dist' });
  assert.is(put.status, 400);
  assert.is(put.text, recorded('extra-48-put-dist2-missing-fields').text);
  const del = await call(site, 'DELETE', ids.dist);
  assert.is(del.status, 202);
  const task = await waitTask(site, del.body.task);
  assertShape(task, recorded('extra-50-delete-dist2-task-poll1').body);
  assert.is(task.worker, null);
  assert.is((await call(site, 'GET', ids.dist)).status, 404);
});

test.run();
