/**
 * `pulpdist history MIRROR` (issue 20) on real embedded sites and the real binary: after several
 * updates each site lists the trees within its retained versions (digests equal to the source
 * trees'), newest first, and which one it serves; a publication deleted by hand shows as such and
 * the served version follows Pulp's fallback.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HistoryDocument } from '../../reconcilers/history.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { call, startSite, type RunningSite } from '../../testkit/site.js';
import { treeDigestOf } from '../../testkit/tree.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let origin: RunningSite | undefined;
let leaf: RunningSite | undefined;
let specs = '';
let tree = '';
const env = (): Record<string, string> => ({ XDG_CACHE_HOME: path.join(dir, 'cache') });
/** The digest of each source tree applied, in order. */
const digests: string[] = [];

let setup: Promise<void> = Promise.resolve();

async function applyTree(files: Record<string, string>): Promise<void> {
  await mkdir(tree, { recursive: true });
  for (const [p, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(tree, p)), { recursive: true });
    await writeFile(path.join(tree, p), text);
  }
  const a = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.is(a.code, 0, a.stdout + a.stderr);
  digests.push(treeDigestOf(files));
}

async function prepare(): Promise<void> {
  ({ dir, cleanup } = await tempDir('pulpdist-history-'));
  tree = path.join(dir, 'trees', 'tools');
  origin = await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [path.join(dir, 'trees')] });
  leaf = await startSite({ dataDir: path.join(dir, 'leaf') });
  specs = path.join(dir, 'specs');
  await mkdir(specs);
  await writeFile(path.join(specs, 'specs.yaml'), [
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', 'spec:', `  pulp: {url: "${origin.url}"}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: leaf}', 'spec:', `  pulp: {url: "${leaf.url}"}`, '  upstream: origin', '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: tools}', 'spec:', `  source: {path: "${tree}"}`, '  origin: origin', '  sites: [origin, leaf]', '  retainVersions: 2', '',
  ].join('\n'));
  // Three trees; each file's bytes differ per version, so the older versions' sizes come from artifacts.
  await applyTree({ 'a.txt': 'a one\n', 'b/c.txt': 'c one\n' });
  await applyTree({ 'a.txt': 'a two, longer\n', 'b/c.txt': 'c one\n', 'd.txt': 'd two\n' });
  await applyTree({ 'a.txt': 'a three\n', 'b/c.txt': 'c three, longer still\n', 'd.txt': 'd two\n' });
}

test.before(() => {
  setup = prepare();
  setup.catch(() => undefined); // reported by the first test that awaits it
});

test.after(async () => {
  await Promise.all([origin?.stop(), leaf?.stop()]);
  await cleanup();
});

async function history(...args: string[]): Promise<{ code: number | null; doc: HistoryDocument; text: string }> {
  const json = await runCli(['history', 'tools', '--specs', specs, '--json', ...args], { env: env() });
  const text = await runCli(['history', 'tools', '--specs', specs, ...args], { env: env() });
  assert.is(json.code, text.code);
  return { code: json.code, doc: JSON.parse(json.stdout) as HistoryDocument, text: text.stdout };
}

test('after three updates: each site lists its two retained versions with the source digests, newest served', async () => {
  await setup;
  const { code, doc, text } = await history();
  assert.is(code, 0, text);
  assert.equal(doc.sites.map((s) => s.site), ['origin', 'leaf']);
  for (const s of doc.sites) {
    assert.is(s.reachable, true);
    assert.is(s.serving, 3);
    assert.equal(s.versions.map((v) => [v.version, v.treeDigest, v.files, v.serving]), [
      [3, digests[2], 3, true],
      [2, digests[1], 3, false],
    ], s.site);
    assert.is(s.versions[1]!.bytes, 'a two, longer\n'.length + 'c one\n'.length + 'd two\n'.length);
    assert.ok(s.versions.every((v) => v.publishedAt !== null));
  }
  assert.match(text, new RegExp(`site origin\\n {2}\\* v3 {2}\\S+ {2}${digests[2]!.slice(0, 12)} {2}3 files, `));
  assert.match(text, new RegExp(`\\n {4}v2 {2}\\S+ {2}${digests[1]!.slice(0, 12)} {2}3 files`));
});

test('latest publications deleted by hand at the leaf: v3 "not published", the leaf serves v2; --site filters', async () => {
  await setup;
  const repo = (await call(leaf!, 'GET', '/pulp/api/v3/repositories/file/file/?name=pulpdist.tools')).body.results[0].pulp_href as string;
  const pubs = (await call(leaf!, 'GET', `/pulp/api/v3/publications/file/file/?repository=${encodeURIComponent(repo)}`)).body.results as { pulp_href: string; repository_version: string }[];
  for (const p of pubs.filter((x) => x.repository_version.endsWith('/versions/3/'))) assert.is((await call(leaf!, 'DELETE', p.pulp_href)).status, 204);
  const { code, doc, text } = await history('--site', 'leaf');
  assert.is(code, 0, text);
  assert.equal(doc.sites.map((s) => s.site), ['leaf']);
  const s = doc.sites[0]!;
  assert.is(s.serving, 2);
  assert.equal(s.versions.map((v) => [v.version, v.treeDigest, v.publishedAt === null, v.serving]), [
    [3, digests[2], true, false],
    [2, digests[1], false, true],
  ]);
  assert.match(text, /\n {4}v3 {2}not published {2}/);
  assert.match(text, /\n {2}\* v2 {2}/);
});

test('unknown mirror or a site the mirror is not at: usage error, exit 2', async () => {
  await setup;
  const bad = await runCli(['history', 'nope', '--specs', specs], { env: env() });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /unknown mirror "nope" \(known: tools\)/);
  const site = await runCli(['history', 'tools', '--specs', specs, '--site', 'mars'], { env: env() });
  assert.is(site.code, 2);
  assert.match(site.stderr, /mirror tools is not at site "mars"/);
});

test.run();
