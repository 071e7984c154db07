/**
 * Item 1 of issue 8 under `pulpdist run` (sites.test.ts covers `apply`): three real sites (origin →
 * a, origin → b), b behind a fault proxy answering 503, refusing connections or hanging while a new
 * commit arrives. The status endpoint names b unreachable with the cause, the others reach Synced
 * on the new tree, b keeps serving its old tree, failed passes back off, and b converges by itself
 * once it is back.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { commitAndPush, makeRepo, writeFiles } from '../../testkit/git-server.js';
import type { ProxyMode } from './fault-proxy.js';
import {
  assertServes, getStatus, mirrorDoc, ORIGIN_A_B, pollUntil, siteDocs, startEvolvingNetwork, type EvolvingNetwork, type NetSite,
} from './support.js';

let fx: EvolvingNetwork | undefined;
const b = (): NetSite => fx!.net.get('b')!;

test.before(async () => {
  fx = await startEvolvingNetwork('pulpdist-faults-sites-');
});

let ctl: ControllerProcess | undefined;
let work = '';
let touches = 0;

test.after(async () => {
  await b().proxy.setMode('pass').catch(() => undefined);
  await ctl?.kill();
  await fx?.close();
});

/**
 * With b faulty, push a commit and a new tree: origin and a reach Synced on it while the status
 * names b unreachable with `cause` and b keeps its tree; `whileDown` runs then; once b is back,
 * everything is Synced on the commit, b included, with no human acting.
 */
async function outage(mode: ProxyMode, cause: RegExp, whileDown: () => Promise<void> = async () => {}): Promise<void> {
  if (!ctl) {
    const repoRoot = path.join(fx!.dir, 'repo');
    mkdirSync(repoRoot, { recursive: true });
    ({ work } = makeRepo(repoRoot, 'specs', { 'specs/sites.yaml': siteDocs(fx!.net, ORIGIN_A_B), 'specs/m.yaml': mirrorDoc({ name: 'm', source: { path: fx!.tree }, origin: 'origin', sites: ['origin', 'a', 'b'] }) }));
    ctl = await startControllerProcess(['--repo', work, '--path', 'specs', '--interval', '1s', '--request-timeout', '1s', '--state-dir', path.join(fx!.dir, 'state'), '--status-branch', '']);
  }
  const url = ctl.url;
  await pollUntil('a converged pass', async () => ((await getStatus(url)).mirrors[0]?.sites.every((s) => s.state === 'Synced') ? true : undefined), 60_000);
  await b().proxy.setMode(mode);
  try {
    const { before, after } = await fx!.nextTree();
    touches++;
    writeFiles(work, { 'specs/m.yaml': mirrorDoc({ name: 'm', source: { path: fx!.tree }, origin: 'origin', sites: ['origin', 'a', 'b'], extra: [`  retainVersions: ${2 + (touches % 2)}`] }) });
    const commit = commitAndPush(work, `touch m (${mode})`);
    const doc = await pollUntil('origin and a Synced on the new tree, b unreachable', async () => {
      const d = await getStatus(url);
      const m = d.mirrors.find((x) => x.name === 'm');
      const st = (s: string) => m?.sites.find((x) => x.site === s);
      const site = d.sites.find((s) => s.name === 'b');
      return d.controller.specCommit === commit && st('origin')?.state === 'Synced' && st('a')?.state === 'Synced' && st('a')?.treeDigest === m?.treeDigest && site?.reachable === false ? d : undefined;
    }, 90_000);
    const bs = doc.sites.find((s) => s.name === 'b')!;
    // The cause alone: `reachable: false` says unreachable (it read `unreachable: b: GET …`).
    assert.match(bs.message, new RegExp(`^GET http://127\\.0\\.0\\.1:\\d+/pulp/api/v3/status/:? ${cause.source}`));
    const cell = doc.mirrors.find((x) => x.name === 'm')!.sites.find((x) => x.site === 'b')!;
    assert.is.not(cell.state, 'Synced');
    assert.match(cell.message, /site b is unreachable/);
    await assertServes(b(), 'm', before, `b while it ${mode}s`);
    await whileDown();
    await b().proxy.setMode('pass');
    await pollUntil('b Synced after it recovers', async () => {
      const d = await getStatus(url);
      const m = d.mirrors.find((x) => x.name === 'm');
      return d.controller.observedCommit === commit && m?.sites.every((s) => s.state === 'Synced' && s.treeDigest === m.treeDigest) ? d : undefined;
    }, 90_000);
    for (const n of fx!.net.values()) await assertServes(n, 'm', after);
  } finally {
    await b().proxy.setMode('pass');
  }
}

test('run: b answers 503 → status names b and the cause, the others Synced on the new commit, passes back off; b recovers by itself', async () => {
  await outage('503', /answered 503 Service Unavailable/, async () => {
    // Passes that end with b unreachable are failures: the next one backs off (1 s, 2 s, 4 s…).
    const from = ctl!.log().length;
    const backoffs = await pollUntil('two failed passes after the outage', async () => {
      const nexts = ctl!.log().slice(from).split('\n').filter((l) => /^INFO\s+pass .*converged=false/.test(l)).map((l) => /next=([\d.]+)(ms|s)\b/.exec(l)).map((m) => (m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : NaN));
      return nexts.length >= 2 ? nexts : undefined;
    }, 60_000);
    assert.ok(backoffs[1]! > backoffs[0]! * 1.5, `passes back off: next ${backoffs.join(' ms, ')} ms`);
  });
});

test('run: b refuses connections → named (ECONNREFUSED); recovers by itself', async () => {
  await outage('refuse', /failed: ECONNREFUSED/);
});

test('run: b is slower than --request-timeout → named (ETIMEDOUT); recovers by itself', async () => {
  await outage('hang', /failed: ETIMEDOUT/);
});

test('run: SIGTERM ends the controller with exit 0', async () => {
  assert.is(await ctl!.stop(), 0, ctl!.log().slice(-2000));
  ctl = undefined;
});

test.run();
