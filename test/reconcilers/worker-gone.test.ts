/**
 * A Pulp worker gone after observe looked (issue 15 item 8): a worker killed with SIGKILL stays in
 * status/ until its heartbeat is 30 s old (recording extra4/128), so the pass finds the site
 * healthy and starts its worker tasks, which then wait for nobody. The client looks at status/
 * again while such a task waits; with no worker online it cancels the task, the placement waits
 * (Pending, saying why), the other sites converge, and the pass ends instead of holding until the
 * task deadline (an hour). Real `pulpdist site` processes; the edge runs with `--workers 0` behind a
 * small proxy that answers its first status/ requests with the recorded body listing the dead
 * worker, then lets the site answer (no worker, as extra4/129).
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { silentLogger } from '../../core/logger.js';
import { createPulpClient } from '../../pulp/client.js';
import { createPassMemory, reconcilePass } from '../../reconcilers/pass.js';
import { loadValidSpecs } from '../../cli/pass-setup.js';
import { createSourceReader } from '../../sources/reader.js';
import { tempDir } from '../../testkit/cli.js';
import { call, startSite, type RunningSite } from '../../testkit/site.js';

const DEAD_WORKER_STATUS = readFileSync(path.join(PACKAGE_ROOT, 'test', 'pulp', 'recorded', 'extra4', '128-status-r2-just-after-sigkill.body'), 'utf8');

/** Forwards to `target`, except the first `lies` GETs of status/, answered with the recorded body. */
async function startStaleStatusProxy(target: string, lies: number): Promise<{ url: string; statusAnswers: () => string[]; close: () => Promise<void> }> {
  const t = new URL(target);
  const answers: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '').startsWith('/pulp/api/v3/status/')) {
      answers.push(answers.length < lies ? 'stale' : 'site');
      if (answers[answers.length - 1] === 'stale') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(DEAD_WORKER_STATUS);
        return;
      }
    }
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.headersSent || res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    statusAnswers: () => [...answers],
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

let cleanup: () => Promise<void> = async () => {};
const sites: RunningSite[] = [];
let proxy: Awaited<ReturnType<typeof startStaleStatusProxy>> | undefined;

test.after(async () => {
  await proxy?.close();
  for (const s of sites) await s.stop().catch(() => undefined);
  await cleanup();
});

test('tasks waiting at a site whose worker died: canceled, the placement Pending with the reason, the pass goes on and ends', async () => {
  const t = await tempDir('pulpdist-worker-gone-');
  cleanup = t.cleanup;
  const trees = path.join(t.dir, 'trees');
  for (const name of ['tools', 'docs']) {
    await mkdir(path.join(trees, name), { recursive: true });
    await writeFile(path.join(trees, name, `${name}.txt`), `the ${name} tree\n`);
  }
  const origin = await startSite({ dataDir: path.join(t.dir, 'origin'), allowedImportPaths: [trees] });
  sites.push(origin);
  const edge = await startSite({ dataDir: path.join(t.dir, 'edge'), extraArgs: ['--workers', '0'] });
  sites.push(edge);
  // Stale twice: the observe, then the first look while a task waits (a worker still listed: keep
  // waiting, as for a busy one); the next look gets the truth.
  proxy = await startStaleStatusProxy(edge.url, 2);
  const specsDir = path.join(t.dir, 'specs');
  await mkdir(specsDir);
  await writeFile(path.join(specsDir, 'specs.yaml'), [
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', `spec: {pulp: {url: "${origin.url}"}}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: edge}', `spec: {pulp: {url: "${proxy.url}"}, upstream: origin}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: tools}', `spec: {source: {path: "${trees}/tools"}, origin: origin, sites: [origin, edge]}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: docs}', `spec: {source: {path: "${trees}/docs"}, origin: origin, sites: [origin, edge]}`, '',
  ].join('\n'));
  const specs = await loadValidSpecs(specsDir);
  const clients = new Map(specs.sites.map((s) => [s.name, createPulpClient(s, { log: silentLogger, taskNoWorkerCheckMs: 300 })]));

  // Without the look at status/, the edge's first worker task would wait for its 1 h deadline and
  // this signal would end the pass first: the result would say aborted, not Pending.
  const result = await reconcilePass(specs, {
    clients, log: silentLogger, now: () => new Date(), memory: createPassMemory(), sources: createSourceReader({ cacheDir: path.join(t.dir, 'scan-cache') }),
  }, { signal: AbortSignal.timeout(90_000) });

  const cell = (mirror: string, site: string) => result.mirrors.find((m) => m.name === mirror)!.sites.find((c) => c.site === site)!;
  for (const m of ['tools', 'docs']) {
    assert.is(cell(m, 'origin').state, 'Synced', `${m}@origin: ${cell(m, 'origin').message}`);
    assert.is(cell(m, 'edge').state, 'Pending', `${m}@edge: ${cell(m, 'edge').message}`);
    assert.match(cell(m, 'edge').message, /site edge has no online Pulp worker/);
  }
  // The distribution creates (in flight together) waited and were canceled; the syncs after them never started.
  const said = ['tools', 'docs'].map((m) => cell(m, 'edge').message);
  assert.ok(said.every((s) => /^site edge has no online Pulp worker: a create distribution there waited [\d.]+m?s and was canceled; its tasks start again once one is back$/.test(s)), said.join('\n'));
  assert.equal(proxy.statusAnswers().slice(0, 3), ['stale', 'stale', 'site'], 'a listed worker kept the task followed; none online ended it');
  assert.is(result.sites.find((s) => s.name === 'edge')?.state, 'degraded', 'the re-observe after apply sees no worker');
  assert.ok(result.failures.some((f) => f.site === 'edge' && /no online Pulp worker/.test(f.message)), result.failures.join('\n'));
  // Nothing left waiting at the edge: the waiting task was asked to cancel.
  const waiting = await call(edge, 'GET', '/pulp/api/v3/tasks/?state=waiting');
  assert.is(waiting.body.count, 0, JSON.stringify(waiting.body.results?.map((x: { name: string; state: string }) => [x.name, x.state])));
  const tasks = await call(edge, 'GET', '/pulp/api/v3/tasks/');
  assert.ok(tasks.body.results.some((x: { state: string }) => x.state === 'canceled' || x.state === 'canceling'), 'the waiting task was canceled');
});

test.run();
