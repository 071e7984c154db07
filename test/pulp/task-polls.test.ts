/**
 * How the client follows tasks as against real Pulp: an update (an immediate task in Pulp, done
 * before the 202) is polled once, at once; a distribution create (a worker task) is first polled
 * only after `taskPollMinMs`, since a poll at once could only find it unfinished. The client talks
 * to a real embedded site through a proxy that removes the held-poll extension's header both ways
 * (core/task-hold.ts), as real Pulp neither honours nor sends it (test/pulp/task-hold.test.ts has
 * the site that does). The requests are read from the client's own debug log (one `pulp request`
 * line each).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createLogger } from '../../core/logger.js';
import { TASK_HOLD_HEADER } from '../../core/task-hold.js';
import { createPulpClient } from '../../pulp/client.js';
import type { PulpClient } from '../../pulp/types.js';
import { tempDir } from '../../testkit/cli.js';
import { startSite, type RunningSite } from '../../testkit/site.js';
import { siteAt } from './fault-server.js';

const POLL_MIN_MS = 150;
const LABELS = { managed_by: 'pulpdist', pulpdist_mirror: 'polls' };

let site: RunningSite;
let proxy: http.Server;
let tmp: { dir: string; cleanup: () => Promise<void> };
let client: PulpClient;
const requests: { method: string; url: string; status: number; at: number }[] = [];

test.before(async () => {
  tmp = await tempDir('pulpdist-task-polls-');
  site = await startSite({ dataDir: path.join(tmp.dir, 'data') });
  // Real Pulp's view of the extension: the header is neither seen by the site nor sent back.
  proxy = http.createServer((req, res) => {
    const headers = { ...req.headers };
    delete headers[TASK_HOLD_HEADER];
    const upstream = http.request(site.url + req.url, { method: req.method, headers }, (answer) => {
      const back = { ...answer.headers };
      delete back[TASK_HOLD_HEADER];
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const log = createLogger({
    level: 'debug',
    format: 'json',
    write: (line) => {
      const e = JSON.parse(line) as { msg: string; method: string; url: string; status: number };
      if (e.msg === 'pulp request') requests.push({ method: e.method, url: e.url, status: e.status, at: performance.now() });
    },
  });
  client = createPulpClient(siteAt(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, {}, 'polls'), { taskPollMinMs: POLL_MIN_MS, taskPollMaxMs: 1000, log });
});

test.after(async () => {
  await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
  await site?.stop();
  await tmp?.cleanup();
});

const taskGets = (from: number) => requests.slice(from).filter((r) => r.method === 'GET' && /\/tasks\//.test(r.url));

test('a distribution create (a worker task) is first polled after taskPollMinMs; an update (immediate) is polled once', async () => {
  const repo = await client.createRepository({ name: 'pulpdist.polls', pulp_labels: LABELS });

  const beforeCreate = requests.length;
  const dist = await client.createDistribution({ name: 'pulpdist.polls', base_path: 'polls', repository: repo.pulp_href, pulp_labels: LABELS });
  assert.is(dist.base_path, 'polls');
  const post = requests.slice(beforeCreate).find((r) => r.method === 'POST');
  assert.ok(post, 'the create was sent');
  assert.is(post!.status, 202);
  const createPolls = taskGets(beforeCreate);
  assert.ok(createPolls.length >= 1, 'the task was polled');
  // Logged when answered, so the first poll was sent at least POLL_MIN_MS after the 202 arrived.
  assert.ok(createPolls[0]!.at - post!.at >= POLL_MIN_MS, `first poll ${(createPolls[0]!.at - post!.at).toFixed(0)} ms after the 202`);

  const beforeUpdate = requests.length;
  const task = await client.updateDistribution(dist.pulp_href, { pulp_labels: { ...LABELS, extra: 'x' } });
  assert.is(task.state, 'completed');
  const updatePolls = taskGets(beforeUpdate);
  assert.is(updatePolls.length, 1, 'an immediate task is done before the 202: one poll finds it completed');
});

test.run();
