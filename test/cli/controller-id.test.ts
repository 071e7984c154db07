/**
 * Several controllers, one Pulp (issue 19): two spec sets with different --controller-id on one
 * real embedded site. Neither plans deletes of the other's mirrors and both converge; a mirror
 * name both want is a conflict naming the owner, and the owner's objects stay as they were;
 * objects made before controller ids are adopted once, then owned. The real binary throughout.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultControllerId } from '../../core/controller-id.js';
import { silentLogger } from '../../core/logger.js';
import { createPulpClient } from '../../pulp/client.js';
import type { PulpClient } from '../../pulp/types.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let site: RunningSite | undefined;
let client: PulpClient;
const env = (): Record<string, string> => ({ XDG_CACHE_HOME: path.join(dir, 'cache') });
let setup: Promise<void> = Promise.resolve();

interface PlanDoc {
  controller?: string;
  changes: boolean;
  warnings: string[];
  conflicts?: { site: string; mirror: string; name: string; owner: string }[];
  entries: { kind: string; name: string; action: string; reason: string }[];
}

async function writeSpecs(set: string, mirrors: { name: string; tree: string; basePath: string }[]): Promise<string> {
  const specs = path.join(dir, set);
  await mkdir(specs, { recursive: true });
  const docs = [
    ['apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', 'spec:', `  pulp: {url: "${site!.url}"}`].join('\n'),
    ...mirrors.map((m) => [
      'apiVersion: pulpdist/v1', 'kind: Mirror', `metadata: {name: ${m.name}}`, 'spec:',
      `  source: {path: "${path.join(dir, 'trees', m.tree)}"}`, '  origin: origin', '  sites: [origin]', `  basePath: ${m.basePath}`,
    ].join('\n')),
  ];
  await writeFile(path.join(specs, 'specs.yaml'), docs.join('\n---\n') + '\n');
  return specs;
}

async function plan(specs: string, id: string): Promise<{ code: number | null; doc: PlanDoc; stderr: string }> {
  const r = await runCli(['plan', '--specs', specs, '--json', '--controller-id', id], { env: env() });
  return { code: r.code, doc: JSON.parse(r.stdout) as PlanDoc, stderr: r.stderr };
}

async function apply(specs: string, id: string): Promise<{ code: number | null; out: string }> {
  const r = await runCli(['apply', '--specs', specs, '--controller-id', id], { env: env(), timeoutMs: 120_000 });
  return { code: r.code, out: r.stdout + r.stderr };
}

/** The labels of the repository, remote and distribution named `name` at the site. */
async function labelsOf(name: string): Promise<Record<string, string>[]> {
  const [r, m, d] = await Promise.all([client.listRepositories({ name }), client.listRemotes({ name }), client.listDistributions({ name })]);
  return [r, m, d].map((xs) => {
    assert.is(xs.length, 1, `one ${name} of each kind`);
    return xs[0]!.pulp_labels;
  });
}

let specsA = '';
let specsB = '';

async function prepare(): Promise<void> {
  ({ dir, cleanup } = await tempDir('pulpdist-controller-id-'));
  for (const t of ['a', 'b', 'c']) {
    await mkdir(path.join(dir, 'trees', t), { recursive: true });
    await writeFile(path.join(dir, 'trees', t, `${t}.txt`), `${t}\n`);
  }
  site = await startSite({ dataDir: path.join(dir, 'site'), allowedImportPaths: [path.join(dir, 'trees')] });
  client = createPulpClient({
    name: 'origin', labels: {}, pulp: { url: site.url, apiRoot: '/pulp/api/v3/', contentOrigin: site.url, tlsValidation: true },
    limits: { concurrentSyncs: 2, downloadConcurrency: 4 }, position: { file: 'x', line: 1, column: 1 },
  }, { log: silentLogger });
  specsA = await writeSpecs('specs-a', [{ name: 'alpha', tree: 'a', basePath: 'a/alpha' }]);
  specsB = await writeSpecs('specs-b', [{ name: 'beta', tree: 'b', basePath: 'b/beta' }]);
}

test.before(() => {
  setup = prepare();
  setup.catch(() => undefined);
});

test.after(async () => {
  await site?.stop();
  await cleanup();
});

test('two spec sets, two ids, one site: both converge, neither plans a delete of the other', async () => {
  await setup;
  const a = await apply(specsA, 'team-a');
  assert.is(a.code, 0, a.out);
  const b = await apply(specsB, 'team-b');
  assert.is(b.code, 0, b.out);
  for (const [specs, id] of [[specsA, 'team-a'], [specsB, 'team-b']] as const) {
    const p = await plan(specs, id);
    assert.is(p.code, 0, p.stderr);
    assert.is(p.doc.controller, id);
    assert.equal(p.doc.entries.filter((e) => e.action !== 'noop'), []);
  }
  assert.equal((await labelsOf('pulpdist.alpha')).map((l) => l.pulpdist_controller), ['team-a', 'team-a', 'team-a']);
  assert.equal((await labelsOf('pulpdist.beta')).map((l) => l.pulpdist_controller), ['team-b', 'team-b', 'team-b']);
});

test('a mirror name both want: a conflict naming the owner in plan and apply; the owner\'s objects untouched', async () => {
  await setup;
  const before = await Promise.all([client.listRepositories({ name: 'pulpdist.alpha' }), client.listRemotes({ name: 'pulpdist.alpha' }), client.listDistributions({ name: 'pulpdist.alpha' })]);
  const both = await writeSpecs('specs-b2', [{ name: 'beta', tree: 'b', basePath: 'b/beta' }, { name: 'alpha', tree: 'c', basePath: 'b/alpha' }]);
  const p = await plan(both, 'team-b');
  assert.is(p.code, 1, 'a conflict makes plan exit 1');
  assert.equal(p.doc.conflicts, [{ site: 'origin', mirror: 'alpha', name: 'pulpdist.alpha', owner: 'team-a' }]);
  assert.ok(p.doc.warnings.some((w) => /mirror alpha is not planned there: pulpdist\.alpha belongs to controller team-a/.test(w)), p.doc.warnings.join('\n'));
  assert.equal(p.doc.entries.filter((e) => e.name === 'pulpdist.alpha'), []);
  const text = await runCli(['plan', '--specs', both, '--controller-id', 'team-b'], { env: env() });
  assert.match(text.stdout, /^controller team-b \(its objects carry the label pulpdist_controller=team-b\)/);
  assert.match(text.stdout, /warning: site origin: mirror alpha is not planned there: pulpdist\.alpha belongs to controller team-a/);
  const applied = await apply(both, 'team-b');
  assert.is(applied.code, 1, applied.out);
  assert.match(applied.out, /belongs to controller team-a/);
  const after = await Promise.all([client.listRepositories({ name: 'pulpdist.alpha' }), client.listRemotes({ name: 'pulpdist.alpha' }), client.listDistributions({ name: 'pulpdist.alpha' })]);
  assert.equal(after, before, 'team-a\'s alpha is exactly as it was');
  assert.match(after[1][0]!.url, /trees\/a\/PULP_MANIFEST$/);
  // And team-a still sees its own mirror converged, beta not planned for deletion.
  const a = await plan(specsA, 'team-a');
  assert.is(a.code, 0, a.stderr);
});

test('objects made before controller ids: adopted once by the controller that wants them, left alone by the other', async () => {
  await setup;
  // Make beta's objects what an older pulpdist made: managed, no controller label.
  const [[repo], [remote], [dist]] = await Promise.all([client.listRepositories({ name: 'pulpdist.beta' }), client.listRemotes({ name: 'pulpdist.beta' }), client.listDistributions({ name: 'pulpdist.beta' })]);
  const strip = (l: Record<string, string>) => Object.fromEntries(Object.entries(l).filter(([k]) => k !== 'pulpdist_controller'));
  await client.updateRepository(repo!.pulp_href, { pulp_labels: strip(repo!.pulp_labels) });
  await client.updateRemote(remote!.pulp_href, { pulp_labels: strip(remote!.pulp_labels) });
  await client.updateDistribution(dist!.pulp_href, { pulp_labels: strip(dist!.pulp_labels) });
  const treeLabel = dist!.pulp_labels.pulpdist_tree;
  assert.ok(treeLabel, 'the distribution carries its tree label');
  assert.equal((await labelsOf('pulpdist.beta')).map((l) => l.pulpdist_controller), [undefined, undefined, undefined]);

  // team-a does not want beta: no delete, and it says why it leaves them.
  const a = await plan(specsA, 'team-a');
  assert.is(a.code, 0, a.stderr);
  assert.equal(a.doc.entries.filter((e) => e.action === 'delete'), []);
  assert.ok(a.doc.warnings.some((w) => /1 object name made before controller ids and not wanted here \(pulpdist\.beta\) left alone/.test(w)), a.doc.warnings.join('\n'));

  // team-b wants it: three updates that say they adopt, then nothing.
  const b = await plan(specsB, 'team-b');
  assert.is(b.code, 2, b.stderr);
  const updates = b.doc.entries.filter((e) => e.action !== 'noop');
  assert.equal(updates.map((e) => [e.kind, e.action]), [['repository', 'update'], ['remote', 'update'], ['distribution', 'update']]);
  for (const e of updates) assert.match(e.reason, /^adopt: made before controller ids, labelled pulpdist_controller=team-b from now on; pulp_labels differs$/);
  const applied = await apply(specsB, 'team-b');
  assert.is(applied.code, 0, applied.out);
  const labels = await labelsOf('pulpdist.beta');
  assert.equal(labels.map((l) => l.pulpdist_controller), ['team-b', 'team-b', 'team-b']);
  assert.is(labels[2]!.pulpdist_tree, treeLabel, 'the adoption keeps the tree label');
  const again = await plan(specsB, 'team-b');
  assert.is(again.code, 0, again.stderr);
  assert.equal(again.doc.entries.filter((e) => e.action !== 'noop'), []);
  // Now owned: team-a no longer mentions it.
  const a2 = await plan(specsA, 'team-a');
  assert.not.ok(a2.doc.warnings.some((w) => /before controller ids/.test(w)), a2.doc.warnings.join('\n'));
});

test('the default id comes from the checkout (origin, main, spec path) and plan prints it', async () => {
  await setup;
  const url = 'git@gitlab.example.com:infra/mirrors.git';
  execFileSync('git', ['init', '-q', dir]);
  execFileSync('git', ['-C', dir, 'remote', 'add', 'origin', url]);
  const want = defaultControllerId({ repo: url, branch: 'main', path: 'specs-a' });
  const r = await runCli(['plan', '--specs', specsA], { env: env() });
  assert.match(r.stdout, new RegExp(`^controller ${want} `));
  // That id is not team-a: alpha's objects are another controller's, a conflict, never an update.
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stdout, /pulpdist\.alpha belongs to controller team-a/);
  const bad = await runCli(['plan', '--specs', specsA, '--controller-id', 'a,b'], { env: env() });
  assert.is(bad.code, 2, 'a usage error');
  assert.match(bad.stderr, /--controller-id must be 1 to 63 letters/);
  assert.not.match(bad.stderr, /\n\s+at /);
});

test.run();
