/**
 * A site with no online Pulp worker is `degraded` (issue 15 item 8): its syncs are not started
 * (on real Pulp they would wait until the 1 h pass deadline and hold the whole pass), the rest of
 * the pass goes on, and once its worker is back the next pass converges. Real `pulpdist site`
 * processes (`--workers 0` answers status/ with `online_workers: []` and leaves tasks waiting,
 * as real Pulp does), the real binary.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/logger.js';
import { clientsFor, loadValidSpecs } from '../../cli/pass-setup.js';
import { createPassMemory, reconcilePass } from '../../reconcilers/pass.js';
import { createSourceReader } from '../../sources/reader.js';
import { call, startSite, type RunningSite } from '../../testkit/site.js';
import { runCli, tempDir } from '../../testkit/cli.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let origin: RunningSite | undefined;
let edge: RunningSite | undefined;
let specs = '';
const env = (): Record<string, string> => ({ XDG_CACHE_HOME: path.join(dir, 'cache') });

async function writeSpecs(): Promise<void> {
  const trees = path.join(dir, 'trees');
  await writeFile(path.join(specs, 'specs.yaml'), [
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', `spec: {pulp: {url: "${origin!.url}"}}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: edge}', `spec: {pulp: {url: "${edge!.url}"}, upstream: origin}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: tools}', `spec: {source: {path: "${trees}/tools"}, origin: origin, sites: [origin, edge]}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: docs}', `spec: {source: {path: "${trees}/docs"}, origin: origin, sites: [origin]}`, '',
  ].join('\n'));
}

let setup: Promise<void> = Promise.resolve();
async function prepare(): Promise<void> {
  ({ dir, cleanup } = await tempDir('pulpdist-degraded-'));
  for (const t of ['tools', 'docs']) {
    await mkdir(path.join(dir, 'trees', t), { recursive: true });
    await writeFile(path.join(dir, 'trees', t, `${t}.txt`), `the ${t} tree\n`);
  }
  origin = await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [path.join(dir, 'trees')] });
  edge = await startSite({ dataDir: path.join(dir, 'edge'), extraArgs: ['--workers', '0'] });
  specs = path.join(dir, 'specs');
  await mkdir(specs);
  await writeSpecs();
}

test.before(() => {
  setup = prepare();
  setup.catch(() => undefined);
});

test.after(async () => {
  await Promise.all([origin?.stop(), edge?.stop()]);
  await cleanup();
});

test('the embedded site started with --workers 0 answers status/ as a real Pulp with its worker stopped', async () => {
  await setup;
  const s = await call(edge!, 'GET', '/pulp/api/v3/status/');
  assert.is(s.status, 200);
  assert.equal(s.body.online_workers, []);
  assert.ok(s.body.storage && s.body.storage.total > 0 && s.body.storage.free > 0, JSON.stringify(s.body.storage));
  // A worker's task waits (worker null, not started); an immediate one (a delete) runs in the API.
  const made = await call(edge!, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'probe' });
  assert.is(made.status, 201);
  const dist = await call(edge!, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'probe', base_path: 'probe', repository: made.body.pulp_href });
  assert.is(dist.status, 202);
  const waiting = await call(edge!, 'GET', dist.body.task);
  assert.equal([waiting.body.state, waiting.body.worker, waiting.body.started_at], ['waiting', null, null]);
  const del = await call(edge!, 'DELETE', made.body.pulp_href);
  const deleted = await call(edge!, 'GET', del.body.task);
  assert.equal([deleted.body.state, deleted.body.worker], ['completed', null]);
  const canceled = await call(edge!, 'PATCH', dist.body.task, { state: 'canceled' });
  assert.is(canceled.status, 200);
});

test('plan: the site is degraded, its syncs and distribution creates held with the reason', async () => {
  await setup;
  const r = await runCli(['plan', '--specs', specs, '--json'], { env: env() });
  assert.is(r.code, 2, r.stderr);
  const doc = JSON.parse(r.stdout) as { sites: { name: string; health?: string; message: string }[]; entries: { site: string; kind: string; action: string; reason: string }[] };
  const site = doc.sites.find((s) => s.name === 'edge')!;
  assert.is(site.health, 'degraded');
  assert.match(site.message, /no online Pulp worker/);
  assert.is(doc.sites.find((s) => s.name === 'origin')!.health, 'reachable');
  const atEdge = doc.entries.filter((e) => e.site === 'edge').map((e) => `${e.action} ${e.kind}`).sort();
  // Repositories and remotes are created at once (201) without a worker; a distribution is a worker's task.
  assert.equal(atEdge, ['create remote', 'create repository', 'noop sync']);
  assert.match(doc.entries.find((e) => e.site === 'edge' && e.action === 'noop')!.reason, /site edge has no online Pulp worker/);
  const text = await runCli(['plan', '--specs', specs], { env: env() });
  assert.match(text.stdout, /site edge \(pulpdist site [^)]*\): degraded: no online Pulp worker/);
});

test('cleanup: skipped at the degraded site (its task would only wait), with the reason; exit 1', async () => {
  await setup;
  const r = await runCli(['cleanup', '--specs', specs, '--site', 'edge'], { env: env() });
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^edge: skipped: site edge has no online Pulp worker$/m);
  const waiting = await call(edge!, 'GET', '/pulp/api/v3/tasks/?state=waiting');
  assert.is(waiting.body.count, 0);
});

test('apply: the other site converges at once, the degraded one starts no task; with its worker back it converges', async () => {
  await setup;
  // Were the pass waiting on a task no worker runs, it would hold until its 1 h deadline and the
  // command would outlive runCli's limit.
  const r = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /tools@edge: Pending: site edge has no online Pulp worker/);
  assert.not.match(r.stdout, /docs@origin|tools@origin/);
  for (const t of ['tools', 'docs']) {
    const got = await fetch(`${origin!.url}/pulp/content/${t}/${t}.txt`);
    assert.is(await got.text(), `the ${t} tree\n`);
  }
  const waiting = await call(edge!, 'GET', '/pulp/api/v3/tasks/?state=waiting');
  assert.is(waiting.body.count, 0, 'no task left waiting at the degraded site');
  const repos = await call(edge!, 'GET', '/pulp/api/v3/repositories/file/file/');
  assert.equal(repos.body.results.map((x: { name: string }) => x.name), ['pulpdist.tools']);

  // The status document (what the controller serves and commits) says degraded and why.
  const specSet = await loadValidSpecs(specs);
  const result = await reconcilePass(specSet, {
    clients: clientsFor(specSet, silentLogger), log: silentLogger, now: () => new Date(), memory: createPassMemory(), sources: createSourceReader(),
  }, { signal: AbortSignal.timeout(60_000), dryRun: true });
  const site = result.sites.find((s) => s.name === 'edge')!;
  assert.equal([site.state, site.reachable], ['degraded', true]);
  assert.match(site.message, /degraded: no online Pulp worker/);
  assert.ok(site.storage && site.storage.total > 0);
  assert.is(result.sites.find((s) => s.name === 'origin')!.state, 'reachable');
  const cell = result.mirrors.find((m) => m.name === 'tools')!.sites.find((s) => s.site === 'edge')!;
  assert.is(cell.state, 'Pending');
  assert.match(cell.message, /site edge has no online Pulp worker/);

  await edge!.restart({ extraArgs: [] });
  await writeSpecs(); // the restarted site listens on a new port
  const again = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(again.code, 0, again.stdout + again.stderr);
  assert.is(await (await fetch(`${edge!.url}/pulp/content/tools/tools.txt`)).text(), 'the tools tree\n');
});

test.run();
