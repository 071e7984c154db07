/// <reference lib="dom" />
/**
 * `GET /` in a real headless Chromium (Debian's package, driven by playwright-core): the grid shows
 * every state with its class and colour, the topology SVG has a node per site and an edge per
 * link coloured by the worst state over it, the page runs under its own CSP without errors, and a
 * screenshot lands in artifacts/status-page.png for people (and CI) to look at.
 *
 * If Chromium cannot start, the test fails in CI (`CI` set) and is skipped locally with the reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { silentLogger } from '../../core/logger.js';
import { PACKAGE_ROOT } from '../../core/paths.js';
import type { StatusDocument } from '../../core/status.js';
import { createMetrics } from '../../web/metrics.js';
import { startStatusServer, type StatusServer } from '../../web/server.js';
import { STATE_COLOURS } from '../../status/format.js';
import { sampleStatus } from '../../testkit/status-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(PACKAGE_ROOT, 'artifacts', 'status-page.png');

let browser: Browser | undefined;
let server: StatusServer | undefined;
let skipReason: string | undefined;
let launchError: Error | undefined;
let doc: StatusDocument = sampleStatus();

test.before(async () => {
  server = await startStatusServer({ listen: '127.0.0.1:0', getStatus: () => doc, isReady: () => true, metrics: createMetrics(), log: silentLogger });
  try {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  } catch (err) {
    launchError = err as Error;
    skipReason = `chromium cannot launch here: ${launchError.message.split('\n')[0]}`;
    if (!process.env.CI) console.log(`skipping the browser test: ${skipReason}`);
  }
});

test.after(async () => {
  await browser?.close();
  await server?.close();
});

/** CSS `rgb(r, g, b)` of a `#rrggbb` colour, as getComputedStyle reports it. */
function rgb(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

/** A page that records console errors and page errors; null when the browser is skipped here. */
async function newPage(): Promise<{ page: Page; problems: string[] } | null> {
  // In CI a browser that cannot start is a failure (with its reason), never a silent skip.
  if (launchError && process.env.CI) throw launchError;
  if (!browser) {
    console.log(`skipped: ${skipReason}`);
    return null;
  }
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  return { page, problems };
}

test('the grid shows every state as text, class and colour; the topology draws sites and links', async () => {
  const opened = await newPage();
  if (!opened) return;
  const { page, problems } = opened;
  page.on('request', (r) => {
    if (!r.url().startsWith(server!.url)) problems.push(`external request: ${r.url()}`);
  });
  try {
    await page.goto(server!.url + '/');

    // Header: the applied commit (short), and the spec error with its position.
    assert.is((await page.textContent('code.commit'))?.trim(), doc.controller.observedCommit!.slice(0, 7));
    assert.match((await page.textContent('.spec-errors')) ?? '', 'mirrors/bad.yaml:14:7');

    // Every state appears, with its colour and its name as text.
    const cells = await page.$$eval('td.cell', (tds) =>
      tds.map((td) => ({ state: td.getAttribute('data-state'), cls: td.className, text: td.querySelector('.state')?.textContent, bg: getComputedStyle(td).backgroundColor, title: td.getAttribute('title') })),
    );
    const expected = doc.mirrors.flatMap((m) => m.sites.map((s) => s.state));
    assert.equal(cells.map((c) => c.state).sort(), [...expected].sort());
    for (const state of Object.keys(STATE_COLOURS) as (keyof typeof STATE_COLOURS)[]) {
      const c = cells.find((x) => x.state === state);
      assert.ok(c, `a cell in state ${state}`);
      assert.ok(c!.cls.split(' ').includes(`state-${state}`), `${state} has its class`);
      assert.is(c!.text, state);
      assert.is(c!.bg, rgb(STATE_COLOURS[state].bg), `${state} background`);
    }
    // A running sync draws its progress bar with its share and figures as text.
    const bar = await page.$eval('td.cell[data-state="Progressing"] progress.sync', (p) => ({ value: (p as HTMLProgressElement).value, max: (p as HTMLProgressElement).max, label: p.getAttribute('aria-label'), width: p.getBoundingClientRect().width }));
    assert.equal({ value: bar.value, max: bar.max, label: bar.label }, { value: 375, max: 1000, label: 'sync 37% done' });
    assert.ok(bar.width > 50, `the bar is drawn (${bar.width}px wide)`);
    assert.match((await page.textContent('td.cell[data-state="Progressing"] .prog')) ?? '', /^37% · 3\/10 files, 1\.5 MiB of 4(\.0)? MiB, 768 KiB\/s, 3(\.0)?s to go$/);
    // The message is on hover; markup in it is text, not HTML.
    const xss = cells.find((c) => c.title?.includes('<script>'));
    assert.ok(xss, 'the message with markup is shown as text in the title');
    assert.is(await page.$$eval('script', (s) => s.length), 1, 'only the page\'s own script');

    // Topology: a node per site, an edge per link, coloured by the worst state over it.
    const nodes = await page.$$eval('svg.topology g.node', (gs) => gs.map((g) => g.getAttribute('data-site')).sort());
    assert.equal(nodes, doc.sites.map((s) => s.name).sort());
    const edges = await page.$$eval('svg.topology g.edge', (gs) =>
      gs.map((g) => ({ from: g.getAttribute('data-from'), to: g.getAttribute('data-to'), state: g.getAttribute('data-state'), stroke: g.querySelector('path')?.getAttribute('stroke') })),
    );
    const byLink = Object.fromEntries(edges.map((e) => [`${e.from}>${e.to}`, e]));
    assert.equal(Object.keys(byLink).sort(), ['hub>leaf', 'origin>edge', 'origin>hub']);
    // origin>hub carries fedora-40 (Synced) and epel-9 (OutOfSync): the worst is OutOfSync.
    assert.is(byLink['origin>hub']!.state, 'OutOfSync');
    assert.is(byLink['origin>hub']!.stroke, STATE_COLOURS.OutOfSync.line);
    // hub>leaf: Progressing, Pending, Suspended → Progressing.
    assert.is(byLink['hub>leaf']!.state, 'Progressing');
    assert.is(byLink['origin>edge']!.state, 'Failed');
    assert.is(byLink['origin>edge']!.stroke, STATE_COLOURS.Failed.line);
    // The unreachable site is marked as such, in text too.
    assert.match((await page.textContent('g.node[data-site="edge"] title')) ?? '', /unreachable/);

    // The page refreshes itself: a new document shows up without a reload.
    doc = { ...doc, controller: { ...doc.controller, observedCommit: 'abcdef1234567890abcdef1234567890abcdef12' } };
    await page.waitForFunction(() => document.querySelector('code.commit')?.textContent === 'abcdef1', undefined, { timeout: 15_000 });

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(existsSync(SCREENSHOT));
    assert.equal(problems, [], 'no console errors, no CSP violations, no external requests');
  } finally {
    await page.close();
  }
});

test('problems first; filters by state, name and label live in the URL and survive the self-refresh; a row expands to its syncs', async () => {
  const opened = await newPage();
  if (!opened) return;
  const { page, problems } = opened;
  const rows = () => page.$$eval('tr[data-mirror]', (trs) => trs.map((tr) => tr.getAttribute('data-mirror')));
  try {
    // Worst placement first: Failed (fedora-40), Blocked (retired), OutOfSync (epel-9), then Pending, Suspended.
    await page.goto(server!.url + '/');
    assert.equal(await rows(), ['fedora-40', 'retired', 'epel-9', 'xss-test', 'tools']);
    // The form: tick Blocked and submit; the state goes into the URL.
    await page.check('form.filters input[name=state][value=Blocked]');
    await Promise.all([page.waitForURL(/state=Blocked/), page.click('form.filters button[type=submit]')]);
    assert.equal(await rows(), ['retired']);
    assert.match(await page.textContent('p.shown') ?? '', 'Showing 1 of 1 matching (5 in all) mirrors');
    // A shared link with name and label filters.
    await page.goto(server!.url + '/?q=EPEL');
    assert.equal(await rows(), ['epel-9']);
    await page.goto(server!.url + '/?label=team=os');
    assert.equal(await rows(), ['fedora-40']);
    assert.is(await page.inputValue('form.filters input[name=label]'), 'team=os');
    // A cap on the rows, with the way to the rest.
    await page.goto(server!.url + '/?limit=2');
    assert.equal(await rows(), ['fedora-40', 'retired']);
    await Promise.all([page.waitForURL(/limit=all/), page.click('p.shown a')]);
    assert.is((await rows()).length, 5);
    // A mirror's row expands to its recent syncs by a click (the open row in the address), and closes.
    await page.goto(server!.url + '/?state=OutOfSync');
    await Promise.all([page.waitForURL(/open=epel-9/), page.click('tr[data-mirror="epel-9"] a.mname')]);
    assert.match(page.url(), /state=OutOfSync/, 'the filter stays');
    assert.ok(await page.isVisible('tr.history[data-history="epel-9"] caption'), 'the history table is shown');
    const histSites = await page.$$eval('tr.history[data-history="epel-9"] tbody th[scope=row]', (ths) => ths.map((th) => th.textContent));
    assert.equal(histSites, doc.mirrors.find((m) => m.name === 'epel-9')!.sites.map((c) => c.site).sort());
    await Promise.all([page.waitForURL((u) => !u.search.includes('open=')), page.click('tr[data-mirror="epel-9"] a.mname')]);
    assert.is(await page.$('tr.history'), null);
    // What the address asks but cannot mean is said.
    await page.goto(server!.url + '/?state=Healthy');
    assert.match(await page.textContent('form.filters .bad') ?? '', 'state=Healthy');
    // The self-refresh keeps the filter: after the document changes, the filtered view is swapped in.
    await page.goto(server!.url + '/?state=Failed');
    await page.$eval('#status', (m) => m.setAttribute('data-refresh', '0.2'));
    const before = doc;
    doc = { ...doc, mirrors: doc.mirrors.map((m) => (m.name === 'epel-9' ? { ...m, sites: m.sites.map((c) => ({ ...c, state: 'Failed' as const })) } : m)) };
    try {
      await page.waitForSelector('tr[data-mirror="epel-9"]', { timeout: 15_000 });
      assert.equal(await rows(), ['epel-9', 'fedora-40']);
    } finally {
      doc = before;
    }
    assert.equal(problems, []);
  } finally {
    await page.close();
  }
});

test.run();
