/**
 * The loop over a real local Git repository and the real spec loader. The reconcile pass is the
 * loop's input (a plain function here, like the hand-built documents the status server is given);
 * the end-to-end tests run the real pass against embedded sites.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openGitSource } from '../../gitsource/source.js';
import { createController, type Controller } from '../../controller/loop.js';
import { createStatusWriter } from '../../status/writer.js';
import { silentLogger } from '../../core/logger.js';
import type { StatusDocument } from '../../core/status.js';
import type { PassResult } from '../../reconcilers/pass-types.js';
import { loadSpecFiles } from '../../spec/load.js';
import type { SpecSet } from '../../spec/types.js';
import { tempDir } from '../../testkit/cli.js';
import { makeRepo, runGit, writeFiles } from '../../testkit/git-server.js';

const site = (name: string): string => `apiVersion: pulpdist/v1
kind: Site
metadata: {name: ${name}}
spec:
  pulp: {url: "http://127.0.0.1:9"}
`;
const mirror = (name: string, extra = ''): string => `apiVersion: pulpdist/v1
kind: Mirror
metadata: {name: ${name}}
spec:
  source: {path: /srv/${name}}
  origin: origin
  sites: [origin]
${extra}`;

function converged(specs: SpecSet): PassResult {
  return {
    converged: true,
    changes: specs.mirrors.length,
    failures: [],
    nextDueAt: null,
    sites: specs.sites.map((s) => ({ name: s.name, url: s.pulp.url, reachable: true, pulpVersion: '3.24.0', lastSeen: new Date().toISOString(), message: '' })),
    mirrors: specs.mirrors.map((m) => ({
      name: m.name,
      origin: m.origin,
      treeDigest: 'ab'.repeat(32),
      sites: m.sites.map((s) => ({ site: s, state: 'Synced' as const, version: 1, treeDigest: 'ab'.repeat(32), files: 1, bytes: 1, lastSync: null, message: '' })),
    })),
  };
}

async function until(ctl: Controller, pred: (doc: StatusDocument) => boolean, ms = 5000): Promise<StatusDocument> {
  if (pred(ctl.getStatus())) return ctl.getStatus();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out; last status: ${JSON.stringify(ctl.getStatus().controller)}`));
    }, ms);
    const off = ctl.onCycle((doc) => {
      if (!pred(doc)) return;
      clearTimeout(timer);
      off();
      resolve(doc);
    });
  });
}

/** Poll the live document (a pass that is running has not finished a cycle yet). */
async function polled(ctl: Controller, pred: (doc: StatusDocument) => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred(ctl.getStatus())) {
    if (Date.now() > end) throw new Error(`timed out; last status: ${JSON.stringify(ctl.getStatus().controller)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function setup(reconcile: (specs: SpecSet, o: { signal: AbortSignal }) => Promise<PassResult>, opts: { preemptAfterMs?: number; passDeadlineMs?: number; backoffBaseMs?: number } = {}) {
  const t = await tempDir();
  const { work } = makeRepo(t.dir, 'specs', { 'specs/sites/origin.yaml': site('origin'), 'specs/mirrors/a.yaml': mirror('a') });
  const source = await openGitSource({ repo: work, path: 'specs', log: silentLogger });
  const ctl = createController(
    { source, loadSpecs: loadSpecFiles, reconcile, writer: createStatusWriter(source, { log: silentLogger, now: () => new Date() }), log: silentLogger },
    { intervalMs: 3_600_000, debounceMs: 20, version: '0.1.0', ...opts },
  );
  const commit = (files: Record<string, string | null>, msg: string): string => {
    writeFiles(work, files);
    runGit(['add', '-A'], work);
    runGit(['commit', '-q', '-m', msg], work);
    return runGit(['rev-parse', 'HEAD'], work);
  };
  return { ...t, work, ctl, commit };
}

test('a valid commit is applied; an invalid one is reported with file:line:column and not applied; a fix is applied', async () => {
  const seen: string[][] = [];
  const s = await setup(async (specs) => {
    seen.push(specs.mirrors.map((m) => m.name));
    return converged(specs);
  });
  try {
    await s.ctl.start();
    const c1 = runGit(['rev-parse', 'HEAD'], s.work);
    let doc = await until(s.ctl, (d) => d.controller.observedCommit === c1);
    assert.equal(doc.mirrors.map((m) => m.sites[0]!.state), ['Synced']);
    assert.ok(s.ctl.isReady());
    assert.match(runGit(['show', 'pulpdist/status:status/mirrors/a.yaml'], s.work), /state: Synced/);

    // Invalid: mirror b names an unknown site; a is renamed away, so applying it would prune a.
    const c2 = s.commit({ 'specs/mirrors/a.yaml': null, 'specs/mirrors/b.yaml': mirror('b').replace('sites: [origin]', 'sites: [origin, nowhere]') }, 'bad');
    doc = await until(s.ctl, (d) => d.controller.specCommit === c2);
    assert.is(doc.controller.observedCommit, c1);
    assert.ok(doc.controller.specErrors.length >= 1);
    const e = doc.controller.specErrors[0]!;
    assert.is(e.file, 'specs/mirrors/b.yaml');
    assert.is(e.line, 7);
    assert.match(e.message, /nowhere/);
    assert.equal(doc.mirrors.map((m) => m.name), ['a'], 'the last valid commit stays in force');
    assert.ok(seen.every((names) => names.join() === 'a'), 'no pass ever saw the invalid specs');
    assert.match(runGit(['show', 'pulpdist/status:status/README.md'], s.work), /specs\/mirrors\/b\.yaml:7:\d+/);

    const c3 = s.commit({ 'specs/mirrors/b.yaml': mirror('b') }, 'fixed');
    doc = await until(s.ctl, (d) => d.controller.observedCommit === c3);
    assert.equal(doc.controller.specErrors, []);
    assert.equal(doc.mirrors.map((m) => m.name), ['b']);
    assert.equal(seen.at(-1), ['b']);
  } finally {
    await s.ctl.stop({ graceMs: 1000 });
    await s.cleanup();
  }
});

test('a newer commit is not held behind a stuck pass: the pass is aborted after preemptAfterMs', async () => {
  let calls = 0;
  const s = await setup(
    async (specs, { signal }) => {
      calls++;
      if (calls === 1) {
        // A stuck operation: only the signal ends it.
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      }
      return converged(specs);
    },
    { preemptAfterMs: 150 },
  );
  try {
    await s.ctl.start();
    await polled(s.ctl, (d) => d.controller.lastPass?.result === 'running');
    const c2 = s.commit({ 'specs/mirrors/c.yaml': mirror('c') }, 'add c');
    const doc = await until(s.ctl, (d) => d.controller.observedCommit === c2, 5000);
    assert.is(calls, 2);
    assert.is(doc.controller.lastPass?.result, 'succeeded');
    assert.equal(doc.mirrors.map((m) => m.name), ['a', 'c']);
  } finally {
    await s.ctl.stop({ graceMs: 1000 });
    await s.cleanup();
  }
});

test('a pass past its deadline is aborted and reported failed; an error is retried with backoff', async () => {
  let calls = 0;
  const s = await setup(
    async (specs, { signal }) => {
      calls++;
      if (calls === 1) await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      if (calls === 2) throw new Error('site unreachable');
      return converged(specs);
    },
    { passDeadlineMs: 200, backoffBaseMs: 50 },
  );
  try {
    const failed: string[] = [];
    s.ctl.onCycle((d) => failed.push(d.controller.lastPass?.result ?? 'none'));
    await s.ctl.start();
    const c1 = runGit(['rev-parse', 'HEAD'], s.work);
    const doc = await until(s.ctl, (d) => d.controller.observedCommit === c1 && d.controller.lastPass?.result === 'succeeded', 5000);
    assert.equal(failed, ['failed', 'failed', 'succeeded']);
    assert.is(calls, 3, 'retried without waiting for the (1 h) interval');
    assert.equal(doc.mirrors[0]!.sites[0]!.state, 'Synced');
  } finally {
    await s.ctl.stop({ graceMs: 1000 });
    await s.cleanup();
  }
});

test('a webhook starts a pass only when the spec branch moved (not for pushes to other branches)', async () => {
  let calls = 0;
  const s = await setup(async (specs) => {
    calls++;
    return converged(specs);
  });
  try {
    await s.ctl.start();
    const c1 = runGit(['rev-parse', 'HEAD'], s.work);
    await until(s.ctl, (d) => d.controller.observedCommit === c1);
    const before = calls;
    // Another branch moves (as our own status pushes do), and the webhook announces it.
    runGit(['branch', '-f', 'feature', 'HEAD'], s.work);
    s.ctl.trigger('webhook');
    // Then the spec branch moves and the webhook announces that: exactly one more pass.
    const c2 = s.commit({ 'specs/mirrors/b.yaml': mirror('b') }, 'add b');
    s.ctl.trigger('webhook');
    await until(s.ctl, (d) => d.controller.observedCommit === c2);
    assert.is(calls, before + 1);
  } finally {
    await s.ctl.stop({ graceMs: 1000 });
    await s.cleanup();
  }
});

test('stop() waits for the running pass within the grace period and records it', async () => {
  let release: () => void = () => {};
  const s = await setup(async (specs) => {
    await new Promise<void>((r) => (release = r));
    return converged(specs);
  });
  try {
    await s.ctl.start();
    await polled(s.ctl, (d) => d.controller.lastPass?.result === 'running');
    const stopping = s.ctl.stop({ graceMs: 5000 });
    setTimeout(() => release(), 100);
    await stopping;
    const doc = s.ctl.getStatus();
    assert.is(doc.controller.lastPass?.result, 'succeeded');
    assert.is(doc.controller.observedCommit, runGit(['rev-parse', 'HEAD'], s.work));
    assert.match(runGit(['show', 'pulpdist/status:status/controller.yaml'], s.work), /result: succeeded/);
  } finally {
    await s.cleanup();
  }
});

test.run();
