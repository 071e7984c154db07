/**
 * `bench:sync` end to end at a tiny scale: the real benchmark script, a real site, curl and an
 * https upstream (--tls), so that its figures and the site's sync over TLS are what the code does.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { refusedBench, runBench } from '../../testkit/bench.js';

test('--tls: curl and a site fetch the same tree over https, the site a second one; the update moves only new bytes', async () => {
  const { stdout, json: r } = await runBench('sync', ['--files', '200', '--mib', '4', '--tls']);
  assert.match(stdout, /concurrency 10, over https/);
  assert.is(r.transport, 'https');
  assert.is(r.files, 200);
  assert.ok(r.site.seconds > 0 && r.curl.seconds > 0);
  assert.ok(r.throughputRatio > 0);
  // The same site then syncs a second tree of new bytes, set against the same round's curl.
  assert.ok(r.warm.seconds > 0);
  // Nothing of the second tree was held: every one of its files was downloaded.
  assert.match(r.rounds[0].warmPhases, /^files=200 bytes=\d+ .* added=200 /);
  assert.is(r.warmThroughputRatio, r.warm.curlSeconds / r.warm.seconds);
  assert.match(stdout, /the first sync of a fresh site: [0-9.]+ \(target ≥ 0\.800\)/);
  assert.match(stdout, /the same site's sync of the second tree: [0-9.]+ \(target ≥ 0\.800\)/);
  assert.equal(r.rounds.map((x: { warmRatio: number }) => x.warmRatio), [r.warmThroughputRatio]);
  // 2% of 200 files got new content: exactly their bytes were downloaded again.
  assert.is(r.update.changedFiles, 4);
  assert.is(r.update.filesDownloaded, 4);
  assert.is(r.update.movedFileBytes, r.update.newContentBytes);
  // What this machine charges for a create and a page fault, measured where the run wrote.
  assert.ok(r.machine.file_create_us_p50 > 0 && r.machine.page_touch_us > 0, JSON.stringify(r.machine));
  assert.match(stdout, /^this machine: a file create in \S+ takes [\d.]+ µs \(p90 [\d.]+ µs\)/m);
});

test('bad options are usage errors (exit 2) with the usage', async () => {
  const { code, output } = await refusedBench('sync', ['--files', 'many']);
  assert.is(code, 2);
  assert.match(output, /--tls/);
});

test.run();
