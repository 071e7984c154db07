/**
 * `bench:controller` (one pass over new mirrors) and `bench:plan` at a tiny scale: the real
 * scripts, a real controller pass and real `pulpdist plan` runs against embedded sites they start
 * themselves; their JSON and their refusals. A regression of the pass once went unseen for
 * weeks because nothing ran it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { tempDir } from '../../testkit/cli.js';

const run = promisify(execFile);
const CONTROLLER = path.join(PACKAGE_ROOT, 'dist', 'bench', 'controller.js');
const PLAN = path.join(PACKAGE_ROOT, 'dist', 'bench', 'plan.js');

test('bench:controller --only pass: 10 new mirrors × 3 sites converge in one pass, with the CPU of each side', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-bench-controller-test-');
  try {
    const out = path.join(dir, 'c.json');
    const { stdout } = await run(process.execPath, [CONTROLLER, '--only', 'pass', '--mirrors', '10', '--out', out], { timeout: 120_000 });
    assert.match(stdout, /one pass, 10 new mirrors × 3 sites\s+[\d.]+ s\s+converged/);
    const r = JSON.parse(await readFile(out, 'utf8')).pass_new_mirrors;
    assert.is(r.mirrors, 10);
    assert.is(r.converged, true);
    assert.is(r.failures, 0);
    // A repository, a remote, a publication and a distribution per mirror and site.
    assert.is(r.changes, 10 * 3 * 4);
    assert.ok(r.seconds > 0 && r.cpu_s.controller > 0 && r.cpu_s.sites > 0, JSON.stringify(r));
  } finally {
    await cleanup();
  }
});

test('bench:plan: a cold and a warm `pulpdist plan` over 20 mirrors × 3 sites, within the request bound', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-bench-plan-test-');
  try {
    const out = path.join(dir, 'p.json');
    const { stdout } = await run(process.execPath, [PLAN, '--mirrors', '20', '--sites', '3', '--out', out], { timeout: 120_000 });
    assert.match(stdout, /\| cold \(no local cache\) \|/);
    const r = JSON.parse(await readFile(out, 'utf8'));
    assert.is(r.mirrors, 20);
    assert.is(r.sites, 3);
    assert.equal(r.runs.map((x: { name: string }) => x.name), ['cold (no local cache)', 'warm (local cache)']);
    for (const x of r.runs) {
      assert.is(x.exitCode, 0, JSON.stringify(x));
      assert.ok(x.requests.api > 0 && x.requests.total <= r.requestsBound, JSON.stringify(x));
      assert.ok(x.wallS > 0 && x.maxRssBytes > 0, JSON.stringify(x));
    }
  } finally {
    await cleanup();
  }
});

test('bad sizes are refused with the usage, exit 2, before anything is built', async () => {
  for (const [script, args, message, usage] of [
    [CONTROLLER, ['--mirrors', 'x'], '--mirrors must be an integer ≥ 1, got x', 'usage: npm run bench:controller'],
    [PLAN, ['--sites', '0'], '--sites must be an integer ≥ 1, got 0', 'usage: npm run bench:plan'],
  ] as const) {
    const err = await run(process.execPath, [script, ...args], { timeout: 30_000 }).then(() => null, (e: { code: number; stderr: string; stdout: string }) => e);
    assert.is(err?.code, 2, script);
    assert.match(String(err?.stderr), message);
    assert.match(String(err?.stderr) + String(err?.stdout), usage);
  }
});

test.run();
