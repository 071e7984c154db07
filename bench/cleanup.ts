/**
 * `npm run bench:cleanup`: what orphan cleanup gives back over a month (issue 22 "Report"). The
 * bench:rsync tree (seeded, package-repository-like) is updated once a "day" for 30 days; two
 * embedded sites import it as the origin of a mirror with `retainVersions: 3`, one cleaned after
 * every day's pass (as the controller's daily cleanup would, its 1 h protection long past for
 * orphans a day old: protection 0 here), one never. Printed: disk used by each site's data
 * directory day by day (blocks on disk, as `du`), and each cleanup's wall time and the CPU the
 * site spent on it.
 *
 *   node dist/bench/cleanup.js [--full] [--days N] [--out FILE] [--keep]
 *
 * Default scale: the bench:rsync `--quick` tree (about 80 MiB, 513 files); `--full`: its default
 * scale (≥ 10,000 files, ≥ 2 GiB; needs ~10 GiB of disk and a long while).
 */
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchArgs } from './options.js';
import { silentLogger } from '../core/logger.js';
import { formatBytes } from '../core/units.js';
import { createPulpClient } from '../pulp/client.js';
import { cleanupSite } from '../reconcilers/cleanup.js';
import { createPassMemory, reconcilePass } from '../reconcilers/pass.js';
import { createSourceReader } from '../sources/reader.js';
import type { MirrorSpec, SiteSpec, SpecSet } from '../spec/types.js';
import { processCpuSeconds } from './rsync-proc.js';
import { startBenchSite, type BenchSite } from './rsync-sites.js';
import { DEFAULT_SCENARIO, QUICK_SCENARIO, planTree, planUpdate, treeTotals } from './scenario.js';
import { applyUpdate, writeTree } from './scenario-files.js';

const USAGE = `usage: npm run bench:cleanup [-- --full] [-- --days N] [-- --out FILE] [-- --keep]

  --full      the bench:rsync default tree (≥ 2 GiB) instead of its --quick one (~80 MiB)
  --days N    daily updates to simulate (default 30)
  --out FILE  also write the figures as JSON
  --keep      keep the temp dir`;

const values = benchArgs({ full: { type: 'boolean' }, days: { type: 'string' }, out: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean' } }, USAGE);
const DAYS = Number(values.days ?? 30);
if (!Number.isInteger(DAYS) || DAYS < 1) {
  console.error(`error: --days must be an integer ≥ 1, got "${values.days}"`);
  process.exit(2);
}
const SCENARIO = values.full ? DEFAULT_SCENARIO : QUICK_SCENARIO;
const RETAIN = 3;
const POSITION = { file: '(bench:cleanup)', line: 1, column: 1 };

/** Bytes the files under `dir` occupy on disk (st_blocks), as `du` counts them. */
async function diskUsed(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    n += (await stat(path.join(e.parentPath, e.name))).blocks * 512;
  }
  return n;
}

function siteSpec(s: BenchSite): SiteSpec {
  return { name: s.name, labels: {}, pulp: { url: s.url, apiRoot: '/pulp/api/v3/', contentOrigin: s.url, tlsValidation: true }, limits: { concurrentSyncs: 2, downloadConcurrency: 10 }, position: POSITION };
}

function mirrorSpec(name: string, tree: string, site: string): MirrorSpec {
  return { name, labels: {}, source: { kind: 'path', path: tree }, origin: site, sites: [site], basePath: name, retainVersions: RETAIN, suspend: false, position: POSITION };
}

interface Day { day: number; usedCleaned: number; usedKept: number; cleanupWallS: number | null; cleanupSiteCpuS: number | null; reclaimedBytes: number | null; removedArtifacts: number | null }

const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-bench-cleanup-'));
const signal = AbortSignal.timeout(6 * 3600_000);
const sites: BenchSite[] = [];
try {
  const tree = path.join(dir, 'tree');
  let plan = planTree(SCENARIO);
  const totals = treeTotals(plan);
  console.log(`tree: ${totals.files} files, ${formatBytes(totals.bytes)}; ${DAYS} daily updates; retainVersions ${RETAIN}`);
  await writeTree(tree, plan, { signal });
  for (const name of ['cleaned', 'kept']) sites.push(await startBenchSite({ name, dataDir: path.join(dir, name), allowedImportPath: tree, signal }));
  const [cleaned, kept] = sites as [BenchSite, BenchSite];
  const specs: SpecSet = { sites: sites.map(siteSpec), mirrors: [mirrorSpec('with-cleanup', tree, 'cleaned'), mirrorSpec('without-cleanup', tree, 'kept')] };
  const clients = new Map(specs.sites.map((s) => [s.name, createPulpClient(s, { log: silentLogger })]));
  const memory = createPassMemory();
  const sources = createSourceReader({ cacheDir: path.join(dir, 'manifest-cache') });
  const days: Day[] = [];
  for (let day = 0; day <= DAYS; day++) {
    if (day > 0) {
      const u = planUpdate(plan, SCENARIO, day);
      await applyUpdate(tree, SCENARIO.seed, u, { signal });
      plan = u.after;
    }
    const r = await reconcilePass(specs, { clients, log: silentLogger, now: () => new Date(), memory, sources }, { signal });
    if (!r.converged) throw new Error(`day ${day}: the pass did not converge: ${r.failures.map((f) => f.message).join('; ')}`);
    const row: Day = { day, usedCleaned: 0, usedKept: 0, cleanupWallS: null, cleanupSiteCpuS: null, reclaimedBytes: null, removedArtifacts: null };
    if (day > 0) {
      const cpu0 = await processCpuSeconds(cleaned.pid);
      const t0 = performance.now();
      const c = await cleanupSite('cleaned', clients.get('cleaned')!, { signal, now: () => new Date(), protectionMs: 0 });
      row.cleanupWallS = (performance.now() - t0) / 1000;
      row.cleanupSiteCpuS = (await processCpuSeconds(cleaned.pid)) - cpu0;
      if (c.result !== 'completed') throw new Error(`day ${day}: cleanup ${c.result}: ${c.message}`);
      row.reclaimedBytes = c.reclaimedBytes;
      row.removedArtifacts = c.removed?.artifacts ?? null;
    }
    row.usedCleaned = await diskUsed(cleaned.dataDir);
    row.usedKept = await diskUsed(kept.dataDir);
    days.push(row);
    console.log(`day ${String(day).padStart(2)}: without cleanup ${formatBytes(row.usedKept).padStart(10)}, with ${formatBytes(row.usedCleaned).padStart(10)}` +
      (row.cleanupWallS === null ? '' : `; cleanup ${row.cleanupWallS.toFixed(2)} s, site CPU ${row.cleanupSiteCpuS!.toFixed(2)} s, ${row.removedArtifacts} artifacts`));
  }
  const last = days[days.length - 1]!;
  const cl = days.filter((d) => d.cleanupWallS !== null);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const max = (xs: number[]) => Math.max(...xs);
  console.log('\n| after day | disk used without cleanup | with daily cleanup | saved | cleanup wall (mean / max) | site CPU per cleanup (mean / max) |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  console.log(`| ${last.day} | ${formatBytes(last.usedKept)} | ${formatBytes(last.usedCleaned)} | ${formatBytes(last.usedKept - last.usedCleaned)} | ` +
    `${mean(cl.map((d) => d.cleanupWallS!)).toFixed(2)} s / ${max(cl.map((d) => d.cleanupWallS!)).toFixed(2)} s | ${mean(cl.map((d) => d.cleanupSiteCpuS!)).toFixed(2)} s / ${max(cl.map((d) => d.cleanupSiteCpuS!)).toFixed(2)} s |`);
  if (values.out) await writeFile(values.out, JSON.stringify({ scenario: values.full ? 'full' : 'quick', files: totals.files, bytes: totals.bytes, retainVersions: RETAIN, days }, null, 2) + '\n');
} finally {
  for (const s of sites) await s.stop().catch(() => undefined);
  if (!values.keep) await rm(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
