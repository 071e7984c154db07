/**
 * A read-only source under the controller (issue 16): `pulpdist run --once` keeps the tree's
 * manifest and links in its default state directory ($XDG_STATE_HOME/pulpdist/sources/MIRROR/),
 * the only path the origin allows imports from; nothing is written into the tree (chmod a-w, and
 * every path and mtime compared, since the tests may run as root); and `plan`, with the same
 * default state directory, names the same origin remote url, so it plans nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { treeSnapshot as snapshot } from '../../testkit/unprivileged.js';
import { runGit } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let site: RunningSite | undefined;
let tree = '';


function setWritable(writable: boolean): void {
  fs.chmodSync(path.join(tree, 'sub', 'b.bin'), writable ? 0o644 : 0o444);
  fs.chmodSync(path.join(tree, 'a.txt'), writable ? 0o644 : 0o444);
  for (const d of [path.join(tree, 'sub'), tree]) fs.chmodSync(d, writable ? 0o755 : 0o555);
}

test.after(async () => {
  await site?.stop();
  if (tree) setWritable(true);
  await cleanup();
});

test('run --once publishes a read-only tree from its view in the state directory; plan agrees and plans nothing', async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-read-only-run-'));
  tree = path.join(dir, 'trees', 'tools');
  fs.mkdirSync(path.join(tree, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'a.txt'), 'a\n');
  fs.writeFileSync(path.join(tree, 'sub', 'b.bin'), Buffer.alloc(3000, 9));
  setWritable(false);
  const views = path.join(dir, 'state', 'pulpdist', 'sources');
  site = await startSite({ dataDir: path.join(dir, 'site'), allowedImportPaths: [views] });
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(path.join(repo, 'specs'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'specs', 'specs.yaml'), [
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', 'spec:', `  pulp: {url: "${site.url}"}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: tools}', 'spec:', `  source: {path: "${tree}", readOnly: true}`, '  origin: origin', '  sites: [origin]', '',
  ].join('\n'));
  runGit(['init', '-q', '-b', 'main'], repo);
  runGit(['add', '.'], repo);
  runGit(['commit', '-q', '-m', 'specs'], repo);
  const env = { XDG_CACHE_HOME: path.join(dir, 'cache'), XDG_STATE_HOME: path.join(dir, 'state') };
  const before = snapshot(tree);

  const run = await runCli(['run', '--once', '--repo', repo, '--path', 'specs', '--status-branch', ''], { env, timeoutMs: 120_000 });
  assert.is(run.code, 0, run.stderr);
  assert.equal(snapshot(tree), before);
  assert.is(fs.readFileSync(path.join(views, 'tools', 'PULP_MANIFEST'), 'utf8').split('\n').filter(Boolean).length, 2);
  assert.is(fs.readlinkSync(path.join(views, 'tools', 'sub')), path.join(fs.realpathSync(tree), 'sub'));
  const res = await fetch(`${site.url}/pulp/api/v3/remotes/file/file/?name=pulpdist.tools`);
  assert.is(((await res.json()) as { results: { url: string }[] }).results[0]?.url, `file://${views}/tools/PULP_MANIFEST`);
  assert.is(await (await fetch(`${site.url}/pulp/content/tools/a.txt`)).text(), 'a\n');
  assert.ok(Buffer.from(await (await fetch(`${site.url}/pulp/content/tools/sub/b.bin`)).arrayBuffer()).equals(Buffer.alloc(3000, 9)));

  const plan = await runCli(['plan', '--specs', path.join(repo, 'specs'), '--json'], { env });
  assert.is(plan.code, 0, plan.stdout + plan.stderr);
  assert.is((JSON.parse(plan.stdout) as { changes: boolean }).changes, false);
  assert.equal(snapshot(tree), before);
});

test.run();
