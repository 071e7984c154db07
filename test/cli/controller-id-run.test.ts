/**
 * The default controller id agrees between `pulpdist run` and `pulpdist plan` (issue 19): a
 * controller run on a local repository whose origin is a GitLab URL labels its objects with the id
 * derived from that URL, branch and path, and `plan` in that checkout derives the same id, so it
 * sees the controller's objects as its own (no change), not as another controller's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultControllerId } from '../../core/controller-id.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { runGit } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let site: RunningSite | undefined;

test.after(async () => {
  await site?.stop();
  await cleanup();
});

test('run --once labels with the derived id; plan in the checkout derives the same and plans nothing', async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-controller-id-run-'));
  const tree = path.join(dir, 'trees', 'tools');
  await mkdir(tree, { recursive: true });
  await writeFile(path.join(tree, 'a.txt'), 'a\n');
  site = await startSite({ dataDir: path.join(dir, 'site'), allowedImportPaths: [path.join(dir, 'trees')] });
  const repo = path.join(dir, 'repo');
  await mkdir(path.join(repo, 'specs'), { recursive: true });
  await writeFile(path.join(repo, 'specs', 'specs.yaml'), [
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', 'spec:', `  pulp: {url: "${site.url}"}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: tools}', 'spec:', `  source: {path: "${tree}"}`, '  origin: origin', '  sites: [origin]', '',
  ].join('\n'));
  runGit(['init', '-q', '-b', 'main'], repo);
  runGit(['remote', 'add', 'origin', 'https://gitlab.example.com/infra/mirrors.git'], repo);
  runGit(['add', '.'], repo);
  runGit(['commit', '-q', '-m', 'specs'], repo);
  const env = { XDG_CACHE_HOME: path.join(dir, 'cache'), XDG_STATE_HOME: path.join(dir, 'state') };
  const id = defaultControllerId({ repo: 'git@gitlab.example.com:infra/mirrors.git', branch: 'main', path: 'specs' });

  const run = await runCli(['run', '--once', '--repo', repo, '--path', 'specs', '--status-branch', ''], { env, timeoutMs: 120_000 });
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, new RegExp(`controllerId[=:" ]+${id}`));
  const res = await fetch(`${site.url}/pulp/api/v3/repositories/file/file/?name=pulpdist.tools`);
  const body = (await res.json()) as { results: { pulp_labels: Record<string, string> }[] };
  assert.is(body.results[0]?.pulp_labels.pulpdist_controller, id);

  const plan = await runCli(['plan', '--specs', path.join(repo, 'specs'), '--json'], { env });
  assert.is(plan.code, 0, plan.stdout + plan.stderr);
  const doc = JSON.parse(plan.stdout) as { controller: string; changes: boolean; conflicts?: unknown[] };
  assert.equal([doc.controller, doc.changes, doc.conflicts], [id, false, undefined]);
});

test.run();
