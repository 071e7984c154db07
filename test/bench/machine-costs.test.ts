/** bench/machine-costs.ts: real creates in a real directory, real fresh memory. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir } from 'node:fs/promises';
import { SLOW_CREATE_US, formatMachineCosts, freeMemoryReported, measureMachineCosts } from '../../bench/machine-costs.js';
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

test('free page reporting: read from feature bit 5 of a virtio balloon, and said in the line', () => {
  const balloon = (features: string) => [{ driver: 'virtio_blk', features: '1111111' }, { driver: 'virtio_balloon', features }];
  assert.is(freeMemoryReported(() => balloon('0110010100000000')), true);
  assert.is(freeMemoryReported(() => balloon('0110000100000000')), false, 'bit 5 clear');
  assert.is(freeMemoryReported(() => balloon('0110')), false, 'too few bits');
  assert.is(freeMemoryReported(() => [{ driver: 'virtio_net', features: '0000011' }]), false, 'bit 5 of another device');
  assert.is(freeMemoryReported(() => []), false);
  assert.is(freeMemoryReported(() => { throw new Error('ENOENT'); }), undefined);
  // This machine's own answer, whatever it is, is one of the three.
  assert.ok([true, false, undefined].includes(freeMemoryReported()));
  const costs = { dir: '/d', file_create_us_p50: 50, file_create_us_p90: 90, page_touch_us: 3 };
  assert.match(formatMachineCosts({ ...costs, free_memory_reported: true }), /first touch 3 µs \(.*\); its hypervisor takes back memory the machine frees \(free page reporting\)/);
  assert.not.match(formatMachineCosts({ ...costs, free_memory_reported: false }), /hypervisor/);
  assert.not.match(formatMachineCosts(costs), /hypervisor/);
});

test('a directory that cannot be written is an error, not a figure', () => {
  assert.throws(() => measureMachineCosts('/nonexistent-pulpdist-dir'), /ENOENT/);
});

test.run();
