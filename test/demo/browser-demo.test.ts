/// <reference lib="dom" />
/**
 * The status endpoint over real data, end to end: `pulpdist demo` (three embedded sites, a Git
 * repository, the controller) until every mirror is Synced, then its document against the JSON
 * Schema, its page in headless Chromium, `pulpdist status` and /metrics, all telling the same
 * story. The screenshot goes to artifacts/status-page-demo.png.
 *
 * If Chromium cannot start, the browser part fails in CI (`CI` set) and is skipped locally with
 * the reason; the rest still runs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { chromium } from 'playwright-core';
import { PACKAGE_ROOT, SCHEMA_DIR } from '../../core/paths.js';
import type { StatusDocument } from '../../core/status.js';
import { BIN, runCli } from '../../testkit/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(PACKAGE_ROOT, 'artifacts', 'status-page-demo.png');

test('pulpdist demo: the document, the page, pulpdist status and /metrics agree once every mirror is Synced', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--listen', '127.0.0.1:0', '--interval', '5s'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const started = Date.now() + 60_000;
    while (!/pulpdist demo is running/.test(out)) {
      if (Date.now() > started || child.exitCode !== null) throw new Error(`demo did not start:\n${out}\n${err.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /status page\s+(http:\/\/\S+?)\/\s/.exec(out)![1]!;

    let doc: StatusDocument | null = null;
    const until = Date.now() + 90_000;
    while (Date.now() < until) {
      doc = await fetch(`${url}/api/v1/status`).then((r) => r.json() as Promise<StatusDocument>, () => null);
      if (doc && doc.mirrors.length > 0 && doc.mirrors.every((m) => m.sites.every((c) => c.state === 'Synced'))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(doc && doc.mirrors.every((m) => m.sites.every((c) => c.state === 'Synced')), `every mirror Synced: ${JSON.stringify(doc?.mirrors)}\n${err.slice(-2000)}`);
    const d = doc!;

    // The real document is what the schema says.
    const ajv = new Ajv.default({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'status.schema.json'), 'utf8')) as object);
    assert.ok(validate(d), JSON.stringify(validate.errors));
    const cells = d.mirrors.flatMap((m) => m.sites.map((c) => ({ mirror: m.name, origin: m.origin, ...c })));

    // /metrics: each cell Synced, and a propagation time for every site but the origin.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const c of cells) {
      assert.match(metrics, `pulpdist_mirror_state{mirror="${c.mirror}",site="${c.site}",state="Synced"} 1`);
      if (c.site !== c.origin) assert.match(metrics, new RegExp(`^pulpdist_propagation_seconds_count\\{mirror="${c.mirror}",site="${c.site}"\\} [1-9]`, 'm'));
    }
    assert.match(metrics, /^pulpdist_passes_total\{result="succeeded"\} [1-9]/m);

    // pulpdist status: a row per mirror, Synced wherever it is carried.
    const cli = await runCli(['status', '--server', url]);
    assert.is(cli.code, 0, cli.stderr);
    for (const m of d.mirrors) {
      const row = cli.stdout.split('\n').find((l) => l.startsWith(m.name + ' '));
      assert.ok(row, `a row for ${m.name}`);
      assert.is(row!.match(/Synced v\d+/g)?.length, m.sites.length, row);
    }

    // The page, in a real browser.
    let browser;
    try {
      if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      });
    } catch (e) {
      if (process.env.CI) throw e;
      console.log(`skipping the browser part: chromium cannot launch here: ${(e as Error).message.split('\n')[0]}`);
    }
    if (browser) {
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        await page.goto(url + '/');
        const shown = await page.$$eval('td.cell', (tds) => tds.map((td) => `${td.closest('tr')?.getAttribute('data-mirror')}@${td.getAttribute('data-site')}:${td.querySelector('.state')?.textContent}`));
        assert.equal(shown.sort(), cells.map((c) => `${c.mirror}@${c.site}:Synced`).sort());
        assert.equal(await page.$$eval('svg.topology g.node', (gs) => gs.map((g) => g.getAttribute('data-site')).sort()), d.sites.map((s) => s.name).sort());
        // Every link a mirror is synced over, each Synced: the upstream chain, plus the origin
        // feeding a site directly where its upstream does not carry the mirror.
        const edges = await page.$$eval('svg.topology g.edge', (gs) => gs.map((g) => `${g.getAttribute('data-from')}>${g.getAttribute('data-to')}:${g.getAttribute('data-state')}`).sort());
        const expected = new Set<string>();
        const upstream = new Map(d.sites.map((s) => [s.name, s.upstream ?? null]));
        for (const s of d.sites) if (s.upstream) expected.add(`${s.upstream}>${s.name}:Synced`);
        for (const m of d.mirrors) {
          const carried = new Set(m.sites.map((c) => c.site));
          for (const c of m.sites) {
            if (c.site === m.origin) continue;
            let feeder = upstream.get(c.site) ?? null;
            while (feeder && !carried.has(feeder)) feeder = upstream.get(feeder) ?? null;
            expected.add(`${feeder ?? m.origin}>${c.site}:Synced`);
          }
        }
        assert.equal(edges, [...expected].sort());
        await mkdir(path.dirname(SCREENSHOT), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
      } finally {
        await browser.close();
      }
    }
  } finally {
    child.kill('SIGINT');
    const code = await exited;
    assert.is(code, 0, err.slice(-2000));
  }
});

test.run();
