/**
 * `npm run bench:page [-- --mirrors N] [-- --sites N] [-- --out FILE]`: the status page at the size
 * of a real network (1,000 mirrors × 10 sites by default) in Chromium. For each view (the default:
 * problems first, 100 rows; a state filter; a label and name filter; two rows expanded to their
 * recent syncs; every row) it reports the
 * server's render time for a new document and the browser's load time (navigation start → load
 * event, median of 5 loads after a first one). Target: the default view loads in under 1 s.
 */
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { messageOf } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import type { StatusDocument } from '../core/status.js';
import { formatBytes } from '../core/units.js';
import { SyncHistory } from '../status/sync-history.js';
import { largeStatus } from '../testkit/status-fixture.js';
import { createMetrics } from '../web/metrics.js';
import { startStatusServer } from '../web/server.js';
import { intOption } from './options.js';

const USAGE = `usage: npm run bench:page [-- --mirrors N] [-- --sites N] [-- --out FILE]

  --mirrors N  mirrors in the document (default 1000)
  --sites N    sites (default 10)
  --out FILE   also write the figures as JSON`;

const CHROMIUM = '/usr/bin/chromium';
const TARGET_MS = 1000;
const VIEWS = ['/', '/?state=Failed', '/?label=tier=gold&q=mirror-00', '/?open=mirror-0000&open=mirror-0001', '/?limit=all'];
const log = (line: string): void => void process.stderr.write(`bench:page: ${line}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mirrors: { type: 'string' }, sites: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) return void console.log(USAGE);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`);
  const mirrors = intOption('mirrors', values.mirrors, 1000);
  const siteCount = intOption('sites', values.sites, 10);
  let doc: StatusDocument = largeStatus(mirrors, new Date(), 0, siteCount);
  // Recent syncs to expand: the fixture's placements sync anew every 10 passes.
  const recent = new SyncHistory();
  for (let pass = 0; pass <= 100; pass += 10) recent.observe(largeStatus(mirrors, new Date(Date.now() - (100 - pass) * 60_000), pass, siteCount));
  const server = await startStatusServer({
    listen: '127.0.0.1:0', getStatus: () => doc, isReady: () => true, log: silentLogger, recentSyncs: (m) => recent.of(m),
    metrics: createMetrics({ version: 'bench', countSyncsSince: new Date(), now: () => new Date() }),
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const results: Record<string, { render_ms: number; load_ms: number; html_bytes: number; gzip_bytes: number }> = {};
  try {
    const page = await browser.newPage();
    for (const view of VIEWS) {
      // A new document each time: the server renders the view anew for the first load.
      doc = largeStatus(mirrors, new Date(), 1, siteCount);
      const t0 = performance.now();
      await fetch(server.url + view, { headers: { 'accept-encoding': 'identity' } }).then((r) => r.text());
      const render = performance.now() - t0;
      const loads: number[] = [];
      let sizes = { html: 0, gzip: 0 };
      for (let i = 0; i < 6; i++) {
        await page.goto(server.url + view, { waitUntil: 'load' });
        // Runs in the page: the browser's own navigation timing.
        const nav = await page.evaluate(`(() => { const n = performance.getEntriesByType('navigation')[0]; return { load: n.loadEventEnd, html: n.decodedBodySize, gzip: n.transferSize }; })()`) as { load: number; html: number; gzip: number };
        if (i > 0) loads.push(nav.load);
        sizes = { html: nav.html, gzip: nav.gzip };
      }
      loads.sort((a, b) => a - b);
      const load = loads[Math.floor(loads.length / 2)]!;
      results[view] = { render_ms: Math.round(render), load_ms: Math.round(load), html_bytes: sizes.html, gzip_bytes: sizes.gzip };
      log(`${view}: server render ${Math.round(render)} ms, browser load ${Math.round(load)} ms (median of 5), ${formatBytes(sizes.html)} (${formatBytes(sizes.gzip)} on the wire)`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const out = { mirrors, sites: siteCount, views: results, target_ms: TARGET_MS, met: (results['/']?.load_ms ?? Infinity) < TARGET_MS };
  console.log(JSON.stringify(out, null, 2));
  if (values.out) await writeFile(values.out, JSON.stringify(out, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:page: ${messageOf(err)}\n`);
  process.exit(1);
});
