/**
 * `bench:transfer-floor` at a tiny scale: the real script, its two sides as real processes over
 * loopback, every byte of every file received; its JSON and its refusals.
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
const SCRIPT = path.join(PACKAGE_ROOT, 'dist', 'bench', 'transfer-floor.js');

test('both read modes move the whole tree; the figures are per MiB of each side', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-bench-floor-test-');
  try {
    const out = path.join(dir, 'r.json');
    const { stdout } = await run(process.execPath, [SCRIPT, '--files', '20', '--rounds', '1', '--out', out], { timeout: 60_000 });
    assert.match(stdout, /median, synchronous reads: upstream [\d.]+ ms\/MiB, downstream [\d.]+ ms\/MiB/);
    assert.match(stdout, /median, thread-pool reads: upstream/);
    const r = JSON.parse(await readFile(out, 'utf8'));
    assert.is(r.files, 20);
    assert.equal(r.runs.map((x: { reads: string }) => x.reads), ['sync', 'pool']);
    for (const x of r.runs) assert.ok(x.mib > 0.1 && x.upstreamMsPerMiB > 0 && x.downstreamMsPerMiB > 0, JSON.stringify(x));
  } finally {
    await cleanup();
  }
});

test('a bad option is refused with the usage, exit 2', async () => {
  const err = await run(process.execPath, [SCRIPT, '--files', 'many']).then(() => null, (e: { code: number; stderr: string }) => e);
  assert.is(err?.code, 2);
  assert.match(String(err?.stderr), '--files must be an integer ≥ 1, got many');
  assert.match(String(err?.stderr), 'usage: node dist/bench/transfer-floor.js');
});

test.run();
