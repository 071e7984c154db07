/**
 * Held task polls (core/task-hold.ts) against real embedded sites: a task GET with
 * `Pulpdist-Wait-Ms` is held while the task is unfinished and answered with the same header; one
 * without it is answered at once, as real Pulp answers it. The client learns that a site holds and
 * then follows a sync with a poll or two instead of its polling schedule. The upstream of the sync
 * keeps the manifest back until the test lets it go, so the sync's length is the test's choice.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createLogger } from '../../core/logger.js';
import { TASK_HOLD_HEADER } from '../../core/task-hold.js';
import { createPulpClient } from '../../pulp/client.js';
import { tempDir } from '../../testkit/cli.js';
import { call, startSite, type RunningSite } from '../../testkit/site.js';
import { siteAt } from './fault-server.js';

const BODY = 'held\n';

/** An upstream whose PULP_MANIFEST is answered only once `release()` is called. */
async function gatedUpstream() {
  const sha = createHash('sha256').update(BODY).digest('hex');
  let open = false;
  const waiting: (() => void)[] = [];
  let manifestAsked: () => void = () => {};
  const asked = new Promise<void>((r) => (manifestAsked = r));
  const server = http.createServer((req, res) => {
    const send = () => {
      if (req.url?.endsWith('/PULP_MANIFEST')) res.end(`a.txt,${sha},${BODY.length}\n`);
      else if (req.url?.endsWith('/a.txt')) res.end(BODY);
      else res.writeHead(404).end();
    };
    if (req.url?.endsWith('/PULP_MANIFEST')) manifestAsked();
    if (open) send();
    else waiting.push(send);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tree/PULP_MANIFEST`,
    asked,
    release() {
      open = true;
      for (const w of waiting.splice(0)) w();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let tmp: { dir: string; cleanup: () => Promise<void> };
const stops: (() => Promise<unknown>)[] = [];
test.before(async () => {
  tmp = await tempDir('pulpdist-task-hold-');
});
test.after(async () => {
  for (const s of stops.reverse()) await s();
  await tmp?.cleanup();
});

async function site(name: string, extraArgs: string[] = []): Promise<RunningSite> {
  const s = await startSite({ dataDir: path.join(tmp.dir, name), extraArgs });
  stops.push(() => s.stop());
  return s;
}

async function syncTask(s: RunningSite, manifestUrl: string, name: string): Promise<string> {
  const repo = await call(s, 'POST', '/pulp/api/v3/repositories/file/file/', { name });
  const remote = await call(s, 'POST', '/pulp/api/v3/remotes/file/file/', { name, url: manifestUrl });
  const sync = await call(s, 'POST', `${repo.body.pulp_href}sync/`, { remote: remote.body.pulp_href });
  assert.is(sync.status, 202, sync.text);
  return sync.body.task as string;
}

async function getTask(s: RunningSite, href: string, hold?: number): Promise<{ state: string; echo: string | null }> {
  const res = await fetch(s.url + href, { headers: hold === undefined ? {} : { [TASK_HOLD_HEADER]: String(hold) } });
  assert.is(res.status, 200);
  return { state: ((await res.json()) as { state: string }).state, echo: res.headers.get(TASK_HOLD_HEADER) };
}

test('a poll asking for a hold waits for the end of the task and says it held; one without is answered at once', async () => {
  const upstream = await gatedUpstream();
  stops.push(upstream.close);
  const s = await site('protocol');
  const task = await syncTask(s, upstream.url, 'protocol');
  await upstream.asked;
  // Without the header: the task as it is, and no sign of the extension (real Pulp's answer).
  assert.equal(await getTask(s, task), { state: 'running', echo: null });
  // A short hold runs out while the sync waits for its manifest: still running, the hold named.
  assert.equal(await getTask(s, task, 200), { state: 'running', echo: '200' });
  // A long hold ends when the task does.
  const held = getTask(s, task, 10_000);
  upstream.release();
  assert.equal(await held, { state: 'completed', echo: '10000' });
  // A finished task is answered at once, with the header.
  assert.equal(await getTask(s, task, 10_000), { state: 'completed', echo: '10000' });
  // Anything but a number of ms asks for nothing.
  assert.equal(await getTask(s, task, 'soon' as unknown as number), { state: 'completed', echo: null });
});

test('a task waiting for a worker that never comes is held only as long as asked', async () => {
  const s = await site('no-worker', ['--workers', '0']);
  const r = await call(s, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'idle' });
  const created = await call(s, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'idle', base_path: 'idle', repository: r.body.pulp_href });
  assert.equal(await getTask(s, created.body.task as string, 300), { state: 'waiting', echo: '300' });
});

test('the client learns that a site holds and follows a sync with a poll or two', async () => {
  const upstream = await gatedUpstream();
  stops.push(upstream.close);
  const s = await site('client');
  const polls: string[] = [];
  const log = createLogger({
    level: 'debug',
    format: 'json',
    write: (line) => {
      const e = JSON.parse(line) as { msg: string; method: string; url: string };
      if (e.msg === 'pulp request' && e.method === 'GET' && e.url.includes('/tasks/')) polls.push(e.url);
    },
  });
  // A 20 ms minimum would make some 15 polls over the sync's 1.5 s on the schedule.
  const client = createPulpClient(siteAt(s.url, {}, 'client'), { taskPollMinMs: 20, taskPollMaxMs: 1000, log });
  const repo = await client.createRepository({ name: 'pulpdist.held', pulp_labels: { managed_by: 'pulpdist' } });
  const remote = await client.createRemote({ name: 'pulpdist.held', url: upstream.url, pulp_labels: { managed_by: 'pulpdist' } });
  const before = polls.length;
  const timer = upstream.asked.then(() => setTimeout(() => upstream.release(), 1500));
  const task = await client.syncRepository(repo.pulp_href, { remote: remote.pulp_href, mirror: true });
  await timer;
  assert.is(task.state, 'completed');
  const used = polls.length - before;
  assert.ok(used >= 1 && used <= 4, `${used} task polls for a 1.5 s sync`);
});

test('the 202 says the site holds: a new client polls its first task at once, not after its first-poll wait', async () => {
  const upstream = await gatedUpstream();
  stops.push(upstream.close);
  const s = await site('first-poll');
  const r = await call(s, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'first' });
  const created = await call(s, 'POST', `${r.body.pulp_href}sync/`, { remote: (await call(s, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'first', url: upstream.url })).body.pulp_href });
  assert.is(created.status, 202);
  assert.is(created.headers.get(TASK_HOLD_HEADER), '10000');
  // A client that never polled this site, whose first poll of a worker's task would wait 5 s.
  let polled: () => void = () => {};
  const firstPoll = new Promise<'polled'>((resolve) => (polled = () => resolve('polled')));
  const log = createLogger({
    level: 'debug',
    format: 'json',
    write: (line) => {
      const e = JSON.parse(line) as { msg: string; method: string; url: string };
      if (e.msg === 'pulp request' && e.method === 'GET' && e.url.includes('/tasks/')) polled();
    },
  });
  const client = createPulpClient(siteAt(s.url, {}, 'first-poll'), { taskPollMinMs: 5_000, taskPollMaxMs: 5_000, log });
  const repo = await client.createRepository({ name: 'pulpdist.first', pulp_labels: { managed_by: 'pulpdist' } });
  const remote = await client.createRemote({ name: 'pulpdist.first', url: upstream.url, pulp_labels: { managed_by: 'pulpdist' } });
  const sync = client.syncRepository(repo.pulp_href, { remote: remote.pulp_href, mirror: true });
  // The upstream holds the sync until the client's first poll has gone out (or 3 s, then too late).
  const first = await Promise.race([firstPoll, new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 3_000))]);
  upstream.release();
  assert.is(first, 'polled');
  assert.is((await sync).state, 'completed');
});

test.run();
