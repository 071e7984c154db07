/**
 * Item 4 of issue 8: the spec repository misbehaves under a running controller (`pulpdist run`
 * against `git http-backend` behind a fault proxy, one real site). The remote becomes unreachable
 * (the last state is kept and the failure reported, then it recovers), the spec branch is
 * force-pushed, status pushes are rejected by a server hook (retried until they land), and a huge
 * and a binary file are committed (positioned problems, nothing applied, nothing lost).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { commitAndPush, makeRepo, runGit, startGitServer, writeFiles, type RunningGitServer } from '../../testkit/git-server.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { assertServes, getStatus, listNames, mirrorDoc, pollUntil, siteDocs, startNetwork, stopNetwork, writeTreeFiles, type NetSite, type SiteDef } from './support.js';

const SITES: SiteDef[] = [{ name: 'origin' }];
let dir = '';
let cleanup = async (): Promise<void> => {};
let net: Map<string, NetSite> | undefined;
let git: RunningGitServer | undefined;
let proxy: FaultProxy | undefined;
let ctl: ControllerProcess | undefined;
let bare = '';
let work = '';
let trees = '';
const TREE = { 'a.txt': 'alpha\n' };

const mirror = (name: string): string => mirrorDoc({ name, source: { path: path.join(trees, 'src') }, origin: 'origin', sites: ['origin'], extra: [`  basePath: ${name}`] });

async function waitFor(what: string, pred: (d: StatusDocument) => boolean, ms = 60_000): Promise<StatusDocument> {
  let last: StatusDocument | undefined;
  try {
    return await pollUntil(what, async () => {
      last = await getStatus(ctl!.url);
      return pred(last) ? last : undefined;
    }, ms);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nstatus: ${JSON.stringify(last?.controller)}\nlog:\n${ctl?.log().slice(-3000)}`);
  }
}

const synced = (d: StatusDocument, names: string[]): boolean =>
  names.every((n) => d.mirrors.find((m) => m.name === n)?.sites.every((s) => s.state === 'Synced'));

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-faults-git-'));
  trees = path.join(dir, 'trees');
  mkdirSync(path.join(trees, 'src'), { recursive: true });
  await writeTreeFiles(path.join(trees, 'src'), TREE);
  net = await startNetwork([{ name: 'origin', start: { allowedImportPaths: [trees] } }], dir);
  const repos = path.join(dir, 'repos');
  mkdirSync(repos, { recursive: true });
  ({ bare, work } = makeRepo(repos, 'specs', { 'specs/sites.yaml': siteDocs(net, SITES), 'specs/a.yaml': mirror('a') }));
  // A server-side hook that declines status pushes while the counter file says so.
  writeFileSync(path.join(bare, 'hooks', 'pre-receive'), `#!/bin/sh
f="$GIT_DIR/reject-status"
n=$(cat "$f" 2>/dev/null || echo 0)
while read old new ref; do
  if [ "$ref" = "refs/heads/pulpdist/status" ] && [ "$n" -gt 0 ]; then
    echo $((n - 1)) > "$f"
    echo "status pushes are frozen for maintenance" >&2
    exit 1
  fi
done
exit 0
`);
  chmodSync(path.join(bare, 'hooks', 'pre-receive'), 0o755);
  git = await startGitServer(repos);
  proxy = await startFaultProxy(git.url);
  ctl = await startControllerProcess(['--repo', `${proxy.url}/specs.git`, '--path', 'specs', '--interval', '1s', '--state-dir', path.join(dir, 'state')]);
  await waitFor('a Synced', (d) => synced(d, ['a']));
});

test.after(async () => {
  await ctl?.kill();
  await proxy?.close();
  await git?.close();
  await stopNetwork(net);
  await cleanup();
});

test('the Git remote refuses connections: the last state is kept and reported; a commit pushed meanwhile is applied once it is back', async () => {
  const before = await getStatus(ctl!.url);
  await proxy!.setMode('refuse');
  const failedAt = Date.now();
  try {
    await pollUntil('the fetch failure logged', async () => (/cannot read the spec repository/.test(ctl!.log()) ? true : undefined), 30_000);
    const d = await waitFor('a failed pass after the outage', (x) => x.controller.lastPass?.result === 'failed' && Date.parse(x.controller.lastPass.finishedAt ?? '') > failedAt);
    assert.match(d.controller.lastPass?.message ?? '', /^cannot read the spec repository; reconciling the last valid commit: .*ECONNREFUSED/, 'the status says why');
    assert.is(d.controller.observedCommit, before.controller.observedCommit, 'the last valid commit stays in force');
    assert.ok(synced(d, ['a']), 'mirrors keep their state');
    const ready = await fetch(`${ctl!.url}/readyz`);
    assert.is(ready.status, 503, 'not ready while the spec repository cannot be read');
    await ready.arrayBuffer();
    assert.match(ctl!.log(), /cannot read the spec repository; reconciling the last valid commit .*ECONNREFUSED/);
    assert.not.match(ctl!.log(), /\n\s+at \S+:\d+:\d+/, 'no stack trace in the log');
    await assertServes(net!.get('origin')!, 'a', TREE);
    writeFiles(work, { 'specs/b.yaml': mirror('b') });
    commitAndPush(work, 'add b while the server is away');
  } finally {
    await proxy!.setMode('pass');
  }
  const commit = runGit(['rev-parse', 'HEAD'], work);
  const back = await waitFor('b Synced after the remote is back', (d) => d.controller.observedCommit === commit && synced(d, ['a', 'b']) && d.controller.lastPass?.result === 'succeeded');
  assert.is(back.controller.lastPass?.message, undefined, 'no message once a pass succeeds');
  const ready = await fetch(`${ctl!.url}/readyz`);
  assert.is(ready.status, 200);
  await ready.arrayBuffer();
});

test('a force-pushed spec branch: the rewritten head is applied; what it dropped is pruned, nothing else', async () => {
  const old = runGit(['rev-parse', 'HEAD'], work);
  // Rewrite the last commit: b becomes c.
  writeFiles(work, { 'specs/b.yaml': null, 'specs/c.yaml': mirror('c') });
  const rewritten = commitAndPush(work, 'add c instead of b', { amend: true, force: true });
  assert.is.not(rewritten, old);
  assert.not.ok(runGit(['log', '--format=%H', 'main'], bare).split('\n').includes(old), 'the old head is gone from the branch');
  const d = await waitFor('c Synced on the rewritten head', (x) => x.controller.observedCommit === rewritten && synced(x, ['a', 'c']) && !x.mirrors.some((m) => m.name === 'b'));
  assert.equal(d.mirrors.map((m) => m.name), ['a', 'c']);
  assert.equal(await listNames(net!.get('origin')!, 'distributions'), ['pulpdist.a', 'pulpdist.c']);
  await assertServes(net!.get('origin')!, 'c', TREE);
});

test('status pushes declined by a server hook are reported and retried pass after pass until they land', async () => {
  writeFileSync(path.join(bare, 'reject-status'), '7');
  writeFiles(work, { 'specs/d.yaml': mirror('d') });
  const commit = commitAndPush(work, 'add d');
  await waitFor('d Synced', (d) => d.controller.observedCommit === commit && synced(d, ['a', 'c', 'd']));
  const landed = await pollUntil('the status of d committed', async () => {
    try {
      return /state: Synced/.test(runGit(['show', 'pulpdist/status:status/mirrors/d.yaml'], bare)) ? true : undefined;
    } catch {
      return undefined;
    }
  }, 60_000);
  assert.ok(landed);
  assert.is(readFileSync(path.join(bare, 'reject-status'), 'utf8').trim(), '0', 'the hook declined all 7 pushes it was told to');
  // A declined push is not a race with another writer: it is reported and retried on the next pass.
  const declined = ctl!.log().split('\n').filter((l) => /could not write the status commit; will try after the next pass .*pre-receive hook declined/.test(l));
  assert.is(declined.length, 7, ctl!.log().slice(-3000));
});

test('a huge and a binary spec file: positioned problems, nothing applied, nothing lost; removing them applies again', async () => {
  const before = await getStatus(ctl!.url);
  writeFiles(work, {
    'specs/huge.yaml': 'apiVersion: pulpdist/v1\nkind: Mirror\n# ' + 'x'.repeat(3 * 1024 * 1024) + '\n',
    'specs/e.yaml': mirror('e'),
  });
  mkdirSync(path.join(work, 'specs', 'img'), { recursive: true });
  writeFileSync(path.join(work, 'specs', 'img', 'logo.yaml'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0xff]));
  writeFileSync(path.join(work, 'specs', 'img', 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0xff]));
  const bad = commitAndPush(work, 'huge and binary');
  const d = await waitFor('the bad commit reported', (x) => x.controller.specCommit === bad && x.controller.specErrors.length >= 2);
  const errs = d.controller.specErrors.map((e) => `${e.file}:${e.line}:${e.column}`).sort();
  assert.equal(errs, ['specs/huge.yaml:1:1', 'specs/img/logo.yaml:1:1']);
  assert.match(d.controller.specErrors.find((e) => e.file === 'specs/huge.yaml')!.message, /larger than the 1 MiB limit/);
  assert.match(d.controller.specErrors.find((e) => e.file === 'specs/img/logo.yaml')!.message, /not UTF-8 text/);
  assert.is(d.controller.observedCommit, before.controller.observedCommit, 'nothing from the bad commit applied');
  assert.not.ok(d.mirrors.some((m) => m.name === 'e'));
  assert.equal(await listNames(net!.get('origin')!, 'distributions'), ['pulpdist.a', 'pulpdist.c', 'pulpdist.d']);
  // Removing the bad files (the .png is not a spec file and may stay) applies e.
  writeFiles(work, { 'specs/huge.yaml': null, 'specs/img/logo.yaml': null });
  const fixed = commitAndPush(work, 'remove them');
  await waitFor('e Synced after the fix', (x) => x.controller.observedCommit === fixed && x.controller.specErrors.length === 0 && synced(x, ['a', 'c', 'd', 'e']));
  assert.is(await ctl!.stop(), 0);
  ctl = undefined;
});

test.run();
