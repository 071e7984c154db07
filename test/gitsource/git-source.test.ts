import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { STALE_LOCK_MS } from '../../gitsource/ref.js';
import { openGitSource } from '../../gitsource/source.js';
import type { GitSource } from '../../gitsource/types.js';
import { createStatusWriter } from '../../status/writer.js';
import { silentLogger } from '../../core/logger.js';
import type { StatusDocument } from '../../core/status.js';
import { tempDir } from '../../testkit/cli.js';
import { commitAndPush, makeRepo, runGit, startGitServer, writeFiles } from '../../testkit/git-server.js';

const signal = new AbortController().signal;
/** The rejection of `p` (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error & { code: string; file?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code: string; file?: string };
  }
  throw new Error('expected a rejection');
}
const text = (u: Uint8Array): string => Buffer.from(u).toString('utf8');

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function doc(state: 'Synced' | 'Failed', at: string): StatusDocument {
  return {
    controller: { version: '0.1.0', startedAt: at, observedCommit: 'a'.repeat(40), specCommit: 'a'.repeat(40), specErrors: [], lastPass: { startedAt: at, finishedAt: at, result: 'succeeded' } },
    sites: [{ name: 'origin', url: 'http://127.0.0.1:1', reachable: true, pulpVersion: '3.24.0', lastSeen: at, message: '' }],
    mirrors: [
      {
        name: 'tools',
        origin: 'origin',
        treeDigest: 'b'.repeat(64),
        sites: [{ site: 'origin', state, version: 1, treeDigest: 'b'.repeat(64), files: 3, bytes: 30, message: '', lastSync: { startedAt: at, finishedAt: at, result: 'completed', downloadedBytes: 30, downloadedFiles: 3, task: '/pulp/api/v3/tasks/' + at + '/' } }],
      },
    ],
  };
}

test('local: reads the committed tree of the branch under --path, never the work tree', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { work } = makeRepo(dir, 'specs', { 'mirrors/sites/a.yaml': 'a: 1\n', 'mirrors/m/b.yml': 'b: 1\n', 'mirrors/notes.txt': 'x', 'other/c.yaml': 'c: 1\n', 'mirrors/.hidden/d.yaml': 'd: 1\n' });
    const src = await openGitSource({ repo: work, path: 'mirrors', log: silentLogger });
    writeFiles(work, { 'mirrors/sites/a.yaml': 'a: uncommitted\n', 'mirrors/new.yaml': 'n: 1\n' });
    const head = await src.refresh({ signal });
    assert.is(head, runGit(['rev-parse', 'HEAD'], work));
    const files = await src.readSpecFiles(head, { signal });
    assert.equal(files.map((f) => f.path), ['mirrors/m/b.yml', 'mirrors/sites/a.yaml']);
    assert.is(text(files[1]!.content), 'a: 1\n');
    await src.readSpecFiles(head, { signal }).then(() => undefined);
    const missing = await openGitSource({ repo: work, path: 'nope', log: silentLogger });
    const err = await rejection(missing.readSpecFiles(head, { signal }));
    assert.is(err.code, 'SpecError');
    assert.is(err.file, 'nope');
  } finally {
    await cleanup();
  }
});

test('local: an unknown branch and a non-repository are GitSourceErrors that say what to fix', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { bare } = makeRepo(dir, 'specs', { 'a.yaml': 'a: 1\n' });
    const src = await openGitSource({ repo: bare, branch: 'prod', log: silentLogger });
    const err = await rejection(src.refresh({ signal }));
    assert.is(err.code, 'BranchNotFoundError', 'a GitSourceError the start-up check can tell apart');
    assert.match(err.message, /branch "prod" not found .*branches: main/);
    const err2 = await rejection(openGitSource({ repo: dir, log: silentLogger }));
    assert.is(err2.code, 'GitSourceError');
    assert.match(err2.message, /is not a Git repository/);
  } finally {
    await cleanup();
  }
});

test('local: a commit to the spec branch is seen within a second; a status commit is not', async () => {
  const { dir, cleanup } = await tempDir();
  let stop: (() => Promise<void>) | undefined;
  try {
    const { bare, work } = makeRepo(dir, 'specs', { 'a.yaml': 'a: 1\n' });
    const src = await openGitSource({ repo: bare, log: silentLogger });
    let changes = 0;
    stop = await src.watch(() => changes++);
    const writer = createStatusWriter(src, { log: silentLogger, now: () => new Date() });
    const r = await writer.write(doc('Synced', '2026-01-01T00:00:00.000Z'), { signal });
    assert.ok(r.commit);
    await new Promise((res) => setTimeout(res, 300)); // a window in which a wrong event would land
    assert.is(changes, 0);
    writeFiles(work, { 'a.yaml': 'a: 2\n' });
    commitAndPush(work, 'change');
    // From the moment the ref moved: how long git itself took on a loaded machine is not the watch's.
    const t0 = Date.now();
    await waitFor(() => changes === 1, 1000, 'the watch to fire');
    assert.ok(Date.now() - t0 < 1000);
  } finally {
    await stop?.();
    await cleanup();
  }
});

test('local: the status ref moves by lock file and rename: never seen half-written, waits for a git that holds the lock, takes over a stale one', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { bare } = makeRepo(dir, 'specs', { 'a.yaml': 'a: 1\n' });
    const src = await openGitSource({ repo: bare, log: silentLogger });
    const writer = createStatusWriter(src, { log: silentLogger, now: () => new Date() });
    const refFile = path.join(bare, 'refs', 'heads', 'pulpdist', 'status');
    await writer.write(doc('Synced', '2026-01-01T00:00:00.000Z'), { signal });
    // A reader polling the ref file between every step of 30 writes sees a whole oid each time
    // (an in-place rewrite showed it empty for an instant: `git log` then called it broken).
    let reads = 0;
    let torn = '';
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const v = readFileSync(refFile, 'utf8');
        if (!/^[0-9a-f]{40}\n$/.test(v)) torn = JSON.stringify(v);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 30; i++) await writer.write(doc(i % 2 ? 'Synced' : 'Failed', `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z`), { signal });
    writing = false;
    await reader;
    assert.is(torn, '', 'a torn ref was read');
    assert.ok(reads > 30, `the reader ran (${reads} reads)`);
    assert.not.ok(existsSync(`${refFile}.lock`));

    // git holds the lock (a push or `git update-ref` in progress): the writer gives up for now and
    // the branch stays where it was.
    const before = runGit(['rev-parse', 'pulpdist/status'], bare);
    writeFileSync(`${refFile}.lock`, '');
    const err = await rejection(writer.write(doc('Failed', '2026-01-02T00:00:00.000Z'), { signal }));
    assert.match(err.message, /kept moving/);
    assert.is(runGit(['rev-parse', 'pulpdist/status'], bare), before);
    // A lock left by a writer killed mid-update (older than STALE_LOCK_MS) is taken over.
    const old = new Date(Date.now() - STALE_LOCK_MS - 5000);
    utimesSync(`${refFile}.lock`, old, old);
    const r = await writer.write(doc('Failed', '2026-01-02T00:00:00.000Z'), { signal });
    assert.is(runGit(['rev-parse', 'pulpdist/status'], bare), r.commit);
    assert.match(runGit(['log', '-1', '--format=%s', 'pulpdist/status'], bare), /^status: 1 Failed/);
    assert.not.ok(existsSync(`${refFile}.lock`));
  } finally {
    await cleanup();
  }
});

test('remote: clone, fetch, force-push, and status commits pushed with retry on a concurrent push', async () => {
  const { dir, cleanup } = await tempDir();
  const { bare, work } = makeRepo(dir, 'specs', { 'mirrors/a.yaml': 'a: 1\n' });
  let interfere = false;
  const server = await startGitServer(dir, {
    auth: { username: 'ci', password: 'hunter2-secret' },
    beforePush: async () => {
      if (!interfere) return;
      interfere = false;
      // Someone else moves the status branch between our read and our push.
      const parent = runGit(['rev-parse', 'refs/heads/pulpdist/status'], bare);
      const tree = runGit(['rev-parse', `${parent}^{tree}`], bare);
      const c = runGit(['commit-tree', tree, '-p', parent, '-m', 'someone else'], bare);
      runGit(['update-ref', 'refs/heads/pulpdist/status', c], bare);
    },
  });
  try {
    const env = { PULPDIST_GIT_USERNAME: 'ci', PULPDIST_GIT_TOKEN: 'hunter2-secret' };
    const src: GitSource = await openGitSource({ repo: `${server.url}/specs.git`, path: 'mirrors', stateDir: `${dir}/state`, env, log: silentLogger });
    assert.is(src.kind, 'remote');
    const h1 = await src.refresh({ signal });
    assert.is(h1, runGit(['rev-parse', 'HEAD'], work));
    writeFiles(work, { 'mirrors/a.yaml': 'a: rewritten\n' });
    const h2 = commitAndPush(work, 'rewrite', { amend: true, force: true });
    assert.is.not(h2, h1);
    assert.is(await src.refresh({ signal }), h2);
    assert.is(text((await src.readSpecFiles(h2, { signal }))[0]!.content), 'a: rewritten\n');

    const writer = createStatusWriter(src, { log: silentLogger, now: () => new Date() });
    const first = await writer.write(doc('Synced', '2026-01-01T00:00:00.000Z'), { signal });
    assert.ok(first.commit);
    assert.is(runGit(['rev-parse', 'refs/heads/pulpdist/status'], bare), first.commit);
    assert.is(runGit(['log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', 'pulpdist/status'], bare), 'pulpdist <pulpdist@localhost>|pulpdist <pulpdist@localhost>|status: 1 Synced · spec aaaaaaaaaaaa [skip ci]');
    assert.equal(runGit(['ls-tree', '-r', '--name-only', 'pulpdist/status'], bare).split('\n'), ['status/README.md', 'status/controller.yaml', 'status/mirrors/tools.yaml', 'status/sites/origin.yaml']);
    // The spec branch is untouched.
    assert.is(runGit(['rev-parse', 'main'], bare), h2);

    const same = await writer.write(doc('Synced', '2026-01-01T01:00:00.000Z'), { signal });
    assert.is(same.commit, null, 'only timestamps changed: no commit');

    interfere = true;
    const failed = await writer.write(doc('Failed', '2026-01-01T02:00:00.000Z'), { signal });
    assert.ok(failed.commit);
    assert.is(failed.retries, 1);
    assert.is(interfere, false);
    assert.is(runGit(['log', '--format=%s', 'pulpdist/status'], bare).split('\n')[1], 'someone else');
    assert.match(runGit(['log', '-1', '--format=%B', 'pulpdist/status'], bare), /tools@origin: Synced → Failed/);
    assert.match(runGit(['show', 'pulpdist/status:status/mirrors/tools.yaml'], bare), /state: Failed/);

    const noCreds = await openGitSource({ repo: `${server.url}/specs.git`, stateDir: `${dir}/state2`, env: {}, log: silentLogger });
    const err = await rejection(noCreds.refresh({ signal }));
    assert.is(err.code, 'GitSourceError');
    assert.match(err.message, /PULPDIST_GIT_TOKEN/);
    assert.not.match(err.message, /hunter2/);
  } finally {
    await server.close();
    await cleanup();
  }
});

test.run();
