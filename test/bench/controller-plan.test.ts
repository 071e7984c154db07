/**
 * `bench:controller` (one pass over new mirrors) and `bench:plan` at a tiny scale: the real
 * scripts, a real controller pass and real `pulpdist plan` runs against embedded sites they start
 * themselves; their JSON and their refusals. A regression of the pass once went unseen for
 * weeks because nothing ran it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { refusedBench, runBench } from '../../testkit/bench.js';

test('bench:controller --only pass: 10 new mirrors × 3 sites converge in one pass, with the CPU of each side', async () => {
  const { stdout, json } = await runBench('controller', ['--only', 'pass', '--mirrors', '10']);
  assert.match(stdout, /one pass, 10 new mirrors × 3 sites\s+[\d.]+ s\s+converged/);
  const r = json.pass_new_mirrors;
  assert.is(r.mirrors, 10);
  assert.is(r.converged, true);
  assert.is(r.failures, 0);
  // A repository, a remote, a publication and a distribution per mirror and site.
  assert.is(r.changes, 10 * 3 * 4);
  assert.ok(r.seconds > 0 && r.cpu_s.controller > 0 && r.cpu_s.sites > 0, JSON.stringify(r));
});

test('bench:plan: a cold and a warm `pulpdist plan` over 20 mirrors × 3 sites, within the request bound', async () => {
  const { stdout, json: r } = await runBench('plan', ['--mirrors', '20', '--sites', '3']);
  assert.match(stdout, /\| cold \(no local cache\) \|/);
  assert.is(r.mirrors, 20);
  assert.is(r.sites, 3);
  assert.equal(r.runs.map((x: { name: string }) => x.name), ['cold (no local cache)', 'warm (local cache)']);
  for (const x of r.runs) {
    assert.is(x.exitCode, 0, JSON.stringify(x));
    assert.ok(x.requests.api > 0 && x.requests.total <= r.requestsBound, JSON.stringify(x));
    assert.ok(x.wallS > 0 && x.maxRssBytes > 0, JSON.stringify(x));
  }
});

test('bad sizes are refused with the usage, exit 2, before anything is built', async () => {
  for (const [name, args, message] of [
    ['controller', ['--mirrors', 'x'], '--mirrors must be an integer ≥ 1, got x'],
    ['plan', ['--sites', '0'], '--sites must be an integer ≥ 1, got 0'],
  ] as const) {
    const { code, output } = await refusedBench(name, [...args]);
    assert.is(code, 2, name);
    assert.match(output, message);
    assert.match(output, `usage: npm run bench:${name}`);
  }
});

test.run();
