/**
 * A rollout under `pulpdist run` (a child process over a local bare repository, three real
 * embedded sites origin → hub → leaf): a commit that brings a new tree and a rollout whose canary
 * probe fails halts it, Blocked with the reason in the status document, on the page and in the
 * status commit; the controller runs the rollback pass by itself (the canary serves the previous
 * tree again) and, restarted, goes on from the record on the status branch instead of beginning
 * the rollout again.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MirrorStatus, StatusDocument } from '../../core/status.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { commitAndPush, makeRepo, runGit, writeFiles } from '../../testkit/git-server.js';
import { startChainSites, type RunningSite } from '../../testkit/site.js';

const siteYaml = (name: string, url: string, extra = ''): string => `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: ${name}}\nspec:\n  pulp: {url: "${url}"}\n${extra}`;
const ROLLOUT = `  rollout:
    rollbackOnFailure: true
    stages:
      - {name: canary, sites: [leaf], verify: [{path: missing.txt}]}
      - {name: rest, sites: ["*"]}
`;
const mirrorYaml = (tree: string, rollout = ''): string =>
  `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: tools}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, hub, leaf]\n  retainVersions: 3\n${rollout}`;

let dir = '';
let cleanup: () => Promise<void> = async () => {};
const sites: Record<string, RunningSite> = {};
let bare = '';
let work = '';
let tree = '';
let ctl: ControllerProcess | undefined;

function setTree(n: number): void {
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  writeFileSync(path.join(tree, 'a.txt'), `a, tree ${n}\n`);
}

const seen: Record<string, string> = {};
async function served(site: string): Promise<string> {
  const r = await fetch(`${sites[site]?.url}/pulp/content/tools/a.txt`);
  seen[site] = r.status === 200 ? await r.text() : `(${r.status})`;
  return seen[site] ?? '';
}

async function tools(url: string): Promise<MirrorStatus | undefined> {
  const r = await fetch(`${url}/api/v1/status`);
  return ((await r.json()) as StatusDocument).mirrors.find((m) => m.name === 'tools');
}

async function waitFor<T>(what: string, get: () => Promise<T>, pred: (v: T) => boolean | Promise<boolean>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await get().catch(() => last);
    if (last !== undefined && (await pred(last))) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; served: ${JSON.stringify(seen)}; last: ${JSON.stringify(last)?.slice(0, 3000)}\nlog:\n${ctl?.log().slice(-3000)}`);
}

const statusFile = (): string => runGit(['show', 'pulpdist/status:status/mirrors/tools.yaml'], bare);
const runArgs = (): string[] => ['--repo', bare, '--path', 'specs', '--interval', '1h', '--state-dir', path.join(dir, 'state'), '--log-format', 'json'];

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-rollout-run-'));
  tree = path.join(dir, 'trees', 'tools');
  setTree(1);
  await startChainSites(dir, sites);
  ({ bare, work } = makeRepo(dir, 'specs', {
    'specs/sites.yaml': [siteYaml('origin', sites.origin.url), siteYaml('hub', sites.hub.url, '  upstream: origin\n'), siteYaml('leaf', sites.leaf.url, '  upstream: hub\n')].join('---\n'),
    'specs/tools.yaml': mirrorYaml(tree),
  }));
});

test.after(async () => {
  await ctl?.kill().catch(() => undefined);
  for (const s of Object.values(sites)) await s.stop().catch(() => undefined);
  await cleanup();
});

test('a failed canary probe: Blocked in status, page and status commit, rolled back without a new trigger, still halted after a restart', async () => {
  ctl = await startControllerProcess(runArgs());
  await waitFor('tree 1 everywhere', () => tools(ctl!.url), async (m) => m?.sites.every((c) => c.state === 'Synced') === true && (await served('leaf')) === 'a, tree 1\n');

  setTree(2);
  writeFiles(work, { 'specs/tools.yaml': mirrorYaml(tree, ROLLOUT) });
  commitAndPush(work, 'tree 2, through a canary');
  const halted = await waitFor('the rollout halted and the canary rolled back', () => tools(ctl!.url), async (m) =>
    m?.rollout?.state === 'Blocked' && (await served('leaf')) === 'a, tree 1\n');
  assert.equal([await served('origin'), await served('hub')], ['a, tree 2\n', 'a, tree 1\n']);
  const leaf = halted?.sites.find((c) => c.site === 'leaf');
  assert.is(leaf?.state, 'Blocked');
  assert.match(leaf?.message ?? '', 'probe missing.txt at leaf: answered 404');
  assert.equal([halted?.rollout?.stageName, halted?.rollout?.previous], ['canary', halted?.rollout?.before.leaf]);
  assert.match(await (await fetch(`${ctl.url}/`)).text(), 'data-rollout="Blocked"');
  // The terminal view too, and the halted rollout makes it exit 1.
  const term = await runCli(['status', '--server', ctl.url]);
  assert.is(term.code, 1, term.stdout + term.stderr);
  assert.match(term.stdout, /^rollouts:\n  tools: stage 1\/2 canary: Blocked: .*probe missing\.txt at leaf: answered 404/m);
  const committed = await waitFor('the status commit with the halted rollout', async () => statusFile(), (t) => /state: Blocked/.test(t) && /haltedProbes/.test(t));
  assert.match(committed, 'probe missing.txt at leaf: answered 404');

  assert.is(await ctl.stop(), 0, ctl.log().slice(-2000));
  ctl = await startControllerProcess(runArgs());
  const after = await waitFor('the first pass after the restart', async () => {
    const r = await fetch(`${ctl!.url}/api/v1/status`);
    return (await r.json()) as StatusDocument;
  }, (d) => d.controller.lastPass?.result === 'succeeded');
  const again = after.mirrors.find((m) => m.name === 'tools');
  assert.equal([again?.rollout?.state, again?.rollout?.since, again?.rollout?.digest], ['Blocked', halted?.rollout?.since, halted?.rollout?.digest]);
  assert.equal([await served('leaf'), await served('hub')], ['a, tree 1\n', 'a, tree 1\n']);
});

test.run();
