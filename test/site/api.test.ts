/**
 * The API's edges on a real site: auth on and off, pagination, filters and label selection, the
 * 400/404/405/413 answers, base path rules, file:// remotes under --allowed-import-path, and logs
 * without credentials.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { call, runTask, startSite, type RunningSite } from '../../testkit/site.js';
import { randomFiles, sha256, writeTree } from '../../testkit/tree.js';

let site: RunningSite;
let secured: RunningSite;
let tmp: string;
const REPOS = '/pulp/api/v3/repositories/file/file/';

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-api-'));
  site = await startSite({ allowedImportPaths: [tmp] });
  secured = await startSite({ username: 'admin', password: 's3cret-pw-value' });
});

test.after(async () => {
  await site?.stop();
  await secured?.stop();
  await rm(tmp, { recursive: true, force: true });
});

test('auth on: every API call needs it except status; content stays public; logs hold no secret', async () => {
  const anon = await fetch(`${secured.url}${REPOS}`);
  assert.is(anon.status, 401);
  assert.is(anon.headers.get('www-authenticate'), 'Basic realm="api"');
  const status = await fetch(`${secured.url}/pulp/api/v3/status/`);
  assert.is(status.status, 200);
  const ok = await call(secured, 'POST', REPOS, { name: 'x' });
  assert.is(ok.status, 201);
  const content = await fetch(`${secured.url}/pulp/content/`);
  assert.is(content.status, 200);
  const bad = await fetch(`${secured.url}${REPOS}`, { headers: { Authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` } });
  assert.is(bad.status, 401);
  assert.equal(await bad.json(), { detail: 'Invalid username/password.' });
  const log = secured.stderr();
  assert.match(log, /method=POST path=\/pulp\/api\/v3\/repositories\/file\/file\/ status=201 ms=\d+/);
  assert.not.match(log, /s3cret-pw-value/);
  assert.not.match(log, new RegExp(Buffer.from('admin:s3cret-pw-value').toString('base64')));
});

test('auth off: calls need no credentials', async () => {
  const r = await fetch(`${site.url}${REPOS}`);
  assert.is(r.status, 200);
});

test('pagination walks every object once, newest first, with absolute links', async () => {
  for (let i = 0; i < 7; i++) {
    const r = await call(site, 'POST', REPOS, { name: `page-${i}`, pulp_labels: { managed_by: 'pulpdist', idx: String(i), ...(i % 2 ? { odd: 'yes' } : {}) } });
    assert.is(r.status, 201);
  }
  const seen: string[] = [];
  let next: string | null = `${REPOS}?limit=3&name__startswith=page-`;
  let pages = 0;
  while (next) {
    const r: any = await call(site, 'GET', next);
    assert.is(r.body.count, 7);
    seen.push(...r.body.results.map((x: any) => x.name));
    next = r.body.next;
    if (next) assert.ok(next.startsWith(`${site.url}${REPOS}?limit=3&name__startswith=page-&offset=`), next);
    pages++;
  }
  assert.is(pages, 3);
  assert.equal(seen, ['page-6', 'page-5', 'page-4', 'page-3', 'page-2', 'page-1', 'page-0']);
  const past = await call(site, 'GET', `${REPOS}?limit=3&offset=50&name__startswith=page-`);
  assert.equal([past.body.count, past.body.results], [7, []]);
  const badLimit = await call(site, 'GET', `${REPOS}?limit=zero&name__startswith=page-`);
  assert.is(badLimit.body.results.length, 7);
  const ordered = await call(site, 'GET', `${REPOS}?ordering=name&name__startswith=page-&fields=name`);
  assert.equal(ordered.body.results, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'page-5', 'page-6'].map((name) => ({ name })));
  const one = await call(site, 'GET', `${REPOS}?name=page-0`);
  const detail = await call(site, 'GET', `${one.body.results[0].pulp_href}?fields=name,pulp_labels`);
  assert.equal(Object.keys(detail.body), ['pulp_labels', 'name']);
  const without = await call(site, 'GET', `${one.body.results[0].pulp_href}?exclude_fields=pulp_labels`);
  assert.not.ok('pulp_labels' in without.body);
  assert.ok('name' in without.body);
});

test('filters: name, name__in, pulp_label_select and its errors; unknown filter is 400', async () => {
  const names = async (q: string) => (await call(site, 'GET', `${REPOS}?${q}`)).body.results.map((r: any) => r.name).sort();
  assert.equal(await names('name=page-3'), ['page-3']);
  assert.equal(await names('name__in=page-1,page-4,nope'), ['page-1', 'page-4']);
  assert.equal(await names('pulp_label_select=managed_by=pulpdist,odd'), ['page-1', 'page-3', 'page-5']);
  assert.equal(await names('pulp_label_select=managed_by=pulpdist,!odd,idx!=0'), ['page-2', 'page-4', 'page-6']);
  assert.equal(await names('pulp_label_select=idx~6'), ['page-6']);
  const op = await call(site, 'GET', `${REPOS}?pulp_label_select=!odd=yes`);
  assert.is(op.status, 400);
  assert.equal(op.body, ["Cannot use an operator with '!odd'."]);
  const emptyList = await call(site, 'GET', '/pulp/api/v3/remotes/file/file/?pulp_label_select=!a~b');
  assert.is(emptyList.status, 400, 'checked even when nothing is listed');
  const unknown = await call(site, 'GET', `${REPOS}?foo=1`);
  assert.is(unknown.status, 400);
  assert.equal(unknown.body, { errors: ["Invalid Filter: 'foo'"] });
});

test('validation: labels, unknown fields, types, bandwidth limit', async () => {
  const labels = await call(site, 'POST', REPOS, { name: 'l', pulp_labels: { 'a-b': 'x' } });
  assert.equal([labels.status, labels.body], [400, { pulp_labels: ["Key 'a-b' contains non-alphanumerics."] }]);
  const comma = await call(site, 'POST', REPOS, { name: 'l', pulp_labels: { k: 'a,b' } });
  assert.equal(comma.body, { pulp_labels: ["Key 'k' contains value with comma or parenthesis."] });
  const extra = await call(site, 'POST', REPOS, { name: 'l', foo: 1 });
  assert.equal(extra.body, { foo: ['Unexpected field'] });
  const notObject = await call(site, 'POST', REPOS, [1, 2]);
  assert.equal(notObject.body, { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] });
  const bw = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'bw', url: 'http://x/PULP_MANIFEST', pulpdist_bandwidth_limit: 0 });
  assert.equal(bw.body, { pulpdist_bandwidth_limit: ['Ensure this value is greater than or equal to 1.'] });
  const bwOk = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'bw', url: 'http://x/PULP_MANIFEST', pulpdist_bandwidth_limit: 1048576, password: 'hunter22' });
  assert.is(bwOk.body.pulpdist_bandwidth_limit, 1048576);
  assert.not.ok('password' in bwOk.body);
  assert.equal(bwOk.body.hidden_fields.find((h: any) => h.name === 'password'), { name: 'password', is_set: true });
  const patched = await runTask(site, 'PATCH', bwOk.body.pulp_href, { pulpdist_bandwidth_limit: null });
  assert.is(patched.state, 'completed');
  assert.is((await call(site, 'GET', bwOk.body.pulp_href)).body.pulpdist_bandwidth_limit, null);
});

test('malformed JSON is 400 with DRF detail; a huge body is 413; never a 500', async () => {
  const res = await fetch(`${site.url}${REPOS}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":' });
  assert.is(res.status, 400);
  const body: any = await res.json();
  assert.match(body.detail, /^JSON parse error - /);
  const big = await fetch(`${site.url}${REPOS}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) }).catch(() => null);
  if (big) assert.is(big.status, 413);
  for (const [m, p, b] of [
    ['POST', `${REPOS}00000000-0000-0000-0000-000000000000/sync/`, '{}'],
    ['PATCH', '/pulp/api/v3/tasks/not-a-task/', '{}'],
    ['GET', '/pulp/api/v3/nothing/here/', undefined],
    ['DELETE', '/pulp/api/v3/tasks/', undefined],
  ] as const) {
    const r = await call(site, m, p, b);
    assert.ok(r.status >= 400 && r.status < 500, `${m} ${p} → ${r.status}`);
  }
});

test('distribution base paths: unique, no overlap (nested body), no leading slash', async () => {
  const repo = (await call(site, 'POST', REPOS, { name: 'dist-repo' })).body.pulp_href;
  const D = '/pulp/api/v3/distributions/file/file/';
  assert.is((await runTask(site, 'POST', D, { name: 'd1', base_path: 'a/b', repository: repo })).state, 'completed');
  const over = await call(site, 'POST', D, { name: 'd2', base_path: 'a', repository: repo });
  assert.equal([over.status, over.body], [400, { base_path: { base_path: "Overlaps with existing distribution 'd1'" } }]);
  const under = await call(site, 'POST', D, { name: 'd3', base_path: 'a/b/c' });
  assert.equal(under.body, { base_path: { base_path: "Overlaps with existing distribution 'd1'" } });
  const slash = await call(site, 'POST', D, { name: 'd4', base_path: '/x' });
  assert.is(slash.status, 400);
  assert.ok(slash.body.base_path);
  const both = await call(site, 'POST', D, { name: 'd5', base_path: 'z', repository: repo, publication: null });
  assert.is(both.status, 202);
  const names = await call(site, 'GET', `${D}?base_path=a/b`);
  assert.equal(names.body.results.map((d: any) => d.name), ['d1']);
});

test('file:// remotes: refused outside --allowed-import-path (400 at create), synced inside', async () => {
  const files = randomFiles(3, 500);
  await writeTree(tmp, files);
  const outside = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'out', url: 'file:///etc/PULP_MANIFEST' });
  assert.is(outside.status, 400);
  assert.equal(outside.body, { url: ["The path '/etc/PULP_MANIFEST' does not start with any of the allowed import paths"] });
  const inside = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'in', url: pathToFileURL(path.join(tmp, 'PULP_MANIFEST')).href });
  assert.is(inside.status, 201, inside.text);
  const repo = (await call(site, 'POST', REPOS, { name: 'from-file', remote: inside.body.pulp_href })).body.pulp_href;
  const t = await runTask(site, 'POST', `${repo}sync/`, {});
  assert.is(t.state, 'completed', JSON.stringify(t.error));
  const c = await call(site, 'GET', `/pulp/api/v3/content/file/files/?repository_version=${encodeURIComponent(t.created_resources[0])}`);
  assert.equal(c.body.results.map((x: any) => x.sha256).sort(), files.map((f) => sha256(f.bytes)).sort());
  const absolute = await runTask(site, 'POST', `${repo}sync/`, { remote: `${site.url}${inside.body.pulp_href}` });
  assert.is(absolute.state, 'completed', 'an absolute href works like the relative one');
  assert.equal(absolute.reserved_resources_record, [repo, `shared:${inside.body.pulp_href}`]);
  const noRemote = await call(site, 'POST', `${(await call(site, 'POST', REPOS, { name: 'bare' })).body.pulp_href}sync/`, {});
  assert.equal(noRemote.body, { remote: ['This field is required since a remote is not set on the repository.'] });
});

test('modify removes and adds units; retain_repo_versions prunes old versions and their publications', async () => {
  const repo = (await call(site, 'GET', `${REPOS}?name=from-file`)).body.results[0];
  const units = (await call(site, 'GET', `/pulp/api/v3/content/file/files/?repository_version=${encodeURIComponent(repo.latest_version_href)}`)).body.results;
  const t = await runTask(site, 'POST', `${repo.pulp_href}modify/`, { remove_content_units: [units[0].pulp_href] });
  assert.is(t.state, 'completed');
  assert.equal(t.created_resources, [`${repo.pulp_href}versions/2/`]);
  const v2 = await call(site, 'GET', `${repo.pulp_href}versions/2/`);
  assert.is(v2.body.content_summary.removed['file.file'].count, 1);
  assert.is(v2.body.content_summary.present['file.file'].count, 2);
  assert.is((await runTask(site, 'PATCH', repo.pulp_href, { retain_repo_versions: 1 })).state, 'completed');
  const vs = await call(site, 'GET', `${repo.pulp_href}versions/`);
  assert.equal(vs.body.results.map((v: any) => v.number), [2]);
  const same = await runTask(site, 'POST', `${repo.pulp_href}modify/`, { remove_content_units: [units[0].pulp_href] });
  assert.equal(same.created_resources, []);
  // The removed unit is now in no version: orphan cleanup removes it and its blob.
  const sha = units[0].sha256;
  const blob = path.join(site.dataDir, 'artifacts', sha.slice(0, 2), sha.slice(2));
  assert.ok(existsSync(blob));
  const cleanup = await runTask(site, 'POST', '/pulp/api/v3/orphans/cleanup/', { orphan_protection_time: 0 });
  assert.is(cleanup.state, 'completed');
  assert.equal(cleanup.progress_reports.map((p: any) => [p.code, p.done]), [['clean-up.content', 1], ['clean-up.content', 1]]);
  assert.is((await call(site, 'GET', units[0].pulp_href)).status, 404);
  assert.not.ok(existsSync(blob));
  assert.is((await call(site, 'GET', `/pulp/api/v3/artifacts/?sha256=${sha}`)).body.count, 0);
});

test('deletes cascade like Pulp: remote → repository.remote null; repository → versions, publications gone, distribution.repository null', async () => {
  const files = randomFiles(2, 300, 'casc');
  const dir = path.join(tmp, 'casc');
  await writeTree(dir, files);
  const remote = (await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'casc', url: pathToFileURL(path.join(dir, 'PULP_MANIFEST')).href })).body.pulp_href;
  const repo = (await call(site, 'POST', REPOS, { name: 'casc', remote, autopublish: true })).body.pulp_href;
  assert.is((await runTask(site, 'POST', `${repo}sync/`, {})).state, 'completed');
  const dist = (await runTask(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'casc', base_path: 'casc', repository: repo })).created_resources[0];
  assert.is((await fetch(`${site.url}/pulp/content/casc/${files[0]!.path}`)).status, 200);
  assert.is((await runTask(site, 'DELETE', remote)).state, 'completed');
  assert.is((await call(site, 'GET', repo)).body.remote, null);
  const del = await runTask(site, 'DELETE', repo);
  assert.equal([del.state, del.worker, del.name], ['completed', null, 'pulpcore.app.tasks.base.general_delete']);
  assert.is((await call(site, 'GET', repo)).status, 404);
  assert.is((await call(site, 'GET', `/pulp/api/v3/publications/file/file/?repository=${encodeURIComponent(repo)}`)).body.count, 0);
  assert.is((await call(site, 'GET', dist)).body.repository, null);
  assert.is((await fetch(`${site.url}/pulp/content/casc/${files[0]!.path}`)).status, 404);
});

test('--content-origin sets base_url and status; SIGTERM exits 0', async () => {
  const other = await startSite({ extraArgs: ['--content-origin', 'https://cdn.example.com'] });
  try {
    const repo = (await call(other, 'POST', REPOS, { name: 'co' })).body.pulp_href;
    const t = await runTask(other, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'co', base_path: 'co/x', repository: repo });
    const d = await call(other, 'GET', t.created_resources[0]);
    assert.is(d.body.base_url, 'https://cdn.example.com/pulp/content/co/x/');
    assert.is((await call(other, 'GET', '/pulp/api/v3/status/')).body.content_settings.content_origin, 'https://cdn.example.com');
  } finally {
    await other.stop();
  }
  assert.is(other.exitCode(), 0);
  assert.match(other.stderr(), /stopping .*signal=SIGTERM/);
});

test('bad command-line use is a usage error, not a stack trace', async () => {
  const { runCli } = await import('../../testkit/cli.js');
  const r = await runCli(['site', '--listen', 'nope', '--data', tmp]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--listen must be HOST:PORT/);
  assert.not.match(r.stderr, /at .*\.js:\d+/);
  const pw = await runCli(['site', '--data', tmp, '--username', 'u', '--password-env', 'PULPDIST_NO_SUCH_VAR_X']);
  assert.is(pw.code, 1);
  assert.match(pw.stderr, /PULPDIST_NO_SUCH_VAR_X/);
});

test.run();
