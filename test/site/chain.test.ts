/**
 * origin → hub → leaf: three real `pulpdist site` processes and an upstream tree served over HTTP.
 * Each site syncs from the PULP_MANIFEST its upstream publishes; files come out of the leaf byte
 * for byte; a second repository of the same tree downloads nothing again; a 1% update moves only
 * the new files at every hop.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, mirrorAt, runTask, startSite, type RunningSite } from '../../testkit/site.js';
import { randomFiles, sha256, writeTree, type TreeFile } from '../../testkit/tree.js';

let tmp: string;
let tree: TreeServer;
let files: TreeFile[];
const sites: Record<string, RunningSite> = {};
const mirror: Record<string, { repo: string; remote: string; dist: string }> = {};

async function metric(site: RunningSite, name: string): Promise<number> {
  const text = await (await fetch(`${site.url}/pulpdist/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)![1]);
}

/** Repository (autopublish), remote and repository distribution for one mirror at one site. */
const setUp = (site: RunningSite, name: string, url: string, basePath: string) => mirrorAt(site, name, url, basePath, { labels: { managed_by: 'pulpdist' } });

async function sync(site: RunningSite, m: { repo: string; remote: string }) {
  const task = await runTask(site, 'POST', `${m.repo}sync/`, { remote: m.remote, mirror: true });
  assert.is(task.state, 'completed', JSON.stringify(task.error));
  return task;
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-chain-'));
  files = randomFiles(100, 3000);
  await writeTree(tmp, files);
  tree = await serveTree(tmp);
  for (const n of ['origin', 'hub', 'leaf']) sites[n] = await startSite();
});

test.after(async () => {
  for (const s of Object.values(sites)) await s.stop();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('sync, publish and distribute down the chain; the leaf serves identical bytes', async () => {
  mirror.origin = await setUp(sites.origin!, 'pulpdist.tree', `${tree.url}/PULP_MANIFEST`, 'tree/x86_64');
  let t = await sync(sites.origin!, mirror.origin);
  assert.is(t.progress_reports.find((p: any) => p.code === 'sync.downloading.artifacts').done, 100);
  const originBase = (await call(sites.origin!, 'GET', mirror.origin.dist)).body.base_url;
  mirror.hub = await setUp(sites.hub!, 'pulpdist.tree', `${originBase}PULP_MANIFEST`, 'tree/x86_64');
  await sync(sites.hub!, mirror.hub);
  const hubBase = (await call(sites.hub!, 'GET', mirror.hub.dist)).body.base_url;
  mirror.leaf = await setUp(sites.leaf!, 'pulpdist.tree', `${hubBase}PULP_MANIFEST`, 'tree/x86_64');
  t = await sync(sites.leaf!, mirror.leaf);
  assert.is(t.progress_reports.find((p: any) => p.code === 'pulpdist.downloading.bytes').done > 300_000, true);
  const leafBase = (await call(sites.leaf!, 'GET', mirror.leaf.dist)).body.base_url;
  for (const f of files) {
    const res = await fetch(leafBase + f.path);
    assert.is(res.status, 200, f.path);
    const got = Buffer.from(await res.arrayBuffer());
    assert.is(sha256(got), sha256(f.bytes), f.path);
  }
  // The three published manifests list the same tree.
  const lines = async (base: string) => (await (await fetch(`${base}PULP_MANIFEST`)).text()).trim().split('\n').sort();
  const up = (await (await fetch(`${tree.url}/PULP_MANIFEST`)).text()).trim().split('\n').sort();
  assert.equal(await lines(leafBase), up);
  assert.equal(await lines(hubBase), up);
});

test('a second repository of the same tree downloads nothing again', async () => {
  const before = tree.bytesServed();
  const manifestSize = (await (await fetch(`${tree.url}/PULP_MANIFEST`)).arrayBuffer()).byteLength;
  const afterFetch = tree.bytesServed();
  const second = await setUp(sites.origin!, 'pulpdist.tree2', `${tree.url}/PULP_MANIFEST`, 'tree2');
  const t = await sync(sites.origin!, second);
  assert.is(t.progress_reports.find((p: any) => p.code === 'sync.downloading.artifacts').done, 0);
  assert.is(t.progress_reports.find((p: any) => p.code === 'associating.content').done, 100);
  assert.is(tree.bytesServed() - afterFetch, manifestSize, 'only the manifest moved');
  assert.is(afterFetch - before, manifestSize);
});

test('a 1% update moves only the new file at every hop', async () => {
  files[7] = { path: files[7]!.path, bytes: Buffer.alloc(3000, 0x41) };
  await writeTree(tmp, files);
  const manifestSize = (await (await fetch(`${tree.url}/PULP_MANIFEST`)).arrayBuffer()).byteLength;
  const treeBefore = tree.bytesServed();
  let t = await sync(sites.origin!, mirror.origin!);
  assert.is(t.progress_reports.find((p: any) => p.code === 'sync.downloading.artifacts').done, 1);
  assert.is(tree.bytesServed() - treeBefore, manifestSize + 3000);
  const originBefore = await metric(sites.origin!, 'pulpdist_site_content_bytes_served_total');
  t = await sync(sites.hub!, mirror.hub!);
  assert.is(t.progress_reports.find((p: any) => p.code === 'sync.downloading.artifacts').done, 1);
  const originMoved = (await metric(sites.origin!, 'pulpdist_site_content_bytes_served_total')) - originBefore;
  assert.is(originMoved, manifestSize + 3000);
  t = await sync(sites.leaf!, mirror.leaf!);
  assert.is(t.progress_reports.find((p: any) => p.code === 'pulpdist.downloading.bytes').done, manifestSize + 3000);
  const leafBase = (await call(sites.leaf!, 'GET', mirror.leaf!.dist)).body.base_url;
  const got = Buffer.from(await (await fetch(leafBase + files[7]!.path)).arrayBuffer());
  assert.equal(got, files[7]!.bytes);
  const repo = await call(sites.leaf!, 'GET', mirror.leaf!.repo);
  assert.is(repo.body.latest_version_href, `${mirror.leaf!.repo}versions/2/`);
});

test.run();
