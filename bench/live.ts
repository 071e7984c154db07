/**
 * `npm run bench:live [-- --quick] [-- --out FILE]`: the cost and the delay of the live status.
 * 1. Latency: `pulpdist run` (a child process) syncs a 16 MiB tree to a leaf capped at 2 MiB/s
 *    while this process polls, every 50 ms, both the leaf's sync task (the bytes it reports) and
 *    the controller's `/api/v1/status`. For each task sample (time τ, bytes B), the latency is the
 *    time until the status JSON first shows at least B bytes done. Target: p95 ≤ 2 s.
 * 2. Render cost: the controller renders the document (the last pass's document with every running
 *    sync laid over it) at most twice a second while syncs report; the metrics rebuild their series
 *    lazily at the next scrape. Measured in this process at 1,000 mirrors × 3 sites with 16 syncs
 *    running: CPU per render, per minute at the highest rate, and per scrape. The live status sends no request of its own: its figures are the
 *    answers of the task polls the syncs make anyway.
 * 3. Load (live-load.ts): a real `pulpdist run` at 1,000 mirrors × 3 sites, idle and busy: its CPU
 *    and the requests per minute each site receives (task polls apart).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LoopState } from '../controller/state.js';
import { LIVE_GAP_MS } from '../controller/live-refresh.js';
import { messageOf } from '../core/errors.js';
import type { StatusDocument } from '../core/status.js';
import { formatDuration } from '../core/units.js';
import { startDemoSite, type DemoSite } from '../demo/sites.js';
import type { PassResult } from '../reconcilers/pass-types.js';
import type { SpecSet } from '../spec/types.js';
import { startControllerProcess, type ControllerProcess } from '../testkit/controller-process.js';
import { commitAndPush, makeRepo, startGitServer, writeFiles, type RunningGitServer } from '../testkit/git-server.js';
import { largeStatus } from '../testkit/status-fixture.js';
import { createMetrics } from '../web/metrics.js';
import { liveLoad, type LoadFigures } from './live-load.js';
import { benchArgs, intOption } from './options.js';

const USAGE = `usage: npm run bench:live [-- --quick] [-- --only latency|render|load] [-- --mirrors N] [-- --out FILE] [-- --keep]

  --quick      an 8 MiB tree instead of 16 MiB, 100 renders instead of 400, 30 s load windows
               instead of 60 s
  --only WHAT  one part: latency (task → status JSON), render (CPU of a live render), load (a
               real controller idle and busy: CPU, requests per minute per site)
  --mirrors N  mirrors in the render and load parts (default 1000)
  --out FILE   also write the figures as JSON
  --keep       keep the temp dir`;
const PARTS = ['latency', 'render', 'load'] as const;

const MiB = 1024 * 1024;
const TARGET_P95_MS = 2000;
const log = (line: string): void => void process.stderr.write(`bench:live: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  at: number;
  bytes: number;
}

async function latency(dir: string, treeMiB: number): Promise<{ samples: number; p50_ms: number; p95_ms: number; max_ms: number; sync_s: number }> {
  const trees = path.join(dir, 'trees');
  const tree = path.join(trees, 'big');
  mkdirSync(tree, { recursive: true });
  for (let i = 0; i < treeMiB; i++) writeFileSync(path.join(tree, `f${i}.bin`), Buffer.alloc(MiB, `live bench file ${i} `));
  const signal = AbortSignal.timeout(600_000);
  const sites: DemoSite[] = [];
  let git: RunningGitServer | undefined;
  let ctl: ControllerProcess | undefined;
  try {
    sites.push(await startDemoSite({ name: 'origin', dataDir: path.join(dir, 'origin'), allowedImportPaths: [trees], signal }));
    sites.push(await startDemoSite({ name: 'leaf', dataDir: path.join(dir, 'leaf'), allowedImportPaths: [], signal }));
    const { work } = makeRepo(dir, 'specs', {
      'sites/origin.yaml': `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: origin}\nspec:\n  pulp: {url: "${sites[0]!.url}"}\n`,
      'sites/leaf.yaml': `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: leaf}\nspec:\n  pulp: {url: "${sites[1]!.url}"}\n  upstream: origin\n  limits: {concurrentSyncs: 1, bandwidth: 2MiB/s}\n`,
    });
    git = await startGitServer(dir);
    ctl = await startControllerProcess(['--repo', `${git.url}/specs.git`, '--interval', '2s', '--state-dir', path.join(dir, 'state')]);
    writeFiles(work, { 'mirrors/big.yaml': `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: big}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, leaf]\n` });
    commitAndPush(work, 'add big');

    const task: Sample[] = [];
    const shown: Sample[] = [];
    let taskHref: string | null = null;
    let syncedAt = 0;
    let startedAt = 0;
    const deadline = Date.now() + 300_000;
    const leafUrl = sites[1]!.url;
    // Two pollers side by side: the leaf's task, and the controller's document.
    const pollTask = (async () => {
      while (!syncedAt && Date.now() < deadline) {
        if (taskHref) {
          const t = (await (await fetch(`${leafUrl}${taskHref}`)).json()) as { progress_reports?: { code: string; done: number }[] };
          const b = t.progress_reports?.find((p) => p.code === 'pulpdist.downloading.bytes')?.done ?? 0;
          task.push({ at: performance.now(), bytes: b });
        }
        await sleep(50);
      }
    })();
    while (!syncedAt && Date.now() < deadline) {
      const doc = (await (await fetch(`${ctl.url}/api/v1/status`)).json()) as StatusDocument;
      const leaf = doc.mirrors.find((m) => m.name === 'big')?.sites.find((c) => c.site === 'leaf');
      if (leaf?.progress) {
        startedAt ||= performance.now();
        taskHref ??= leaf.progress.task ? new URL(leaf.progress.task, leafUrl).pathname : null;
        shown.push({ at: performance.now(), bytes: leaf.progress.bytes.done });
      }
      if (leaf?.state === 'Synced' && startedAt) syncedAt = performance.now();
      await sleep(50);
    }
    await pollTask;
    if (!syncedAt) throw new Error(`the leaf never became Synced; log:\n${ctl.log().slice(-2000)}`);
    // A task sample counts once the document moved past it, while the sync still ran.
    const lat: number[] = [];
    for (const s of task) {
      if (s.bytes === 0) continue;
      const seen = shown.find((x) => x.at >= s.at && x.bytes >= s.bytes);
      if (seen) lat.push(seen.at - s.at);
    }
    lat.sort((a, b) => a - b);
    const q = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN);
    return { samples: lat.length, p50_ms: q(0.5), p95_ms: q(0.95), max_ms: Math.round(lat[lat.length - 1] ?? NaN), sync_s: Math.round((syncedAt - startedAt) / 100) / 10 };
  } finally {
    await ctl?.kill().catch(() => undefined);
    await git?.close();
    for (const s of sites) await s.stop().catch(() => undefined);
  }
}

/** CPU of one live render at `mirrors` × 3 sites with `running` syncs reporting. */
async function renderCost(mirrors: number, running: number, renders: number): Promise<{ cpu_ms_per_render: number; cpu_s_per_minute_at_max_rate: number; cpu_ms_per_scrape: number }> {
  const doc = largeStatus(mirrors);
  const specs = { sites: doc.sites.map((s) => ({ name: s.name, pulp: { url: s.url } })), mirrors: doc.mirrors.map((m) => ({ name: m.name, origin: m.origin, sites: m.sites.map((c) => c.site), suspend: false })) } as unknown as SpecSet;
  const state = new LoopState({ version: 'bench', startedAt: new Date(), specs: { specCommit: null, problems: [], valid: { commit: 'x', specs } } as never });
  state.pass = { converged: false, changes: 0, mirrors: doc.mirrors, sites: doc.sites, nextDueAt: null, failures: [] } satisfies PassResult;
  const metrics = createMetrics({ version: 'bench', countSyncsSince: new Date(), now: () => new Date() });
  let now = Date.now();
  for (let i = 0; i < running; i++) {
    const m = doc.mirrors[i * Math.floor(mirrors / running)]!;
    state.live.record({ type: 'action-start', site: 'leaf', mirror: m.name, kind: 'sync', action: 'sync', estimate: { files: 100, bytes: 100 * MiB } }, now);
  }
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < renders; r++) {
    now += LIVE_GAP_MS;
    for (let i = 0; i < running; i++) {
      const m = doc.mirrors[i * Math.floor(mirrors / running)]!;
      state.live.record({ type: 'sync-progress', site: 'leaf', mirror: m.name, task: '/t/', doneFiles: r, totalFiles: 100, doneBytes: r * MiB, totalBytes: 100 * MiB }, now);
    }
    // The metrics build their series lazily, at a scrape, not here.
    metrics.recordStatus(state.publish());
  }
  const cpu = process.cpuUsage(cpu0);
  const perRender = (cpu.user + cpu.system) / 1000 / renders;
  // A scrape after a change rebuilds every series: its cost is the scrape's, whatever the rate of renders.
  const scrapes = 5;
  const cpu1 = process.cpuUsage();
  for (let i = 0; i < scrapes; i++) {
    metrics.recordStatus(state.publish());
    await metrics.registry.metrics();
  }
  const scrape = process.cpuUsage(cpu1);
  return {
    cpu_ms_per_render: round2(perRender),
    cpu_s_per_minute_at_max_rate: round2((perRender * 60_000) / LIVE_GAP_MS / 1000),
    cpu_ms_per_scrape: round2((scrape.user + scrape.system) / 1000 / scrapes - perRender),
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const values = benchArgs({ quick: { type: 'boolean' }, only: { type: 'string' }, mirrors: { type: 'string' }, out: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean' } }, USAGE);
  if (values.only !== undefined && !PARTS.includes(values.only as (typeof PARTS)[number])) {
    console.error(`error: --only must be one of ${PARTS.join(', ')}, got ${values.only}\n${USAGE}`);
    process.exit(2);
  }
  const wanted = (part: (typeof PARTS)[number]): boolean => values.only === undefined || values.only === part;
  const mirrors = intOption('mirrors', values.mirrors, 1000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-bench-live-'));
  try {
    let render: Awaited<ReturnType<typeof renderCost>> | undefined;
    let lat: Awaited<ReturnType<typeof latency>> | undefined;
    let load: LoadFigures | undefined;
    if (wanted('render')) {
      render = await renderCost(mirrors, 16, values.quick ? 100 : 400);
      log(`render at ${mirrors} mirrors × 3 sites, 16 syncs running: ${render.cpu_ms_per_render} ms CPU each; at most ${1000 / LIVE_GAP_MS}/s: ${render.cpu_s_per_minute_at_max_rate} s CPU per minute (a /metrics scrape after a change: ${render.cpu_ms_per_scrape} ms)`);
    }
    if (wanted('latency')) {
      lat = await latency(dir, values.quick ? 8 : 16);
      log(`latency task → /api/v1/status over ${lat.samples} samples: p50 ${formatDuration(lat.p50_ms)}, p95 ${formatDuration(lat.p95_ms)}, max ${formatDuration(lat.max_ms)} (target p95 ≤ ${formatDuration(TARGET_P95_MS)}); the sync took ${lat.sync_s} s`);
    }
    if (wanted('load')) load = await liveLoad(dir, { mirrors, busyMirrors: 40, windowS: values.quick ? 30 : 60, log });
    const result = { latency: lat ?? null, render: render ?? null, load: load ?? null, target_p95_ms: TARGET_P95_MS, met: lat ? lat.p95_ms <= TARGET_P95_MS : null };
    console.log(JSON.stringify(result, null, 2));
    if (values.out) await writeFile(values.out, JSON.stringify(result, null, 2) + '\n');
  } finally {
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:live: ${messageOf(err)}\n`);
  process.exit(1);
});
