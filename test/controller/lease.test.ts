/**
 * The Git lease (controller/lease.ts) between two replicas, each with its own clone of a real
 * repository served by `git http-backend`: exactly one active; a holder that stops renewing (dead
 * or paused) is replaced once its lease ran out, and when it runs again it is standby and may not
 * write; a clean stop releases at once; a third party's edit of the lease branch is survived; a
 * replica started beside a dead holder's lease takes it after exactly one lease duration.
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemClock, type Clock } from '../../controller/clock.js';
import { GitLease, type Role } from '../../controller/lease.js';
import { silentLogger } from '../../core/logger.js';
import { openGitSource } from '../../gitsource/source.js';
import { tempDir } from '../../testkit/cli.js';
import { makeRepo, runGit, startGitServer, type RunningGitServer } from '../../testkit/git-server.js';
import { FakeClock } from './fake-clock.js';

const DURATION = 6000;
let server: RunningGitServer | undefined;
let cleanup: () => Promise<void> = async () => {};
let bare = '';
let dir = '';

const ready = (async () => {
  const t = await tempDir('pulpdist-lease-');
  ({ dir, cleanup } = t);
  ({ bare } = makeRepo(dir, 'specs', { 'specs/README.md': 'specs\n' }));
  server = await startGitServer(dir);
})();

test.after(async () => {
  await server?.close();
  await cleanup();
});

let n = 0;
async function replica(name: string, branch: string, o: { clock?: Clock; renewEveryMs?: number } = {}): Promise<{ lease: GitLease; roles: Role[] }> {
  const source = await openGitSource({ repo: `${server!.url}/specs.git`, path: 'specs', stateDir: path.join(dir, `state-${name}-${++n}`), log: silentLogger });
  const roles: Role[] = [];
  const lease = new GitLease({ source, branch, identity: name, durationMs: DURATION, renewEveryMs: o.renewEveryMs ?? 500, clock: o.clock ?? systemClock, log: silentLogger, onRole: (r) => roles.push(r) });
  return { lease, roles };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('two replicas: one active; the holder stops renewing → the other takes over after the lease ran out; the old holder finds out and may not write', async () => {
  await ready;
  const branch = 'pulpdist/lease-a';
  const a = await replica('a', branch);
  const b = await replica('b', branch);
  await a.lease.tick();
  await b.lease.tick();
  assert.equal([a.lease.role, b.lease.role], ['active', 'standby']);
  assert.ok(a.lease.holds() && !b.lease.holds());
  assert.is(b.lease.holder, 'a');
  assert.match(runGit(['show', `${branch}:lease/lease.json`], bare), '"holder": "a"');
  // a renews; b keeps seeing new heads and stays standby well past one duration.
  const t0 = Date.now();
  while (Date.now() - t0 < DURATION * 1.5) {
    await a.lease.tick();
    await b.lease.tick();
    await sleep(150);
  }
  assert.equal([a.lease.role, b.lease.role], ['active', 'standby']);
  // a pauses (no ticks): it is fenced by its own clock before b may take over.
  const paused = Date.now();
  while (b.lease.role === 'standby' && Date.now() - paused < DURATION * 4) {
    await b.lease.tick();
    await sleep(100);
  }
  const tookOver = Date.now() - paused;
  assert.is(b.lease.role, 'active');
  assert.ok(tookOver >= DURATION && tookOver <= 2 * DURATION + 1000, `b took over ${tookOver} ms after a stopped renewing`);
  assert.not.ok(a.lease.holds(), 'a, paused past its lease, may not write even before it looks');
  await a.lease.tick();
  assert.is(a.lease.role, 'standby');
  assert.equal(a.roles, ['active', 'standby']);
  assert.is(a.lease.holder, 'b');
});

test('a clean stop releases the lease: the standby takes over at once', async () => {
  await ready;
  const branch = 'pulpdist/lease-b';
  const a = await replica('a', branch);
  const b = await replica('b', branch);
  await a.lease.tick();
  await b.lease.tick();
  assert.is(a.lease.role, 'active');
  await a.lease.stop();
  assert.is(a.lease.role, 'standby');
  assert.match(runGit(['show', `${branch}:lease/lease.json`], bare), '"holder": ""');
  await b.lease.tick();
  assert.is(b.lease.role, 'active', 'no waiting for a released lease');
  await b.lease.stop();
});

test('two replicas starting together: exactly one wins the first push', async () => {
  await ready;
  const branch = 'pulpdist/lease-c';
  const a = await replica('a', branch);
  const b = await replica('b', branch);
  await Promise.all([a.lease.tick(), b.lease.tick()]);
  assert.equal([a.lease.role, b.lease.role].sort(), ['active', 'standby']);
  // Someone rewrites the lease branch by hand: the holder sees it is not named there and steps down.
  const holder = a.lease.role === 'active' ? a : b;
  const parent = runGit(['rev-parse', `refs/heads/${branch}`], bare);
  const tree = runGit(['rev-parse', `${parent}^{tree}`], bare);
  runGit(['update-ref', `refs/heads/${branch}`, runGit(['commit-tree', tree, '-p', parent, '-m', 'by hand'], bare)], bare);
  await holder.lease.tick();
  assert.is(holder.lease.role, 'active', 'the same record (same holder) in a new commit: still ours, renewed on top');
  runGit(['update-ref', `refs/heads/${branch}`, runGit(['commit-tree', runGit(['mktree'], bare, {}), '-p', parent, '-m', 'emptied'], bare)], bare);
  await holder.lease.tick();
  assert.is(holder.lease.role, 'standby', 'a lease that no longer names us is lost');
  assert.not.ok(holder.lease.holds());
});

test('started beside a dead holder\'s lease: active exactly one lease duration after its first look, not a renew period later', async () => {
  await ready;
  const branch = 'pulpdist/lease-d';
  const dead = await replica('dead', branch);
  await dead.lease.tick();
  assert.is(dead.lease.role, 'active');
  // `dead` never looks again, as after a SIGKILL. b's clock is moved by hand (its Git is real), and
  // its renew period (4 s) does not divide the lease (6 s): looking only every period, it would
  // take the lease 8 s after its first look.
  const clock = new FakeClock();
  const b = await replica('b', branch, { clock, renewEveryMs: 4000 });
  const firstLook = clock.now();
  await b.lease.tick();
  assert.equal([b.lease.role, b.lease.holder], ['standby', 'dead']);
  // What start()'s loop does: wait nextLookInMs, look, until active.
  const waits: number[] = [];
  while (b.lease.role === 'standby' && clock.now() - firstLook < 3 * DURATION) {
    const wait = b.lease.nextLookInMs();
    waits.push(wait);
    await clock.advance(wait);
    await b.lease.tick();
  }
  assert.is(b.lease.role, 'active');
  assert.is(clock.now() - firstLook, DURATION, `waited ${waits.join(' + ')} ms`);
  assert.equal(waits, [4000, 2000]);
  assert.match(runGit(['show', `${branch}:lease/lease.json`], bare), '"holder": "b"');
  // Holding it, b renews every period again.
  assert.is(b.lease.nextLookInMs(), 4000);
  await b.lease.stop();
});

test.run();
