/**
 * End to end: `pulpdist run` (a child process) against a real Git server (`git http-backend`) and
 * three real embedded sites (origin → hub → leaf). Trees are tiny; every wait polls a deadline.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { commitAndPush, makeRepo, runGit, startGitServer, writeFiles, type RunningGitServer } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

const siteYaml = (name: string, url: string, upstream?: string): string => `apiVersion: pulpdist/v1
kind: Site
metadata: {name: ${name}}
spec:
  pulp: {url: "${url}"}
${upstream ? `  upstream: ${upstream}\n` : ''}`;
const mirrorYaml = (name: string, tree: string, sites = '[origin, hub, leaf]'): string => `apiVersion: pulpdist/v1
kind: Mirror
metadata: {name: ${name}}
spec:
  source: {path: ${tree}}
  origin: origin
  sites: ${sites}
`;

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let git: RunningGitServer | undefined;
const sites: RunningSite[] = [];
let bare = '';
let work = '';
let trees = '';
let ctl: ControllerProcess | undefined;
/** When set, the next push to the repository is preceded by someone else's status commit. */
let interfere = false;

async function getStatus(url: string): Promise<StatusDocument> {
  const r = await fetch(`${url}/api/v1/status`);
  assert.is(r.status, 200);
  return (await r.json()) as StatusDocument;
}

async function waitStatus(url: string, pred: (d: StatusDocument) => boolean, what: string, ms = 60_000): Promise<StatusDocument> {
  const end = Date.now() + ms;
  let last: StatusDocument | undefined;
  while (Date.now() < end) {
    last = await getStatus(url).catch(() => last);
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last, null, 1)?.slice(0, 3000)}\nlog:\n${ctl?.log().slice(-3000)}`);
}

const allSynced = (d: StatusDocument, mirror: string): boolean => {
  const m = d.mirrors.find((x) => x.name === mirror);
  return !!m && m.sites.length > 0 && m.sites.every((c) => c.state === 'Synced');
};

async function listNamed(site: RunningSite, kind: 'repositories' | 'remotes' | 'distributions', name: string): Promise<number> {
  const r = await fetch(`${site.url}/pulp/api/v3/${kind}/file/file/?name=${encodeURIComponent(name)}`);
  assert.is(r.status, 200);
  return ((await r.json()) as { count: number }).count;
}

function makeTree(name: string, files: number, size = 200): string {
  const root = path.join(trees, name);
  for (let i = 0; i < files; i++) {
    mkdirSync(path.join(root, `d${i % 3}`), { recursive: true });
    writeFileSync(path.join(root, `d${i % 3}`, `f${i}.bin`), Buffer.alloc(size, `${name}-${i}-`));
  }
  return root;
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-ctl-e2e-'));
  trees = path.join(dir, 'trees');
  mkdirSync(trees, { recursive: true });
  for (const [i, name] of ['origin', 'hub', 'leaf'].entries()) {
    sites.push(await startSite({ dataDir: path.join(dir, 'site-' + name), ...(i === 0 ? { allowedImportPaths: [trees] } : {}) }));
  }
  ({ bare, work } = makeRepo(dir, 'specs', {
    'specs/sites/origin.yaml': siteYaml('origin', sites[0]!.url),
    'specs/sites/hub.yaml': siteYaml('hub', sites[1]!.url, 'origin'),
    'specs/sites/leaf.yaml': siteYaml('leaf', sites[2]!.url, 'hub'),
  }));
  git = await startGitServer(dir, {
    beforePush: async () => {
      if (!interfere) return;
      interfere = false;
      const parent = runGit(['rev-parse', 'refs/heads/pulpdist/status'], bare);
      const tree = runGit(['rev-parse', `${parent}^{tree}`], bare);
      const c = runGit(['commit-tree', tree, '-p', parent, '-m', 'a concurrent writer'], bare);
      runGit(['update-ref', 'refs/heads/pulpdist/status', c], bare);
    },
  });
});

test.after(async () => {
  await ctl?.kill().catch(() => undefined);
  await git?.close();
  for (const s of sites) await s.stop().catch(() => undefined);
  await cleanup();
});

const runArgs = (): string[] => ['--repo', `${git!.url}/specs.git`, '--path', 'specs', '--interval', '2s', '--state-dir', path.join(dir, 'state')];

test('push a mirror → Synced at every site, on the endpoint and in a status commit', async () => {
  ctl = await startControllerProcess(runArgs());
  await waitStatus(ctl.url, (d) => d.controller.observedCommit !== null, 'the first pass');
  const tree = makeTree('tools', 6);
  writeFiles(work, { 'specs/mirrors/tools.yaml': mirrorYaml('tools', tree) });
  const commit = commitAndPush(work, 'add tools');
  const doc = await waitStatus(ctl.url, (d) => d.controller.observedCommit === commit && allSynced(d, 'tools'), 'tools Synced everywhere');
  const m = doc.mirrors.find((x) => x.name === 'tools')!;
  assert.equal(m.sites.map((x) => x.site).sort(), ['hub', 'leaf', 'origin']);
  const digests = new Set(m.sites.map((x) => x.treeDigest));
  assert.is(digests.size, 1);
  assert.match([...digests][0] ?? '', /^[0-9a-f]{64}$/);
  // The status commit, pushed to the same repository.
  const end = Date.now() + 20_000;
  let committed = '';
  while (Date.now() < end) {
    committed = (() => {
      try {
        return runGit(['show', 'pulpdist/status:status/mirrors/tools.yaml'], bare);
      } catch {
        return '';
      }
    })();
    if ((committed.match(/state: Synced/g) ?? []).length === 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.is((committed.match(/state: Synced/g) ?? []).length, 3, committed);
  assert.match(runGit(['log', '-1', '--format=%an <%ae> %s', 'pulpdist/status'], bare), /^pulpdist <pulpdist@localhost> status: .*\[skip ci\]$/);
  // A file from the leaf is the source's file.
  const leafFile = await fetch(`${sites[2]!.url}/pulp/content/tools/d1/f1.bin`);
  assert.is(leafFile.status, 200);
  assert.equal(Buffer.from(await leafFile.arrayBuffer()), Buffer.alloc(200, 'tools-1-'));
});

test('push an invalid spec → reported with its file; nothing deleted or changed', async () => {
  const before = await getStatus(ctl!.url);
  // Removing tools and adding a broken file: applying this commit would prune tools everywhere.
  writeFiles(work, { 'specs/mirrors/tools.yaml': null, 'specs/mirrors/broken.yaml': mirrorYaml('broken', '/nowhere', '[origin, atlantis]') });
  const bad = commitAndPush(work, 'broken');
  const doc = await waitStatus(ctl!.url, (d) => d.controller.specCommit === bad && d.controller.specErrors.length > 0, 'the invalid commit reported');
  assert.is(doc.controller.observedCommit, before.controller.observedCommit);
  const e = doc.controller.specErrors.find((x) => x.file === 'specs/mirrors/broken.yaml');
  assert.ok(e, JSON.stringify(doc.controller.specErrors));
  assert.is(e!.line, 7);
  assert.match(e!.message, /atlantis/);
  // Let a drift-repair pass run over the last valid commit, then check nothing was touched.
  const lastPass = doc.controller.lastPass?.finishedAt;
  await waitStatus(ctl!.url, (d) => d.controller.lastPass?.result !== 'running' && d.controller.lastPass?.finishedAt !== lastPass, 'another pass');
  for (const s of sites) {
    assert.is(await listNamed(s, 'repositories', 'pulpdist.tools'), 1);
    assert.is(await listNamed(s, 'distributions', 'pulpdist.tools'), 1);
    assert.is(await listNamed(s, 'repositories', 'pulpdist.broken'), 0);
  }
  assert.ok(allSynced(await getStatus(ctl!.url), 'tools'));
  // Repair the branch for the next tests.
  writeFiles(work, { 'specs/mirrors/broken.yaml': null, 'specs/mirrors/tools.yaml': mirrorYaml('tools', path.join(trees, 'tools')) });
  const fixed = commitAndPush(work, 'fix');
  await waitStatus(ctl!.url, (d) => d.controller.observedCommit === fixed && d.controller.specErrors.length === 0, 'the fix applied');
});

test('a concurrent push to the status branch → re-applied on the new head and retried', async () => {
  interfere = true;
  makeTree('small', 2);
  writeFiles(work, { 'specs/mirrors/small.yaml': mirrorYaml('small', path.join(trees, 'small')) });
  const commit = commitAndPush(work, 'add small');
  await waitStatus(ctl!.url, (d) => d.controller.observedCommit === commit && allSynced(d, 'small'), 'small Synced');
  const end = Date.now() + 20_000;
  let history = '';
  while (Date.now() < end) {
    history = runGit(['log', '--format=%s', 'pulpdist/status'], bare);
    if (history.includes('a concurrent writer') && /small/.test(runGit(['ls-tree', '-r', '--name-only', 'pulpdist/status'], bare))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.is(interfere, false, 'the hook ran');
  const lines = history.split('\n');
  const i = lines.indexOf('a concurrent writer');
  assert.ok(i > 0, `our commit sits on top of the concurrent one:\n${history}`);
  assert.match(ctl!.log(), /status branch moved under us/);
  assert.match(runGit(['show', 'pulpdist/status:status/mirrors/small.yaml'], bare), /state: Synced/);
});

test('SIGKILL mid-pass, then restart → converges with no duplicate objects', async () => {
  const tree = makeTree('big', 60, 4096);
  // A bandwidth cap at the hub (shared by its 2 sync slots) makes its sync of big take seconds,
  // so that the kill lands while the pass is running with big half-made.
  writeFiles(work, {
    'specs/mirrors/big.yaml': mirrorYaml('big', tree),
    'specs/sites/hub.yaml': siteYaml('hub', sites[1]!.url, 'origin') + '  limits: {bandwidth: 100KiB/s}\n',
  });
  const commit = commitAndPush(work, 'add big');
  await waitStatus(ctl!.url, (d) => d.controller.specCommit === commit && d.controller.lastPass?.result === 'running', 'a pass over the new commit', 20_000);
  const end = Date.now() + 20_000;
  while ((await listNamed(sites[1]!, 'repositories', 'pulpdist.big')) === 0) {
    if (Date.now() > end) throw new Error('the hub never got its repository of big');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.is((await getStatus(ctl!.url)).controller.lastPass?.result, 'running', 'killed mid-pass');
  assert.is(await ctl!.kill(), 'SIGKILL');
  ctl = await startControllerProcess(runArgs());
  const doc = await waitStatus(ctl.url, (d) => d.controller.observedCommit === commit && allSynced(d, 'big') && allSynced(d, 'tools'), 'big Synced after the restart');
  assert.equal(doc.mirrors.map((m) => m.name), ['big', 'small', 'tools']);
  for (const s of sites) {
    for (const kind of ['repositories', 'remotes', 'distributions'] as const) {
      assert.is(await listNamed(s, kind, 'pulpdist.big'), 1, `${kind} at ${s.url}`);
      assert.is(await listNamed(s, kind, 'pulpdist.tools'), 1, `${kind} at ${s.url}`);
    }
  }
});

test('SIGTERM → exit 0', async () => {
  const code = await ctl!.stop();
  assert.is(code, 0, ctl!.log().slice(-2000));
  assert.match(ctl!.log(), /controller stopped/);
  ctl = undefined;
});

test('the webhook starts a fetch and a pass (polling every 5 min cannot explain it)', async () => {
  ctl = await startControllerProcess([...runArgs().filter((a) => a !== '2s' && a !== '--interval'), '--interval', '5m', '--webhook-secret-env', 'E2E_HOOK_SECRET'], { env: { E2E_HOOK_SECRET: 'e2e-hook-secret' } });
  const first = await waitStatus(ctl.url, (d) => d.controller.observedCommit !== null && d.controller.lastPass?.result === 'succeeded', 'the first pass');
  makeTree('hooked', 2);
  writeFiles(work, { 'specs/mirrors/hooked.yaml': mirrorYaml('hooked', path.join(trees, 'hooked')) });
  const commit = commitAndPush(work, 'add hooked');
  assert.is.not(first.controller.observedCommit, commit);
  const denied = await fetch(`${ctl.url}/hooks/git`, { method: 'POST', headers: { 'x-gitlab-token': 'wrong', 'x-gitlab-event': 'Push Hook' }, body: '{}' });
  assert.is(denied.status, 401);
  const r = await fetch(`${ctl.url}/hooks/git`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-token': 'e2e-hook-secret', 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': 'e2e-1' },
    body: JSON.stringify({ object_kind: 'push' }),
  });
  assert.is(r.status, 202);
  await waitStatus(ctl.url, (d) => d.controller.observedCommit === commit && allSynced(d, 'hooked'), 'hooked Synced after the webhook', 30_000);
  assert.not.match(ctl.log(), /e2e-hook-secret/);
  assert.is(await ctl.stop(), 0);
  ctl = undefined;
});

test.run();
