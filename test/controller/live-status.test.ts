/**
 * Live status, end to end: `pulpdist run` (a child process) against a real Git server and two real
 * embedded sites, the leaf capped at 1 MiB/s. A tree of 6 MiB then takes the leaf several seconds,
 * and `/api/v1/status` must show it as it goes: Pending before the pass, Progressing with bytes done
 * growing towards the content-addressed total, then Synced, every document valid against the
 * schema. The page shows the progress bar meanwhile, `/metrics` the progress gauges and
 * `pulpdist status` the share done.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SCHEMA_DIR } from '../../core/paths.js';
import type { MirrorSiteStatus, StatusDocument } from '../../core/status.js';
import { runCli, tempDir, type CliResult } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { commitAndPush, makeRepo, startGitServer, writeFiles, type RunningGitServer } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

const MiB = 1024 * 1024;
let cleanup: () => Promise<void> = async () => {};
let git: RunningGitServer | undefined;
const sites: RunningSite[] = [];
let ctl: ControllerProcess | undefined;

const ajv = new Ajv.default({ allErrors: true, strict: true });
addFormats.default(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'status.schema.json'), 'utf8')) as object);

async function status(): Promise<StatusDocument> {
  const r = await fetch(`${ctl!.url}/api/v1/status`);
  assert.is(r.status, 200);
  const doc = (await r.json()) as StatusDocument;
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  return doc;
}

const leafOf = (d: StatusDocument): MirrorSiteStatus | undefined => d.mirrors.find((m) => m.name === 'big')?.sites.find((c) => c.site === 'leaf');

// Setup outside uvu's before hook, which drops its errors silently; each test awaits it.
const ready = (async () => {
  const t = await tempDir('pulpdist-live-');
  cleanup = t.cleanup;
  const trees = path.join(t.dir, 'trees');
  const tree = path.join(trees, 'big');
  mkdirSync(tree, { recursive: true });
  // Distinct, incompressible-enough content: 12 files of 512 KiB.
  for (let i = 0; i < 12; i++) writeFileSync(path.join(tree, `f${i}.bin`), Buffer.alloc(MiB / 2, `file ${i} of the live-status tree `));
  sites.push(await startSite({ dataDir: path.join(t.dir, 'origin'), allowedImportPaths: [trees] }));
  sites.push(await startSite({ dataDir: path.join(t.dir, 'leaf') }));
  const { work } = makeRepo(t.dir, 'specs', {
    'sites/origin.yaml': `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: origin}\nspec:\n  pulp: {url: "${sites[0]!.url}"}\n`,
    'sites/leaf.yaml': `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: leaf}\nspec:\n  pulp: {url: "${sites[1]!.url}"}\n  upstream: origin\n  limits: {concurrentSyncs: 1, bandwidth: 1MiB/s}\n`,
  });
  git = await startGitServer(t.dir);
  ctl = await startControllerProcess(['--repo', `${git.url}/specs.git`, '--interval', '2s', '--state-dir', path.join(t.dir, 'state')]);
  return { work, tree };
})();

test.after(async () => {
  await ctl?.kill().catch(() => undefined);
  await git?.close();
  for (const s of sites) await s.stop().catch(() => undefined);
  await cleanup();
});

test('a capped sync is watched live: Pending → Progressing with growing bytes → Synced', async () => {
  const { work, tree } = await ready;
  const end = Date.now() + 120_000;
  while (Date.now() < end && (await status()).controller.observedCommit === null) await new Promise((r) => setTimeout(r, 100));
  writeFiles(work, { 'mirrors/big.yaml': `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: big}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, leaf]\n` });
  const commit = commitAndPush(work, 'add big');

  const seen: string[] = [];
  const samples: { done: number; total: number | null; files: number; at: number }[] = [];
  let page = '';
  let metrics = '';
  let terminal: CliResult | undefined;
  let last: StatusDocument | undefined;
  while (Date.now() < end) {
    last = await status();
    const leaf = leafOf(last);
    if (leaf && seen[seen.length - 1] !== leaf.state) seen.push(leaf.state);
    if (leaf?.state === 'Progressing' && leaf.progress) {
      const p = leaf.progress;
      if (samples[samples.length - 1]?.done !== p.bytes.done) samples.push({ done: p.bytes.done, total: p.bytes.total, files: p.files.done, at: Date.now() });
      if (!page && p.bytes.done > 0) {
        // The other views of the same moment: the page, the metrics, the terminal.
        [page, metrics, terminal] = await Promise.all([
          fetch(`${ctl!.url}/`).then((r) => r.text()),
          fetch(`${ctl!.url}/metrics`).then((r) => r.text()),
          runCli(['status', '--server', ctl!.url]),
        ]);
      }
    }
    if (last.controller.observedCommit === commit && leaf?.state === 'Synced') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const leaf = last && leafOf(last);
  assert.is(leaf?.state, 'Synced', `the leaf ends Synced; states seen: ${seen.join(' → ')}\n${ctl!.log().slice(-3000)}`);
  // The order of states: Pending first (the new mirror waits for its pass), Progressing, Synced.
  assert.equal(seen.filter((s, i) => s !== seen[i - 1]), ['Pending', 'Progressing', 'Synced'], `states seen: ${seen.join(' → ')}`);
  // Bytes done grow, within the total: what the leaf lacks by content address (12 × 512 KiB + the manifest).
  assert.ok(samples.length >= 3, `at least three distinct byte counts while it ran: ${JSON.stringify(samples)}`);
  const total = samples[0]!.total!;
  assert.ok(total >= 6 * MiB && total < 6 * MiB + 4096, `total ${total} is the tree plus its manifest`);
  for (let i = 1; i < samples.length; i++) assert.ok(samples[i]!.done > samples[i - 1]!.done, `bytes done grow: ${JSON.stringify(samples)}`);
  assert.ok(samples.every((s) => s.done <= total && s.total === total), 'done stays within the total');
  // The page drew the bar while it ran.
  assert.match(page, /<td class="cell state-Progressing" data-site="leaf"[^]*?<progress class="sync" max="1000" value="\d+" aria-label="sync \d+% done">/);
  // /metrics: the gauges of the running sync, done within the content-addressed total.
  const gauge = (name: string): number => Number(new RegExp(`^${name}\\{mirror="big",site="leaf"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  assert.is(gauge('pulpdist_sync_progress_total_bytes'), total, metrics.split('\n').filter((l) => l.includes('progress')).join('\n'));
  assert.ok(gauge('pulpdist_sync_progress_done_bytes') > 0 && gauge('pulpdist_sync_progress_done_bytes') <= total, 'done bytes gauge');
  // pulpdist status: the leaf's cell says Progressing with its share done, and the exit code is 3.
  assert.is(terminal?.code, 3, terminal?.stderr);
  assert.match(terminal!.stdout, /^big\s.*\bProgressing \d{1,3}%/m);
  // After the pass the last sync carries its bytes.
  assert.ok((leaf!.lastSync?.downloadedBytes ?? 0) >= 6 * MiB, `lastSync bytes: ${JSON.stringify(leaf!.lastSync)}`);
  assert.is(leaf!.progress, undefined, 'no progress once Synced');
});

test.run();
