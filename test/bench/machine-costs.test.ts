/** bench/machine-costs.ts: real creates in a real directory, real fresh memory. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir } from 'node:fs/promises';
import { SLOW_CREATE_US, formatMachineCosts, measureMachineCosts } from '../../bench/machine-costs.js';
import { tempDir } from '../../testkit/cli.js';

test('creates and page touches are timed in the given directory, which is left as it was', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const c = measureMachineCosts(dir);
    assert.is(c.dir, dir);
    assert.ok(c.file_create_us_p50 > 0 && c.file_create_us_p90 >= c.file_create_us_p50, JSON.stringify(c));
    assert.ok(c.page_touch_us > 0, JSON.stringify(c));
    // The scratch directory and its 200 files are gone again.
    assert.equal(await readdir(dir), []);
    const line = formatMachineCosts(c);
    assert.ok(line.includes(`a file create in ${dir} takes ${c.file_create_us_p50} µs (p90 ${c.file_create_us_p90} µs)`), line);
    assert.ok(line.includes(`first touch ${c.page_touch_us} µs`), line);
  } finally {
    await cleanup();
  }
});

test('a slow create is called out, a fast one is not', () => {
  const costs = { dir: '/d', file_create_us_p90: 900, page_touch_us: 3 };
  assert.not.match(formatMachineCosts({ ...costs, file_create_us_p50: SLOW_CREATE_US }), /creates are slow/);
  assert.match(formatMachineCosts({ ...costs, file_create_us_p50: SLOW_CREATE_US + 0.1 }), /; creates are slow now: .* wait a few minutes and run again$/);
});

test('a directory that cannot be written is an error, not a figure', () => {
  assert.throws(() => measureMachineCosts('/nonexistent-pulpdist-dir'), /ENOENT/);
});

test.run();
