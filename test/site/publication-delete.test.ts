/**
 * The embedded site against the recordings of a real Pulp 3.24 for a publication deleted by hand
 * (reference real-pulp-3.24/extra4 §4 and 63-67): DELETE is a synchronous 204; the content app
 * answers 404 under the base path of a repository distribution left with no publication, and a
 * no-change resync does not heal it while a POST publications/ does; with an older publication
 * left, the distribution silently serves that older tree. The same calls in the same order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, runTask, startSite, waitTask, type RunningSite } from '../../testkit/site.js';
import { assertShape, recorded } from './recorded.js';

let site: RunningSite;
let tree: TreeServer;
let tmp: string;
const ids: Record<string, string> = {};
const sha = (b: string) => createHash('sha256').update(b).digest('hex');

async function writeTree(files: Record<string, string>): Promise<void> {
  await mkdir(path.join(tmp, 'sub'), { recursive: true });
  for (const [p, b] of Object.entries(files)) await writeFile(path.join(tmp, p), b);
  await writeFile(path.join(tmp, 'PULP_MANIFEST'), Object.entries(files).map(([p, b]) => `${p},${sha(b)},${Buffer.byteLength(b)}\n`).join(''));
}

const V1 = { 'a.txt': 'rec4 a\n', 'b.txt': 'rec4 b version 1\n', 'sub/c.txt': 'rec4 c\n' };
const V2 = { ...V1, 'b.txt': 'rec4 b version 2\n', 'sub/j.txt': 'rec4 j, new in v2\n' };

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-pubdel-'));
  await writeTree(V1);
  tree = await serveTree(tmp);
  site = await startSite({ username: 'admin', password: 'password' });
  // Section 3 of the recording: a remote, an autopublish repository, a repository distribution.
  const remote = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'rec4-auto', url: `${tree.url}/PULP_MANIFEST` });
  const repo = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'rec4-auto', autopublish: true, remote: remote.body.pulp_href });
  ids.repo = repo.body.pulp_href;
  await runTask(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'rec4-auto', base_path: 'rec4/auto', repository: ids.repo });
  const sync = await runTask(site, 'POST', `${ids.repo}sync/`, {});
  assert.is(sync.state, 'completed');
});

test.after(async () => {
  await site?.stop();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

const pubs = (filter: string) => call(site, 'GET', `/pulp/api/v3/publications/file/file/?${filter}`);
const content = async (p: string) => {
  const r = await fetch(`${site.url}/pulp/content/rec4/auto/${p}`);
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
};

test('20/21 publications filtered by repository_version and by repository', async () => {
  const byVersion = await pubs(`repository_version=${encodeURIComponent(`${ids.repo}versions/1/`)}`);
  assertShape(byVersion.body, recorded('extra4-20-list-pubs-by-repo-version').body);
  assert.is(byVersion.body.count, 1);
  const byRepo = await pubs(`repository=${encodeURIComponent(ids.repo)}`);
  assertShape(byRepo.body, recorded('extra4-21-list-pubs-by-repo').body);
  assert.equal(byRepo.body.results.map((p: any) => p.pulp_href), byVersion.body.results.map((p: any) => p.pulp_href));
  assert.equal(byRepo.body.results[0].distributions, []);
  ids.pub = byRepo.body.results[0].pulp_href;
  assert.is((await content('PULP_MANIFEST')).status, 200);
});

test('25-32 DELETE is a synchronous 204; then 404 for the publication, empty lists, 404 under the base path', async () => {
  const del = await call(site, 'DELETE', ids.pub);
  const rec = recorded('extra4-25-delete-pub-auto');
  assert.equal([del.status, del.text, del.headers.get('allow')], [rec.status, rec.text, rec.headers.allow]);
  const gone = await call(site, 'GET', ids.pub);
  assert.equal([gone.status, gone.text], [404, recorded('extra4-26-get-pub-auto-after-delete').text]);
  const empty = await pubs(`repository_version=${encodeURIComponent(`${ids.repo}versions/1/`)}`);
  assert.is(empty.text, recorded('extra4-28-list-pubs-by-repo-version-after-delete').text);
  assert.is((await pubs(`repository=${encodeURIComponent(ids.repo)}`)).text, recorded('extra4-29-list-pubs-by-repo-after-delete').text);
  const d = await call(site, 'GET', '/pulp/api/v3/distributions/file/file/?base_path=rec4/auto');
  assert.equal([d.body.results[0].repository, d.body.results[0].publication], [ids.repo, null]);
  const nf = recorded('extra4-30-content-auto-manifest-after-pub-delete');
  for (const p of ['PULP_MANIFEST', 'a.txt', '']) {
    assert.equal(await content(p), { status: 404, type: nf.headers['content-type']!, text: nf.text }, p);
  }
});

test('34-39 a no-change resync does not heal it; POST publications/ does', async () => {
  const resync = await runTask(site, 'POST', `${ids.repo}sync/`, {});
  assertShape(resync, recorded('extra4-35-resync-auto-nochange-task-poll1').body);
  assert.equal(resync.created_resources, []);
  assert.is((await content('PULP_MANIFEST')).status, 404);
  const r = await call(site, 'POST', '/pulp/api/v3/publications/file/file/', { repository: ids.repo });
  assert.is(r.status, recorded('extra4-37-republish-auto').status);
  const task = await waitTask(site, r.body.task);
  assertShape(task, recorded('extra4-38-republish-auto-task-poll1').body);
  assert.equal(task.reserved_resources_record, [`shared:${ids.repo}`]);
  const served = await content('PULP_MANIFEST');
  assert.is(served.status, 200);
  assert.equal(served.text.trim().split('\n').map((l) => l.split(',')[0]).sort(), Object.keys(V1).sort());
});

test('63-67 the latest publication deleted: the repository distribution falls back to the older one', async () => {
  await writeTree(V2);
  const sync = await runTask(site, 'POST', `${ids.repo}sync/`, {});
  assert.ok(sync.created_resources.some((h: string) => h.endsWith('/versions/2/')), JSON.stringify(sync.created_resources));
  assert.is((await content('b.txt')).text, V2['b.txt']);
  const all = await pubs(`repository=${encodeURIComponent(ids.repo)}`);
  assert.equal(all.body.results.map((p: any) => p.repository_version.replace(ids.repo, '')), ['versions/2/', 'versions/1/']);
  assert.is((await call(site, 'DELETE', all.body.results[0].pulp_href)).status, 204);
  const left = await pubs(`repository=${encodeURIComponent(ids.repo)}`);
  assertShape(left.body, recorded('extra4-64-list-pubs-mirror-repo-after-delete').body);
  assert.is(left.body.count, 1);
  // The old tree, silently: old bytes for b.txt, 404 for the file only v2 has.
  assert.is((await content('b.txt')).text, V1['b.txt']);
  const j = await content('sub/j.txt');
  assert.equal([j.status, j.text], [404, recorded('extra4-67-content-mirror-j-after-v2-pub-delete').text]);
  assert.equal((await content('PULP_MANIFEST')).text.trim().split('\n').length, Object.keys(V1).length);
});

test.run();
