/**
 * Progressive rollout (issue 20) with the real binary on three real embedded sites, origin → hub →
 * leaf, the canary being the leaf while its upstream hub is in the last stage: the leaf pulls the
 * new tree from the origin while the hub keeps the old one until the canary's soak ends; a failed
 * probe halts the rollout (Blocked) and, with rollbackOnFailure, the leaf serves the previous tree
 * again; a newer tree supersedes the halted rollout and starts at the first stage; an approval-gated
 * stage waits until the spec approves the tree. Each step is checked by the bytes each content app
 * serves and by what `pulpdist plan` says. Passes are repeated (polled, with a deadline) where a
 * soak has to end.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { planJson } from '../../testkit/plan-json.js';
import { siteYaml, startChainSites, type RunningSite } from '../../testkit/site.js';
import { treeDigestOf } from '../../testkit/tree.js';

type Name = 'origin' | 'hub' | 'leaf';
let dir = '';
let cleanup: () => Promise<void> = async () => {};
const sites: Record<Name, RunningSite | undefined> = { origin: undefined, hub: undefined, leaf: undefined };
let specs = '';
let tree = '';
const env = (): Record<string, string> => ({ XDG_CACHE_HOME: path.join(dir, 'cache') });
/** A generous bound for a loaded CI machine: a soak of 2 s plus a few passes. */
const DEADLINE_MS = 120_000;

function treeFiles(n: number, extra: Record<string, string> = {}): Record<string, string> {
  return { 'a.txt': `a, tree ${n}\n`, 'b/c.txt': `c, tree ${n}\n`, ...extra };
}

async function writeSpecs(rollout: string[] = []): Promise<void> {
  await writeFile(path.join(specs, 'specs.yaml'), [
    siteYaml('origin', `${sites.origin?.url}`), '---',
    siteYaml('hub', `${sites.hub?.url}`, { upstream: 'origin' }), '---',
    siteYaml('leaf', `${sites.leaf?.url}`, { upstream: 'hub', labels: { tier: 'canary' } }), '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: tools}', 'spec:', `  source: {path: "${tree}"}`, '  origin: origin',
    '  sites: [origin, hub, leaf]', '  retainVersions: 4', ...rollout.map((x) => `  ${x}`), '',
  ].join('\n'));
}

/** The rollout of the tests: the canary by label, 2 s of soak and one probe, then the rest. */
function rollout(o: { probe?: string; rollback?: boolean; approval?: string | null } = {}): string[] {
  return [
    'rollout:',
    ...(o.rollback ? ['  rollbackOnFailure: true'] : []),
    '  stages:',
    '    - name: canary',
    '      matchLabels: {tier: canary}',
    '      soak: 2s',
    `      verify: [{path: ${o.probe ?? 'a.txt'}}]`,
    '    - name: rest',
    '      sites: ["*"]',
    ...(o.approval !== undefined ? ['      approval: required', ...(o.approval ? [`      approved: ${o.approval}`] : [])] : []),
  ];
}

async function setTree(files: Record<string, string>): Promise<string> {
  await rm(tree, { recursive: true, force: true });
  for (const [p, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(tree, p)), { recursive: true });
    await writeFile(path.join(tree, p), text);
  }
  return treeDigestOf(files);
}

/** One `pulpdist apply`; 0 (converged) or 1 (a rollout still moving) but never an error. */
async function apply(): Promise<string> {
  const a = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.ok(a.code === 0 || a.code === 1, a.stdout + a.stderr);
  assert.not.match(a.stderr, /internal error|^error:/m, a.stderr);
  return a.stdout + a.stderr;
}

async function plan(): Promise<string> {
  const p = await runCli(['plan', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.not.match(p.stderr, /internal error/, p.stderr);
  return p.stdout + p.stderr;
}

async function served(site: Name, file = 'a.txt'): Promise<string> {
  const res = await fetch(`${sites[site]?.url}/pulp/content/tools/${file}`);
  return res.status === 200 ? res.text() : `(${res.status})`;
}

/** Apply until `done()` holds, or fail after the deadline showing the last output. */
async function applyUntil(what: string, done: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + DEADLINE_MS;
  let last = '';
  for (;;) {
    last = await apply();
    if (await done()) return;
    if (Date.now() > end) assert.unreachable(`${what}: not within ${DEADLINE_MS} ms; last apply:\n${last}\nplan:\n${await plan()}`);
  }
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-rollout-'));
  tree = path.join(dir, 'trees', 'tools');
  await startChainSites(dir, sites);
  specs = path.join(dir, 'specs');
  await mkdir(specs);
  await writeSpecs();
  await setTree(treeFiles(1));
  await apply();
  for (const s of ['origin', 'hub', 'leaf'] as const) assert.is(await served(s), 'a, tree 1\n', s);
});

test.after(async () => {
  await Promise.all(Object.values(sites).map((s) => s?.stop()));
  await cleanup();
});

test('a rollout added to a mirror every site serves is done at once', async () => {
  await writeSpecs(rollout());
  assert.match(await plan(), /rollout of [0-9a-f]{12}… \(previous nothing\): Done/);
});

test('the canary leaf pulls the new tree from the origin; its upstream hub (stage 2) keeps the old one until the soak ends', async () => {
  const t2 = await setTree(treeFiles(2));
  await apply();
  assert.equal([await served('origin'), await served('leaf'), await served('hub')], ['a, tree 2\n', 'a, tree 2\n', 'a, tree 1\n']);
  const p = await plan();
  assert.match(p, `rollout of ${t2.slice(0, 12)}…`);
  // On a loaded machine the 2 s soak may be over by the time plan runs: then stage 2 has begun.
  if (/: Soaking/.test(p)) {
    assert.match(p, `stage 1/2 canary: leaf serves ${t2.slice(0, 12)}…; soak ends `);
    assert.match(p, /stage 2\/2 rest waits \(soak ends \d\d:\d\d\): hub serves [0-9a-f]{12}…/);
  } else assert.match(p, /stage 2\/2 rest: hub serves [0-9a-f]{12}…/);
  const { doc } = await planJson(specs, env());
  assert.equal(doc.rollouts?.map((r) => r.mirror), ['tools']);
  assert.match(doc.rollouts![0]!.lines.join('\n'), 'stage 1/2 canary');
  await applyUntil('the hub gets tree 2 after the soak', async () => (await served('hub')) === 'a, tree 2\n');
  assert.match(await plan(), `rollout of ${t2.slice(0, 12)}… `);
  assert.match(await plan(), /: Done/);
});

test('a failed probe halts the rollout: Blocked; with rollbackOnFailure the canary serves the previous tree again', async () => {
  await writeSpecs(rollout({ probe: 'missing.txt', rollback: true }));
  await setTree(treeFiles(3));
  await applyUntil('the canary is rolled back', async () => (await served('leaf')) === 'a, tree 2\n' && (await served('origin')) === 'a, tree 3\n');
  assert.is(await served('hub'), 'a, tree 2\n');
  const p = await plan();
  assert.match(p, /Blocked/);
  assert.match(p, 'probe missing.txt at leaf: answered 404');
  // Halted stays halted: another pass changes nothing.
  await apply();
  assert.equal([await served('leaf'), await served('hub')], ['a, tree 2\n', 'a, tree 2\n']);
});

test('a newer tree supersedes the halted rollout and starts again at the first stage', async () => {
  // Tree 4 has the file the probe asks for: this rollout passes its probe.
  const t4 = await setTree(treeFiles(4, { 'missing.txt': 'here now\n' }));
  await apply();
  assert.equal([await served('leaf'), await served('hub')], ['a, tree 4\n', 'a, tree 2\n']);
  assert.match(await plan(), `rollout of ${t4.slice(0, 12)}…`);
  await applyUntil('the hub gets tree 4', async () => (await served('hub')) === 'a, tree 4\n');
});

test('an approval-gated stage waits for the approving change, then proceeds', async () => {
  await writeSpecs(rollout({ approval: null }));
  const t5 = await setTree(treeFiles(5));
  await applyUntil('the rest waits for approval', async () => /waits for approval/.test(await plan()));
  assert.equal([await served('leaf'), await served('hub')], ['a, tree 5\n', 'a, tree 4\n']);
  assert.match(await plan(), `set spec.rollout.stages[1].approved to ${t5.slice(0, 12)}`);
  // An approval of another tree does not count.
  await writeSpecs(rollout({ approval: 'a'.repeat(12) }));
  await apply();
  assert.is(await served('hub'), 'a, tree 4\n');
  await writeSpecs(rollout({ approval: t5.slice(0, 12) }));
  await applyUntil('the hub gets tree 5 once approved', async () => (await served('hub')) === 'a, tree 5\n');
});

test.run();
