/**
 * `bench:transfer-floor` at a tiny scale: the real script, its two sides as real processes over
 * loopback, every byte of every file received; its JSON and its refusals.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { refusedBench, runBench } from '../../testkit/bench.js';

test('both read modes move the whole tree; the figures are per MiB of each side', async () => {
  const { stdout, json: r } = await runBench('transfer-floor', ['--files', '20', '--rounds', '1'], 60_000);
  assert.match(stdout, /median, synchronous reads: upstream [\d.]+ ms\/MiB, downstream [\d.]+ ms\/MiB/);
  assert.match(stdout, /median, thread-pool reads: upstream/);
  assert.is(r.files, 20);
  assert.equal(r.runs.map((x: { reads: string }) => x.reads), ['sync', 'pool']);
  for (const x of r.runs) assert.ok(x.mib > 0.1 && x.upstreamMsPerMiB > 0 && x.downstreamMsPerMiB > 0, JSON.stringify(x));
});

test('a bad option is refused with the usage, exit 2', async () => {
  const { code, output } = await refusedBench('transfer-floor', ['--files', 'many']);
  assert.is(code, 2);
  assert.match(output, '--files must be an integer ≥ 1, got many');
  assert.match(output, 'usage: node dist/bench/transfer-floor.js');
});

test.run();
