/**
 * A Site removed from the specs (issue 16): pulpdist stops managing it, so nothing there is deleted,
 * and `plan` (from the checkout's status branch) and the controller (from the last status) say what
 * it still serves and how to retire it. Real embedded sites, a real local repository whose status
 * branch a real `pulpdist run --once` wrote.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { commitAndPush, makeRepo, writeFiles } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

const sites: RunningSite[] = [];
let cleanup: () => Promise<void> = async () => {};

test.after(async () => {
  for (const s of sites) await s.stop().catch(() => undefined);
  await cleanup();
});

const siteDoc = (name: string, url: string, upstream?: string) =>
  `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: ${name}}\nspec:\n  pulp: {url: "${url}"}\n${upstream ? `  upstream: ${upstream}\n` : ''}`;
const mirrorDoc = (tree: string, siteList: string) =>
  `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: tools}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: ${siteList}\n`;

test('plan and the controller name a removed Site and what it still serves; nothing there is deleted', async () => {
  const t = await tempDir('pulpdist-removed-site-');
  cleanup = t.cleanup;
  const trees = path.join(t.dir, 'trees');
  const tree = path.join(trees, 'tools');
  mkdirSync(tree, { recursive: true });
  writeFileSync(path.join(tree, 'a.txt'), 'a\n');
  sites.push(await startSite({ dataDir: path.join(t.dir, 'origin'), allowedImportPaths: [trees] }));
  sites.push(await startSite({ dataDir: path.join(t.dir, 'leaf') }));
  const { work } = makeRepo(t.dir, 'specs', {
    'specs/sites/origin.yaml': siteDoc('origin', sites[0]!.url),
    'specs/sites/leaf.yaml': siteDoc('leaf', sites[1]!.url, 'origin'),
    'specs/mirrors/tools.yaml': mirrorDoc(tree, '[origin, leaf]'),
  });
  const state = path.join(t.dir, 'state');
  const first = await runCli(['run', '--repo', work, '--path', 'specs', '--once', '--state-dir', state], { timeoutMs: 120_000 });
  assert.is(first.code, 0, first.stderr);

  // The leaf leaves the specs at once (its Site document and the mirror's sites list).
  writeFiles(work, { 'specs/sites/leaf.yaml': null, 'specs/mirrors/tools.yaml': mirrorDoc(tree, '[origin]') });
  commitAndPush(work, 'remove the leaf');
  const plan = await runCli(['plan', '--specs', path.join(work, 'specs')]);
  assert.is(plan.code, 0, plan.stdout + plan.stderr);
  assert.match(plan.stdout, 'warning: site leaf is no longer in the specs: at the last status it still published 1 mirror (tools), which pulpdist no longer manages or deletes. To retire a site, first remove it from the Mirrors\' sites lists');
  const json = JSON.parse((await runCli(['plan', '--specs', path.join(work, 'specs'), '--format', 'json'])).stdout) as { warnings: string[] };
  assert.ok(json.warnings.some((w) => w.startsWith('site leaf is no longer in the specs')), JSON.stringify(json.warnings));

  const second = await runCli(['run', '--repo', work, '--path', 'specs', '--once', '--state-dir', state], { timeoutMs: 120_000 });
  assert.is(second.code, 0, second.stderr);
  assert.is(second.stderr.split('\n').filter((l) => l.includes('site leaf is no longer in the specs')).length, 1, second.stderr);
  // Nothing was deleted there: the leaf still serves the tree.
  const r = await fetch(`${sites[1]!.url}/pulp/content/tools/a.txt`);
  assert.is(r.status, 200);
  assert.is(await r.text(), 'a\n');
});

test.run();
