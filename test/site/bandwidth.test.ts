/**
 * The one timing test the issue asks for: a sync of 20 MiB under a 5 MiB/s
 * `pulpdist_bandwidth_limit` takes at least 3.5 s, and the same sync with no cap does not.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, runTask, startSite, type RunningSite } from '../../testkit/site.js';
import { randomFiles, writeTree } from '../../testkit/tree.js';

const MiB = 1024 * 1024;
let tmp: string;
let tree: TreeServer;
const sites: RunningSite[] = [];

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-bw-'));
  await writeTree(tmp, randomFiles(4, 5 * MiB));
  tree = await serveTree(tmp);
});

test.after(async () => {
  for (const s of sites) await s.stop();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh site (so no blob is already held) syncing the 20 MiB tree; returns seconds taken. */
async function timedSync(limit: number | null): Promise<{ seconds: number; bytes: number }> {
  const site = await startSite();
  sites.push(site);
  const repo = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'r' })).body.pulp_href;
  const remote = (await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'm', url: `${tree.url}/PULP_MANIFEST`, pulpdist_bandwidth_limit: limit })).body.pulp_href;
  const t = await runTask(site, 'POST', `${repo}sync/`, { remote });
  assert.is(t.state, 'completed', JSON.stringify(t.error));
  const seconds = (Date.parse(t.finished_at) - Date.parse(t.started_at)) / 1000;
  return { seconds, bytes: t.progress_reports.find((p: any) => p.code === 'pulpdist.downloading.bytes').done };
}

test('20 MiB under a 5 MiB/s cap takes at least 3.5 s; without the cap it is faster than that', async () => {
  const capped = await timedSync(5 * MiB);
  assert.ok(capped.bytes >= 20 * MiB, `moved ${capped.bytes} bytes`);
  assert.ok(capped.seconds >= 3.5, `capped sync took ${capped.seconds} s`);
  const free = await timedSync(null);
  assert.ok(free.bytes >= 20 * MiB);
  assert.ok(free.seconds < 3.5, `uncapped sync took ${free.seconds} s`);
});

test.run();
