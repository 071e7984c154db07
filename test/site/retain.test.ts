/**
 * retain_repo_versions after syncs: only the newest N versions stay, their publications go with
 * the pruned ones, and a repository distribution keeps serving the newest publication.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, runTask, startSite, type RunningSite } from '../../testkit/site.js';
import { randomFiles, sha256, writeTree } from '../../testkit/tree.js';

let tmp: string;
let tree: TreeServer;
let site: RunningSite;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-retain-'));
  tree = await serveTree(tmp);
  site = await startSite();
});

test.after(async () => {
  await site?.stop();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('three changing syncs with retain_repo_versions 2 keep versions 3 and 2 and their publications only', async () => {
  const repo = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'r', autopublish: true, retain_repo_versions: 2 })).body.pulp_href;
  const remote = (await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'm', url: `${tree.url}/PULP_MANIFEST` })).body.pulp_href;
  assert.is((await runTask(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'd', base_path: 'r', repository: repo })).state, 'completed');
  let last = randomFiles(2, 100);
  for (let i = 0; i < 3; i++) {
    last = randomFiles(2, 100, `v${i}-`);
    await writeTree(tmp, last);
    const t = await runTask(site, 'POST', `${repo}sync/`, { remote, mirror: true });
    assert.is(t.state, 'completed');
    assert.is(t.created_resources.length, 3, 'version + mirror publication + autopublish publication');
  }
  const versions = await call(site, 'GET', `${repo}versions/`);
  assert.equal(versions.body.results.map((v: any) => v.number), [3, 2]);
  const pubs = await call(site, 'GET', `/pulp/api/v3/publications/file/file/?repository=${encodeURIComponent(repo)}`);
  assert.equal([...new Set(pubs.body.results.map((p: any) => p.repository_version))].sort(), [`${repo}versions/2/`, `${repo}versions/3/`]);
  assert.is(pubs.body.count, 4);
  const body = Buffer.from(await (await fetch(`${site.url}/pulp/content/r/${last[1]!.path}`)).arrayBuffer());
  assert.is(sha256(body), sha256(last[1]!.bytes));
  const gone = await fetch(`${site.url}/pulp/content/r/d1/v0-1.bin`);
  assert.is(gone.status, 404);
});

test.run();
