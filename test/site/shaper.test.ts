/**
 * The shaper (site/shaper.ts) with a real Pulp-shaped client: the embedded site syncing through it
 * as its remotes' `proxy_url`. Capped at 5 MiB/s, 20 MiB cannot take less than 3.5 s; two
 * concurrent syncs of 10 MiB share the cap (neither finishes in the 2 s the whole cap would give
 * it); an https upstream goes through its CONNECT tunnel; Basic auth is asked for. Only lower
 * bounds on time are asserted — a cap makes things slower, never faster, whatever the load.
 * PULPDIST_SHAPER_REPORT=1 prints the achieved rates (1, 2 and 4 concurrent syncs).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startShaper, type Shaper } from '../../site/shaper.js';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, runTask, startSite, type RunningSite } from '../../testkit/site.js';
import { makeTestCertificate } from '../../testkit/tls-cert.js';
import { randomFiles, writeTree } from '../../testkit/tree.js';

const MiB = 1024 * 1024;
const RATE = 5 * MiB;
const REPORT = process.env.PULPDIST_SHAPER_REPORT === '1';

let tmp: string;
let site: RunningSite;
const trees: TreeServer[] = [];
let n = 0;

/** A tree of `mib` MiB (1 MiB files) served over http (or https with `tls`). */
async function tree(mib: number, tls?: { key: string; cert: string }): Promise<TreeServer> {
  const dir = path.join(tmp, `tree${n++}`);
  await writeTree(dir, randomFiles(mib, MiB, `t${n}-`));
  const t = await serveTree(dir, tls ? { tls } : {});
  trees.push(t);
  return t;
}

/** Sync `url` into a fresh repository through `proxy`; the task and its duration in seconds (the site's own clock). */
async function sync(url: string, remote: Record<string, unknown>): Promise<{ task: any; seconds: number }> {
  const name = `s${n++}`;
  const repo = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name })).body.pulp_href;
  const r = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name, url: `${url}/PULP_MANIFEST`, max_retries: 0, ...remote });
  assert.is(r.status, 201, JSON.stringify(r.body));
  const task = await runTask(site, 'POST', `${repo}sync/`, { remote: r.body.pulp_href, mirror: true });
  assert.is(task.state, 'completed', JSON.stringify(task.error));
  return { task, seconds: (Date.parse(task.finished_at) - Date.parse(task.started_at)) / 1000 };
}

async function withShaper(bandwidth: number | null, fn: (s: Shaper) => Promise<void>, auth?: { username: string; password: string }): Promise<void> {
  const s = await startShaper({ bandwidth, ...(auth ? { auth } : {}) });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-shaper-'));
  site = await startSite();
});

test.after(async () => {
  await site?.stop();
  for (const t of trees) await t.close();
  await rm(tmp, { recursive: true, force: true });
});

test('one sync of 20 MiB through a 5 MiB/s shaper takes at least 3.5 s, and every byte passed it', async () => {
  const t = await tree(20);
  await withShaper(RATE, async (s) => {
    const { seconds } = await sync(t.url, { proxy_url: s.url });
    assert.ok(seconds >= 3.5, `20 MiB at 5 MiB/s took ${seconds} s`);
    assert.ok(s.stats().bytes >= 20 * MiB, `the shaper carried ${s.stats().bytes} bytes`);
    if (REPORT) console.log(`1 sync: 20 MiB in ${seconds.toFixed(2)} s = ${(20 / seconds).toFixed(2)} MiB/s (target 5)`);
  });
});

test('two concurrent syncs share the cap: neither gets it whole', async () => {
  const [a, b] = [await tree(10), await tree(10)];
  await withShaper(RATE, async (s) => {
    const runs = await Promise.all([sync(a.url, { proxy_url: s.url }), sync(b.url, { proxy_url: s.url })]);
    // With the whole cap, 10 MiB takes 2 s; sharing it, each takes about 4 s.
    for (const r of runs) assert.ok(r.seconds >= 3, `a sync of 10 MiB took ${r.seconds} s: it did not share the cap`);
    if (REPORT) console.log(`2 syncs: ${runs.map((r) => r.seconds.toFixed(2)).join(' s, ')} s for 10 MiB each`);
  });
});

test('uncapped, the shaper is a plain proxy; an https upstream goes through its tunnel; Basic auth is asked for', async () => {
  const plain = await tree(4);
  const cert = makeTestCertificate(tmp);
  const secure = await tree(2, { key: cert.key, cert: cert.cert });
  await withShaper(null, async (s) => {
    const { seconds } = await sync(plain.url, { proxy_url: s.url });
    assert.ok(s.stats().bytes >= 4 * MiB);
    if (REPORT) console.log(`uncapped: 4 MiB in ${seconds.toFixed(2)} s`);
  });
  await withShaper(RATE, async (s) => {
    const url = secure.url.replace('127.0.0.1', 'localhost');
    const denied = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: `d${n++}` });
    const remote = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: `d${n++}`, url: `${url}/PULP_MANIFEST`, max_retries: 0, proxy_url: s.url, ca_cert: cert.cert });
    const failed = await runTask(site, 'POST', `${denied.body.pulp_href}sync/`, { remote: remote.body.pulp_href, mirror: true });
    assert.is(failed.state, 'failed');
    assert.match(failed.error.description, /the proxy refused CONNECT localhost:\d+: 407/);
    await sync(url, { proxy_url: s.url, ca_cert: cert.cert, proxy_username: 'site', proxy_password: 'shaper-pass' });
    assert.ok(s.stats().bytes >= 2 * MiB, 'the tunnel carried the tree');
  }, { username: 'site', password: 'shaper-pass' });
});

if (REPORT) {
  test('report: achieved rate over ~20 s with 1, 2 and 4 concurrent syncs', async () => {
    for (const k of [1, 2, 4]) {
      const per = Math.round(100 / k);
      const ts: TreeServer[] = [];
      for (let i = 0; i < k; i++) ts.push(await tree(per));
      await withShaper(RATE, async (s) => {
        const started = Date.now();
        const runs = await Promise.all(ts.map((t) => sync(t.url, { proxy_url: s.url })));
        const wall = (Date.now() - started) / 1000;
        const total = (per * k * MiB) / MiB;
        console.log(`${k} concurrent: ${total} MiB in ${wall.toFixed(2)} s = ${(total / wall).toFixed(3)} MiB/s (target 5); per sync ${runs.map((r) => r.seconds.toFixed(1)).join(', ')} s`);
      });
    }
  });
}

test.run();
