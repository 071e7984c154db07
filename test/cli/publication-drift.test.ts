/**
 * A publication deleted by hand is drift (issue 15 item 2): on real embedded sites and the real
 * binary, `plan` (with its cache and with `--no-cache`) plans a publish, `apply` repairs it with
 * exit 0 and the content app serves the tree byte for byte again. Both shapes real Pulp shows
 * (reference recordings extra4): every publication gone (the content app answers 404), and only
 * the latest gone (a repository distribution silently falls back to the older tree).
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { call, startSite, type RunningSite } from '../../testkit/site.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let origin: RunningSite | undefined;
let hub: RunningSite | undefined;
let specs = '';
let tree = '';
const env = (): Record<string, string> => ({ XDG_CACHE_HOME: path.join(dir, 'cache') });
const FILES: Record<string, string> = { 'a.txt': 'alpha v1\n', 'sub/b.txt': 'bravo v1\n', 'c.bin': 'c'.repeat(5000) };

/** The setup's outcome: uvu says nothing when a `before` hook throws, so each test rethrows it. */
let setup: Promise<void> = Promise.resolve();

async function writeTree(files: Record<string, string>): Promise<void> {
  for (const [p, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(tree, p)), { recursive: true });
    await writeFile(path.join(tree, p), text);
  }
}

async function prepare(): Promise<void> {
  ({ dir, cleanup } = await tempDir('pulpdist-pub-drift-'));
  tree = path.join(dir, 'trees', 'tools');
  await writeTree(FILES);
  origin = await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [path.join(dir, 'trees')] });
  hub = await startSite({ dataDir: path.join(dir, 'hub') });
  specs = path.join(dir, 'specs');
  await mkdir(specs);
  await writeFile(path.join(specs, 'specs.yaml'), [
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', 'spec:', `  pulp: {url: "${origin.url}"}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: hub}', 'spec:', `  pulp: {url: "${hub.url}"}`, '  upstream: origin', '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: tools}', 'spec:', `  source: {path: "${tree}"}`, '  origin: origin', '  sites: [origin, hub]', '',
  ].join('\n'));
  const a = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(a.code, 0, a.stdout + a.stderr);
  // The cache now knows every published tree: the drift must show through it.
  const p = await runCli(['plan', '--specs', specs], { env: env() });
  assert.is(p.code, 0, p.stdout + p.stderr);
}

test.before(() => {
  setup = prepare();
  setup.catch(() => undefined); // reported by the first test that awaits it
});

test.after(async () => {
  await Promise.all([origin?.stop(), hub?.stop()]);
  await cleanup();
});

async function repositoryHref(site: RunningSite): Promise<string> {
  const r = await call(site, 'GET', '/pulp/api/v3/repositories/file/file/?name=pulpdist.tools');
  return (r.body as { results: { pulp_href: string }[] }).results[0]!.pulp_href;
}

/** The site's publications of the mirror's repository, newest first (as Pulp lists them). */
async function publications(site: RunningSite): Promise<{ pulp_href: string; repository_version: string }[]> {
  const repo = await repositoryHref(site);
  const r = await call(site, 'GET', `/pulp/api/v3/publications/file/file/?repository=${encodeURIComponent(repo)}`);
  assert.is(r.status, 200);
  return (r.body as { results: { pulp_href: string; repository_version: string }[] }).results;
}

async function deleteByHand(site: RunningSite, href: string): Promise<void> {
  const r = await call(site, 'DELETE', href);
  assert.is(r.status, 204, r.text);
}

async function content(site: RunningSite, file: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${site.url}/pulp/content/tools/${file}`);
  return { status: r.status, text: await r.text() };
}

async function assertServes(site: RunningSite, files: Record<string, string>): Promise<void> {
  for (const [p, text] of Object.entries(files)) {
    const got = await content(site, p);
    assert.is(got.status, 200, p);
    assert.ok(got.text === text, `${p}: served bytes differ from the source`);
  }
  const manifest = await content(site, 'PULP_MANIFEST');
  assert.is(manifest.text.trim().split('\n').length, Object.keys(files).length);
}

test('every publication deleted at the hub: plan (cached and --no-cache) shows publish; apply repairs, exit 0, bytes exact', async () => {
  await setup;
  for (const p of await publications(hub!)) await deleteByHand(hub!, p.pulp_href);
  assert.is((await content(hub!, 'PULP_MANIFEST')).status, 404);

  for (const args of [[], ['--no-cache']]) {
    const plan = await runCli(['plan', '--specs', specs, ...args], { env: env() });
    assert.is(plan.code, 2, `plan ${args.join(' ')} should find a change:\n${plan.stdout}${plan.stderr}`);
    assert.match(plan.stdout, /publish/);
    assert.match(plan.stdout, /distribution serves no publication/);
    assert.not.match(plan.stdout, /origin.*publish/);
  }
  const json = JSON.parse((await runCli(['plan', '--specs', specs, '--json'], { env: env() })).stdout) as { entries: { site: string; action: string }[] };
  assert.equal(json.entries.map((e) => `${e.site} ${e.action}`), ['hub publish']);

  const apply = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(apply.code, 0, apply.stdout + apply.stderr);
  assert.match(apply.stdout + apply.stderr, /publish/);
  // The check after apply re-reads what is served: no stale cache says "serves no publication" again.
  assert.match(apply.stdout, /done {2}hub: publish pulpdist\.tools succeeded/);
  assert.match(apply.stdout, /Converged/);
  assert.not.match(apply.stdout + apply.stderr, /OutOfSync/);
  await assertServes(hub!, FILES);
  assert.is((await publications(hub!)).length, 1);
  const again = await runCli(['plan', '--specs', specs], { env: env() });
  assert.is(again.code, 0, again.stdout);
});

test('only the latest publication deleted at the origin: the content app falls back to the old tree; plan publishes, apply restores the new one', async () => {
  await setup;
  const v2 = { ...FILES, 'a.txt': 'alpha v2, longer\n', 'd.txt': 'delta\n' };
  await writeTree(v2);
  const up = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(up.code, 0, up.stdout + up.stderr);
  await assertServes(origin!, v2);
  // A mirror sync into an autopublish repository publishes the version twice (the remote's
  // manifest and the repository's): delete every publication of v2, keep v1's.
  const pubs = await publications(origin!);
  const latest = pubs.filter((p) => /\/versions\/2\/$/.test(p.repository_version));
  assert.ok(latest.length >= 1 && latest.length < pubs.length, JSON.stringify(pubs));
  for (const p of latest) await deleteByHand(origin!, p.pulp_href);
  // What real Pulp does (extra4/63-67): the older tree, silently.
  assert.is((await content(origin!, 'a.txt')).text, FILES['a.txt']);
  assert.is((await content(origin!, 'd.txt')).status, 404);

  for (const args of [[], ['--no-cache']]) {
    const plan = await runCli(['plan', '--specs', specs, ...args], { env: env() });
    assert.is(plan.code, 2, `plan ${args.join(' ')}:\n${plan.stdout}${plan.stderr}`);
    assert.match(plan.stdout, /the latest version \(v2\) has no publication; the distribution falls back to v1/);
  }
  const apply = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(apply.code, 0, apply.stdout + apply.stderr);
  await assertServes(origin!, v2);
  await assertServes(hub!, v2);
  const again = await runCli(['plan', '--specs', specs, '--no-cache'], { env: env() });
  assert.is(again.code, 0, again.stdout);
  // The source tree itself is untouched by all of this.
  assert.is(await readFile(path.join(tree, 'a.txt'), 'utf8'), v2['a.txt']);
});

test.run();
