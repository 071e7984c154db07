/** The site's own counters at /pulpdist/metrics: names, values that move with requests, valid Prometheus text. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startSite, type RunningSite } from '../../testkit/site.js';

let site: RunningSite;

test.before(async () => {
  site = await startSite();
});

test.after(async () => {
  await site?.stop();
});

const NAMES = [
  'pulpdist_site_content_bytes_served_total',
  'pulpdist_site_content_requests_total',
  'pulpdist_site_sync_bytes_downloaded_total',
  'pulpdist_site_sync_files_downloaded_total',
  'pulpdist_site_content_slow_reads_total',
  'pulpdist_site_gc_major_total',
];

function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+) (\S+)$/.exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

test('every counter, unlabelled, typed counter; content requests count each content-app request', async () => {
  const first = await fetch(`${site.url}/pulpdist/metrics`);
  assert.is(first.status, 200);
  assert.match(first.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await first.text();
  const before = samples(text);
  assert.equal([...before.keys()].sort(), [...NAMES].sort());
  for (const name of NAMES) assert.match(text, `# TYPE ${name} counter\n`);
  assert.is(before.get('pulpdist_site_sync_files_downloaded_total'), 0);
  for (let i = 0; i < 3; i++) await (await fetch(`${site.url}/pulp/content/`)).text();
  const after = samples(await (await fetch(`${site.url}/pulpdist/metrics`)).text());
  assert.is(after.get('pulpdist_site_content_requests_total'), (before.get('pulpdist_site_content_requests_total') ?? NaN) + 3);
  const head = await fetch(`${site.url}/pulpdist/metrics`, { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(await head.text(), '');
  assert.ok(Number(head.headers.get('content-length')) > 0);
  if (existsSync('/usr/bin/promtool')) {
    // promtool prints lint problems and exits non-zero when there are any.
    const out = execFileSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.is(out.trim(), '');
  }
});

test.run();
