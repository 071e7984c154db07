/**
 * plan/apply end to end: three real `pulpdist site` processes (origin → hub → leaf), a temp spec
 * dir and source trees, the real `pulpdist` binary. Assertions list the sites and fetch content.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/logger.js';
import { createPulpClient } from '../../pulp/client.js';
import type { PulpClient } from '../../pulp/types.js';
import type { SiteSpec } from '../../spec/types.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { runGit } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

const NAMES = ['origin', 'hub', 'leaf'] as const;
let dir = '';
let cleanup: () => Promise<void> = async () => {};
const sites = new Map<string, RunningSite>();
const clients = new Map<string, PulpClient>();
let specsDir = '';
let env: Record<string, string> = {};
const BIG = randomBytes(300_000);

function siteSpec(name: string, url: string): SiteSpec {
  return {
    name, labels: {}, pulp: { url, apiRoot: '/pulp/api/v3/', contentOrigin: url, tlsValidation: true },
    limits: { concurrentSyncs: 2, downloadConcurrency: 4 }, position: { file: 'x', line: 1, column: 1 },
  };
}

async function writeSpecs(mirrors: { name: string; path: string; sites: string[]; origin?: string }[]): Promise<void> {
  const docs = NAMES.map((n, i) => [
    'apiVersion: pulpdist/v1', 'kind: Site', `metadata: {name: ${n}}`, 'spec:', `  pulp: {url: "${sites.get(n)!.url}"}`,
    ...(i > 0 ? [`  upstream: ${NAMES[i - 1]}`] : []),
    ...(n === 'hub' ? ['  limits: {concurrentSyncs: 2, bandwidth: 64MiB/s}'] : []),
  ].join('\n'));
  await rm(specsDir, { recursive: true, force: true });
  await mkdir(specsDir, { recursive: true });
  await writeFile(path.join(specsDir, 'sites.yaml'), docs.join('\n---\n') + '\n');
  for (const m of mirrors) {
    await writeFile(path.join(specsDir, `${m.name}.yaml`), [
      'apiVersion: pulpdist/v1', 'kind: Mirror', `metadata: {name: ${m.name}}`, 'spec:', `  source: {path: "${m.path}"}`,
      `  origin: ${m.origin ?? 'origin'}`, `  sites: [${m.sites.join(', ')}]`, `  basePath: trees/${m.name}`, '',
    ].join('\n'));
  }
}

const pulpdist = (...args: string[]) => runCli(args, { env, timeoutMs: 120_000 });

async function names(site: string, kind: 'repositories' | 'remotes' | 'distributions'): Promise<string[]> {
  const c = clients.get(site)!;
  const list = kind === 'repositories' ? await c.listRepositories() : kind === 'remotes' ? await c.listRemotes() : await c.listDistributions();
  return list.map((o) => o.name).sort();
}

async function metric(site: string, name: string): Promise<number> {
  const text = await (await fetch(`${sites.get(site)!.url}/pulpdist/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}
const syncedBytes = (site: string) => metric(site, 'pulpdist_site_sync_bytes_downloaded_total');
const contentRequests = () => Promise.all(NAMES.map((n) => metric(n, 'pulpdist_site_content_requests_total')));

let fedora = '';
let tools = '';

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-reconcile-'));
  const trees = path.join(dir, 'trees');
  fedora = path.join(trees, 'fedora');
  tools = path.join(trees, 'tools');
  await mkdir(path.join(fedora, 'Packages'), { recursive: true });
  await mkdir(tools, { recursive: true });
  await writeFile(path.join(fedora, 'README'), 'fedora tree\n');
  await writeFile(path.join(fedora, 'Packages', 'big.rpm'), BIG);
  await writeFile(path.join(fedora, 'Packages', 'small.rpm'), 'x'.repeat(5000));
  await writeFile(path.join(tools, 'tool.sh'), '#!/bin/sh\necho tool\n');
  for (const n of NAMES) {
    const s = await startSite({ dataDir: path.join(dir, `site-${n}`), ...(n === 'origin' ? { allowedImportPaths: [trees] } : {}) });
    sites.set(n, s);
    clients.set(n, createPulpClient(siteSpec(n, s.url), { log: silentLogger }));
  }
  specsDir = path.join(dir, 'specs');
  env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
  await writeSpecs([
    { name: 'fedora', path: fedora, sites: ['origin', 'hub', 'leaf'] },
    { name: 'tools', path: tools, sites: ['origin', 'leaf'] }, // not carried by the hub
  ]);
});

test.after(async () => {
  await Promise.all([...sites.values()].map((s) => s.stop()));
  await cleanup();
});

test('apply converges; the leaf serves the source byte for byte; a second apply changes nothing and plan exits 0', async () => {
  const p = await pulpdist('plan', '--specs', specsDir);
  assert.is(p.code, 2, p.stderr);
  assert.match(p.stdout, /^Plan: 15 to create, 0 to update, 0 to delete, 5 syncs moving /m);
  assert.match(p.stdout, /^site hub \(pulpdist site/m);
  assert.match(p.stdout, /remote pulpdist\.tools: missing[\s\S]*url: "http:\/\/127\.0\.0\.1:\d+\/pulp\/content\/trees\/tools\/PULP_MANIFEST"/);

  const a = await pulpdist('apply', '--specs', specsDir);
  assert.is(a.code, 0, a.stdout + a.stderr);
  assert.match(a.stdout, /Converged/);
  for (const n of NAMES) {
    const want = n === 'hub' ? ['pulpdist.fedora'] : ['pulpdist.fedora', 'pulpdist.tools'];
    assert.equal(await names(n, 'repositories'), want, n);
    assert.equal(await names(n, 'remotes'), want, n);
    assert.equal(await names(n, 'distributions'), want, n);
  }
  // The leaf pulls fedora from the hub, tools (not carried by the hub) from the origin.
  const leafRemotes = await clients.get('leaf')!.listRemotes();
  assert.is(leafRemotes.find((r) => r.name === 'pulpdist.fedora')!.url, `${sites.get('hub')!.url}/pulp/content/trees/fedora/PULP_MANIFEST`);
  assert.is(leafRemotes.find((r) => r.name === 'pulpdist.tools')!.url, `${sites.get('origin')!.url}/pulp/content/trees/tools/PULP_MANIFEST`);
  const hubRemote = (await clients.get('hub')!.listRemotes())[0]!;
  assert.is(hubRemote.pulpdist_bandwidth_limit, Math.floor((64 * 1024 * 1024) / 2));

  const got = Buffer.from(await (await fetch(`${sites.get('leaf')!.url}/pulp/content/trees/fedora/Packages/big.rpm`)).arrayBuffer());
  assert.ok(got.equals(BIG), 'leaf serves big.rpm byte-identical to the source');
  const tool = await (await fetch(`${sites.get('leaf')!.url}/pulp/content/trees/tools/tool.sh`)).text();
  assert.is(tool, await readFile(path.join(tools, 'tool.sh'), 'utf8'));

  const again = await pulpdist('apply', '--specs', specsDir);
  assert.is(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /^0 changes made/m);
  const quiet = await pulpdist('plan', '--specs', specsDir, '--json');
  assert.is(quiet.code, 0, quiet.stdout + quiet.stderr);
  const doc = JSON.parse(quiet.stdout);
  assert.is(doc.changes, false);
  assert.equal(doc.entries, []);
  assert.equal(doc.sites.map((s: { name: string; reachable: boolean }) => [s.name, s.reachable]), [['origin', true], ['hub', true], ['leaf', true]]);

  // With no local cache, the tree labels pulpdist left on the distributions spare every manifest read.
  const leafDist = (await clients.get('leaf')!.listDistributions({ name: 'pulpdist.fedora' }))[0]!;
  assert.match(leafDist.pulp_labels.pulpdist_tree ?? JSON.stringify(leafDist.pulp_labels), /^[\w-]+:1:[0-9a-f]{64}:3:305012$/);
  const before = await contentRequests();
  const cold = await pulpdist('plan', '--specs', specsDir, '--no-cache');
  assert.is(cold.code, 0, cold.stdout + cold.stderr);
  assert.equal(await contentRequests(), before);
});

test('a source change moves only new content (renames are free), as the plan estimated', async () => {
  const added = randomBytes(40_000);
  await writeFile(path.join(fedora, 'Packages', 'new.rpm'), added);
  await rename(path.join(fedora, 'Packages', 'small.rpm'), path.join(fedora, 'Packages', 'small-renamed.rpm'));
  const p = await pulpdist('plan', '--specs', specsDir, '--json');
  assert.is(p.code, 2, p.stderr);
  const doc = JSON.parse(p.stdout);
  const syncs = doc.entries.filter((e: { action: string }) => e.action === 'sync');
  // Plus the PULP_MANIFEST every sync fetches first, counted as syncs count it: four lines of
  // `path,sha256,size` (README 75, Packages/big.rpm 89, Packages/new.rpm 88, Packages/small-renamed.rpm 97).
  const est = 75 + 89 + 88 + 97;
  assert.equal(syncs.map((e: { site: string; syncReason: string; estimate: unknown }) => [e.site, e.syncReason, e.estimate]), [
    ['origin', 'source-changed', { files: 1, bytes: 40_000 + est }],
    ['hub', 'upstream-newer', { files: 1, bytes: 40_000 + est }],
    ['leaf', 'upstream-newer', { files: 1, bytes: 40_000 + est }],
  ]);
  const before = await Promise.all(['hub', 'leaf'].map(syncedBytes));
  const a = await pulpdist('apply', '--specs', specsDir);
  assert.is(a.code, 0, a.stdout + a.stderr);
  const after = await Promise.all(['hub', 'leaf'].map(syncedBytes));
  for (let i = 0; i < 2; i++) {
    const moved = after[i]! - before[i]!;
    // the new file plus the manifest itself, exactly as estimated; never the 300 kB already held
    assert.is(moved, 40_000 + est, `site ${i ? 'leaf' : 'hub'} moved ${moved} bytes`);
  }
  const renamed = await fetch(`${sites.get('leaf')!.url}/pulp/content/trees/fedora/Packages/small-renamed.rpm`);
  assert.is(renamed.status, 200);
  assert.is((await renamed.text()).length, 5000);
  const gone = await fetch(`${sites.get('leaf')!.url}/pulp/content/trees/fedora/Packages/small.rpm`);
  assert.is(gone.status, 404);
  await gone.arrayBuffer();
});

test('a remote and a distribution deleted by hand show in the next plan, and apply restores them', async () => {
  const leaf = clients.get('leaf')!;
  const remote = (await leaf.listRemotes({ name: 'pulpdist.fedora' }))[0]!;
  await leaf.deleteRemote(remote.pulp_href);
  const toolsDist = (await leaf.listDistributions({ name: 'pulpdist.tools' }))[0]!;
  await leaf.deleteDistribution(toolsDist.pulp_href);
  const p = await pulpdist('plan', '--specs', specsDir, '--site', 'leaf');
  assert.is(p.code, 2, p.stderr);
  assert.match(p.stdout, /^ {2}\+ remote pulpdist\.fedora: missing$/m);
  assert.match(p.stdout, /^ {2}\+ distribution pulpdist\.tools: missing$/m);
  // What a new distribution will serve is unknown until it exists: a sync (a no-op here) settles it.
  assert.match(p.stdout, /^ {2}> sync pulpdist\.tools: upstream origin publishes a newer tree \(what a new distribution will serve is unknown\); moves 1 file, 96 B$/m); // tool.sh (20 B) and its manifest line (76 B)
  assert.match(p.stdout, /^Plan: 2 to create, 0 to update, 0 to delete, 1 sync moving 96 B$/m);
  const a = await pulpdist('apply', '--specs', specsDir);
  assert.is(a.code, 0, a.stdout + a.stderr);
  const back = (await leaf.listRemotes({ name: 'pulpdist.fedora' }))[0]!;
  assert.is(back.url, `${sites.get('hub')!.url}/pulp/content/trees/fedora/PULP_MANIFEST`);
  // The controller label is the id `apply` derived from the spec directory (not a Git checkout: its path).
  const { pulpdist_controller: owner, ...labels } = back.pulp_labels;
  assert.equal(labels, { managed_by: 'pulpdist', pulpdist_mirror: 'fedora' });
  assert.match(owner ?? '', /^specs-[0-9a-f]{12}$/);
  const tool = await fetch(`${sites.get('leaf')!.url}/pulp/content/trees/tools/tool.sh`);
  assert.is(tool.status, 200, 'the restored distribution serves the existing repository');
  await tool.arrayBuffer();
  assert.is((await pulpdist('plan', '--specs', specsDir)).code, 0);
});

test('a mirror removed from the specs is pruned everywhere; unlabelled look-alikes survive', async () => {
  for (const n of ['origin', 'leaf']) {
    const c = clients.get(n)!;
    await c.createRepository({ name: 'pulpdist.tools-old', pulp_labels: { pulpdist_mirror: 'tools' } });
    await c.createRemote({ name: 'pulpdist.lookalike', url: 'http://127.0.0.1:9/PULP_MANIFEST' });
  }
  await writeSpecs([{ name: 'fedora', path: fedora, sites: ['origin', 'hub', 'leaf'] }]);
  const p = await pulpdist('plan', '--specs', specsDir);
  assert.is(p.code, 2, p.stderr);
  assert.match(p.stdout, /^Plan: 0 to create, 0 to update, 6 to delete, 0 syncs moving 0 B$/m);
  assert.match(p.stdout, /- distribution pulpdist\.tools: mirror tools is gone from the specs; stops publishing 1 file, 20 B/);
  assert.not.match(p.stdout, /lookalike|tools-old/);
  const a = await pulpdist('apply', '--specs', specsDir);
  assert.is(a.code, 0, a.stdout + a.stderr);
  for (const n of ['origin', 'leaf']) {
    assert.equal(await names(n, 'repositories'), ['pulpdist.fedora', 'pulpdist.tools-old'], n);
    assert.equal(await names(n, 'remotes'), ['pulpdist.fedora', 'pulpdist.lookalike'], n);
    assert.equal(await names(n, 'distributions'), ['pulpdist.fedora'], n);
  }
  const gone = await fetch(`${sites.get('leaf')!.url}/pulp/content/trees/tools/tool.sh`);
  assert.is(gone.status, 404);
  await gone.arrayBuffer();
  assert.is((await pulpdist('plan', '--specs', specsDir)).code, 0);
});

test('mass delete is held without approval: plan marks the deletes held, apply shows the placements Blocked, says it once; nothing is deleted', async () => {
  await rm(path.join(specsDir, 'fedora.yaml'));
  const p = await pulpdist('plan', '--specs', specsDir);
  assert.match(p.stdout, /- distribution pulpdist\.fedora: mirror fedora is gone from the specs; stops publishing \d+ files?, .* \(held\)/);
  assert.match(p.stdout, /9 to delete.*; the 9 deletes are held by the mass-delete guard/);
  const a = await pulpdist('apply', '--specs', specsDir);
  assert.is(a.code, 1, a.stdout + a.stderr);
  assert.match(a.stdout, /mass delete: 3 of 3 managed mirror placements would be deleted \(1 mirror: fedora\)/);
  // Once in the plan's warnings, once as the one problem: not once per held delete.
  assert.is(a.stdout.match(/mass delete: 3 of 3/g)?.length, 2, a.stdout);
  assert.not.match(a.stdout, /skip /);
  for (const n of NAMES) assert.match(a.stdout, new RegExp(`fedora@${n}: Blocked: held by the mass-delete guard: mirror fedora is gone from the specs; deleting it would stop serving \\d+ files?`));
  for (const n of NAMES) assert.equal(await names(n, 'distributions'), ['pulpdist.fedora'], n);
  // The specs in a checkout whose HEAD carries the trailer: plan shows the deletes approved, as the controller would run them.
  runGit(['init', '-q'], specsDir);
  runGit(['add', '-A'], specsDir);
  runGit(['commit', '-q', '-m', 'retire fedora\n\nPulpdist-Allow-Mass-Delete: yes'], specsDir);
  try {
    const head = runGit(['rev-parse', 'HEAD'], specsDir);
    const approved = await pulpdist('plan', '--specs', specsDir);
    assert.is(approved.code, 2, approved.stdout + approved.stderr);
    assert.match(approved.stdout, new RegExp(`mass delete: 3 of 3 .*; approved by the trailer Pulpdist-Allow-Mass-Delete of commit ${head.slice(0, 12)}`));
    assert.not.match(approved.stdout, /\(held\)|are held/);
  } finally {
    await rm(path.join(specsDir, '.git'), { recursive: true, force: true });
  }
});

test('an unlabelled object holding a mirror\'s name is never adopted: the create fails saying so, the object is untouched', async () => {
  const origin = clients.get('origin')!;
  await origin.createRepository({ name: 'pulpdist.squatter', retain_repo_versions: 7, pulp_labels: { owner: 'someone' } });
  await writeSpecs([{ name: 'fedora', path: fedora, sites: ['origin', 'hub', 'leaf'] }, { name: 'squatter', path: tools, sites: ['origin'] }]);
  const a = await pulpdist('apply', '--specs', specsDir);
  assert.is(a.code, 1, a.stdout + a.stderr);
  assert.match(a.stdout, /origin: create repository pulpdist\.squatter failed: .*without the label managed_by=pulpdist; pulpdist never adopts or changes it/);
  assert.match(a.stdout, /skip +origin: sync pulpdist\.squatter skipped/);
  const repo = (await origin.listRepositories({ name: 'pulpdist.squatter' }))[0]!;
  assert.equal([repo.retain_repo_versions, repo.pulp_labels], [7, { owner: 'someone' }]);
  await origin.deleteRepository(repo.pulp_href);
});

test('an origin that does not allow the source path: the failure says how to allow it; other mirrors converge', async () => {
  await writeSpecs([{ name: 'fedora', path: fedora, sites: ['origin', 'hub', 'leaf'] }, { name: 'hubtree', path: tools, sites: ['hub'], origin: 'hub' }]);
  const a = await pulpdist('apply', '--specs', specsDir);
  assert.is(a.code, 1, a.stdout + a.stderr);
  assert.match(a.stdout, /hub: create remote pulpdist\.hubtree failed: .*does not start with any of the allowed import paths.*: start the hub site with an allowed import path covering the source tree \(`pulpdist site --allowed-import-path DIR`/, a.stdout);
  assert.match(a.stdout, /pulpdist\.hubtree@hub|hubtree@hub: (Failed|Pending)/);
  assert.equal(await names('hub', 'remotes'), ['pulpdist.fedora']);
  await writeSpecs([{ name: 'fedora', path: fedora, sites: ['origin', 'hub', 'leaf'] }]);
  const clean = await pulpdist('apply', '--specs', specsDir);
  assert.is(clean.code, 0, clean.stdout + clean.stderr);
});

test('--site with an unknown name is a usage error (exit 2)', async () => {
  const p = await pulpdist('plan', '--specs', specsDir, '--site', 'nowhere');
  assert.is(p.code, 2);
  assert.match(p.stderr, /unknown site "nowhere" \(known: hub, leaf, origin\)|unknown site "nowhere" \(known: origin, hub, leaf\)/);
});

test('invalid specs: positioned problems, exit 1, nothing planned', async () => {
  await writeFile(path.join(specsDir, 'bad.yaml'), 'apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: Bad_Name}\nspec: {}\n');
  const p = await pulpdist('plan', '--specs', specsDir);
  assert.is(p.code, 1);
  assert.match(p.stderr, /bad\.yaml:3:\d+: error: /);
  assert.is(p.stdout, '');
  await rm(path.join(specsDir, 'bad.yaml'));
});

test.run();
