/**
 * Item 1 of issue 8: a site that refuses connections, answers 503 or is slower than the request
 * timeout, during `pulpdist apply` and under `pulpdist run`. Three real sites (origin → a, origin →
 * b), b behind a fault proxy. Each case: the other sites converge on the new tree, b keeps serving
 * the tree it had (nothing published lost, nothing wrong published), the failure names b and the
 * cause, GET retries back off, and once b is back the next apply/pass converges.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../helpers/cli.js';
import { startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import { commitAndPush, makeRepo, writeFiles } from '../helpers/git-server.js';
import type { ProxyMode } from './fault-proxy.js';
import {
  assertServes, getStatus, listNames, mirrorDoc, pollUntil, pulpdist, siteDocs, startNetwork, stopNetwork, writeSpecs, writeTreeFiles,
  type NetSite, type SiteDef,
} from './support.js';

const SITES: SiteDef[] = [{ name: 'origin' }, { name: 'a', upstream: 'origin' }, { name: 'b', upstream: 'origin' }];
let dir = '';
let cleanup = async (): Promise<void> => {};
let net: Map<string, NetSite> | undefined;
let specs = '';
let tree = '';
let env: Record<string, string> = {};
let generation = 0;
/** What the tree holds now (and what every site should serve once converged). */
let files: Record<string, string> = {};

const b = (): NetSite => net!.get('b')!;

/** A new version of the tree: one file changed, one added. */
async function nextTree(): Promise<{ before: Record<string, string>; after: Record<string, string> }> {
  const before = files;
  generation++;
  files = { ...files, 'README': `generation ${generation}\n`, [`pkgs/p${generation}.rpm`]: `package ${generation} `.repeat(50) };
  await writeTreeFiles(tree, files);
  return { before, after: files };
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-faults-sites-'));
  tree = path.join(dir, 'trees', 'm');
  mkdirSync(tree, { recursive: true });
  net = await startNetwork(SITES.map((s) => (s.name === 'origin' ? { ...s, start: { allowedImportPaths: [path.join(dir, 'trees')] } } : s)), dir);
  specs = path.join(dir, 'specs');
  env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
  await nextTree();
  await writeSpecs(specs, net, SITES, [{ name: 'm', source: { path: tree }, origin: 'origin', sites: ['origin', 'a', 'b'] }]);
  const r = await pulpdist(['apply', '--specs', specs], env);
  assert.is(r.code, 0, r.stdout + r.stderr);
});

test.after(async () => {
  await stopNetwork(net);
  await cleanup();
});

/** Apply with b faulty: the rest converge, b keeps its tree and is named; then b recovers. */
async function applyWithFault(mode: ProxyMode, cause: RegExp, extraArgs: string[] = []): Promise<string> {
  const { before, after } = await nextTree();
  await b().proxy.setMode(mode);
  let r;
  try {
    r = await pulpdist(['apply', '--specs', specs, ...extraArgs], env);
  } finally {
    await b().proxy.setMode('pass');
  }
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^Not converged\./m);
  assert.match(r.stdout, new RegExp(`^  - b: unreachable: b: GET ${b().proxy.url.replace(/[.]/g, '\\.')}/pulp/api/v3/status/:? ${cause.source}`, 'm'), r.stdout);
  assert.not.match(r.stdout + r.stderr, /at .*\.js:\d+|internal error/, 'no stack trace');
  // The other sites proceed to the new tree; b still serves the old one, byte for byte.
  await assertServes(net!.get('origin')!, 'm', after);
  await assertServes(net!.get('a')!, 'm', after);
  await assertServes(b(), 'm', before, 'b (faulty during the apply)');
  // Convergence once b is back.
  const again = await pulpdist(['apply', '--specs', specs, ...extraArgs], env);
  assert.is(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /^Converged/m);
  for (const n of net!.values()) await assertServes(n, 'm', after);
  return r.stderr;
}

/** The delays of the "retrying pulp request" warnings for b's status GET, in order. */
function retryDelays(log: string): number[] {
  return log
    .split('\n')
    .filter((l) => l.includes('retrying pulp request') && / site=b\b/.test(l) && l.includes('/status/'))
    .map((l) => Number(/delayMs=(\d+)/.exec(l)?.[1]));
}

test('apply: b refuses connections → the others converge, b is named unreachable (ECONNREFUSED), retries back off; then converges', async () => {
  const log = await applyWithFault('refuse', /failed: ECONNREFUSED; check that Pulp is running and spec\.pulp\.url is right/);
  // b is observed twice (before the plan and after the apply), each time with 4 retries.
  const delays = retryDelays(log);
  assert.is(delays.length, 8, log);
  // Exponential with jitter in [cap/2, cap]: 250, 500, 1000, 2000 ms caps.
  delays.forEach((d, i) => assert.ok(d >= (250 << i % 4) / 2 && d <= 250 << i % 4, `retry ${(i % 4) + 1} waited ${d} ms`));
});

test('apply: b answers 503 → named with the status, retried with back-off; then converges', async () => {
  const log = await applyWithFault('503', /answered 503 Service Unavailable/);
  assert.is(retryDelays(log).length, 8, log);
});

test('apply: b is slower than --request-timeout → named (ETIMEDOUT); then converges', async () => {
  await applyWithFault('hang', /failed: ETIMEDOUT/, ['--request-timeout', '500ms']);
});

test('apply: a login page answers for b (200 text/html) → b named with what it answered; then converges', async () => {
  await applyWithFault('html', /answered 200 with text\/html, not JSON/);
});

test('apply: b starts refusing connections while its sync runs → b named, the others converge; the next apply converges with no duplicates', async () => {
  const { after } = await nextTree();
  const seen = b().proxy.requests().length;
  const applying = pulpdist(['apply', '--specs', specs], env);
  let r;
  try {
    await pollUntil('b to be asked to sync', async () => (b().proxy.requests().slice(seen).some((q) => /^POST .*\/sync\/$/.test(q)) ? true : undefined), 60_000, 5);
    await b().proxy.setMode('refuse');
    r = await applying;
  } finally {
    await b().proxy.setMode('pass');
  }
  const out = r.stdout + r.stderr;
  assert.is(r.code, 1, out);
  assert.match(out, /^  - b: .*ECONNREFUSED/m);
  assert.not.match(out, /internal error|\n\s+at \S+:\d+/, 'no stack trace');
  await assertServes(net!.get('origin')!, 'm', after);
  await assertServes(net!.get('a')!, 'm', after);
  const again = await pulpdist(['apply', '--specs', specs], env);
  assert.is(again.code, 0, again.stdout + again.stderr);
  for (const n of net!.values()) {
    await assertServes(n, 'm', after);
    for (const kind of ['repositories', 'remotes', 'distributions'] as const) assert.equal(await listNames(n, kind), ['pulpdist.m'], `${n.name} ${kind}`);
  }
});

test('run: b answers 503 → status says b unreachable, the others Synced at the new commit, passes back off; b recovers by itself', async () => {
  const repoRoot = path.join(dir, 'repo');
  mkdirSync(repoRoot, { recursive: true });
  const { work } = makeRepo(repoRoot, 'specs', { 'specs/sites.yaml': siteDocs(net!, SITES), 'specs/m.yaml': mirrorDoc({ name: 'm', source: { path: tree }, origin: 'origin', sites: ['origin', 'a', 'b'] }) });
  let ctl: ControllerProcess | undefined;
  try {
    ctl = await startControllerProcess(['--repo', work, '--path', 'specs', '--interval', '1s', '--request-timeout', '1s', '--state-dir', path.join(dir, 'state'), '--status-branch', '']);
    const url = ctl.url;
    await pollUntil('a first converged pass', async () => {
      const d = await getStatus(url);
      return d.mirrors[0]?.sites.every((s) => s.state === 'Synced') ? d : undefined;
    });
    await b().proxy.setMode('503');
    const { before, after } = await nextTree();
    writeFiles(work, { 'specs/m.yaml': mirrorDoc({ name: 'm', source: { path: tree }, origin: 'origin', sites: ['origin', 'a', 'b'], extra: ['  retainVersions: 2'] }) });
    const commit = commitAndPush(work, 'touch m');
    const doc = await pollUntil('origin and a Synced on the new tree, b unreachable', async () => {
      const d = await getStatus(url);
      const m = d.mirrors.find((x) => x.name === 'm');
      const st = (s: string) => m?.sites.find((x) => x.site === s);
      const site = d.sites.find((s) => s.name === 'b');
      return st('origin')?.state === 'Synced' && st('a')?.state === 'Synced' && st('a')?.treeDigest === m?.treeDigest && site?.reachable === false ? d : undefined;
    }, 60_000);
    const bs = doc.sites.find((s) => s.name === 'b')!;
    assert.match(bs.message, /^unreachable: b: GET http:\/\/127\.0\.0\.1:\d+\/pulp\/api\/v3\/status\/ answered 503 Service Unavailable/);
    const cell = doc.mirrors.find((x) => x.name === 'm')!.sites.find((x) => x.site === 'b')!;
    assert.is.not(cell.state, 'Synced');
    assert.match(cell.message, /site b is unreachable/);
    await assertServes(b(), 'm', before, 'b while answering 503');
    // Passes that end with b unreachable are failures: the next one backs off (1 s, 2 s, 4 s…).
    const from = ctl.log().length;
    const backoffs = await pollUntil('two failed passes after the outage', async () => {
      const nexts = ctl!.log().slice(from).split('\n').filter((l) => /^INFO\s+pass .*converged=false/.test(l)).map((l) => /next=([\d.]+)(ms|s)\b/.exec(l)).map((m) => (m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : NaN));
      return nexts.length >= 2 ? nexts : undefined;
    }, 60_000);
    assert.ok(backoffs[1]! > backoffs[0]! * 1.5, `passes back off: next ${backoffs.join(' ms, ')} ms`);
    await b().proxy.setMode('pass');
    await pollUntil('b Synced after it recovers', async () => {
      const d = await getStatus(url);
      const m = d.mirrors.find((x) => x.name === 'm');
      return d.controller.observedCommit === commit && m?.sites.every((s) => s.state === 'Synced' && s.treeDigest === m.treeDigest) ? d : undefined;
    }, 60_000);
    for (const n of net!.values()) await assertServes(n, 'm', after);
    assert.is(await ctl.stop(), 0);
    ctl = undefined;
  } finally {
    await b().proxy.setMode('pass');
    await ctl?.kill();
  }
});

test.run();
