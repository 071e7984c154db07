/**
 * `bench:manifest` at its quick scale: the real script, sha256sum and pulpdist as real processes,
 * every figure it compares timed in turn; its JSON and its refusals.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { refusedBench, runBench } from '../../testkit/bench.js';

test('a quick run agrees with sha256sum and reports every figure beside its floor', async () => {
  const { stdout, stderr, json: r } = await runBench('manifest', ['--quick', '--runs', '2']);
  assert.match(stdout, /\(pulpdist and sha256sum agree\)/);
  assert.match(stdout, /^targets: cold ≥ 3\.5× sha256sum: [\d.]+× (PASS|MISS); rescan ≤ 0\.3 s: [\d.]+ s (PASS|MISS)/m);
  assert.match(stderr, /timing sha256sum, a cold pulpdist manifest and the hashing floor in turn, 2 rounds/);
  assert.is(r.tree.files, 1004);
  // Two rounds of the cold figures, five of the rescan's: each command once per round.
  for (const t of [r.sha256sum, r.cold, r.floors.hash_only]) assert.is(t.runs_s.length, 2, JSON.stringify(t));
  for (const t of [r.rescan, r.floors.lstat_each_file, r.floors.node]) assert.is(t.runs_s.length, 5, JSON.stringify(t));
  for (const t of [r.sha256sum, r.cold, r.rescan, r.floors.node, r.floors.lstat_each_file, r.floors.hash_only]) {
    assert.ok(t.wall_s > 0 && t.cpu_s >= 0 && t.max_rss_mib > 1, JSON.stringify(t));
  }
  assert.ok(Math.abs(r.cold.speedup - r.sha256sum.wall_s / r.cold.wall_s) < 0.01, 'the ratio is of the medians shown');
  assert.ok(r.machine.file_create_us_p50 > 0 && r.machine.page_touch_us > 0, JSON.stringify(r.machine));
  assert.match(stdout, /^this machine: a file create in \S+ takes [\d.]+ µs .* a fresh page's first touch [\d.]+ µs/m);
});

test('a bad option is refused with the usage, exit 2', async () => {
  const { code, output } = await refusedBench('manifest', ['--runs', 'lots']);
  assert.is(code, 2);
  assert.match(output, '--runs must be 1–99, got "lots"');
  assert.match(output, 'usage: npm run bench:manifest');
});

test.run();
