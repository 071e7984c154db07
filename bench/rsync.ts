/**
 * `npm run bench:rsync [-- --quick] [-- --out FILE]`: pulpdist against rsync on a realistic mirror
 * update, side by side in one run on this machine (issue 9). Generates a seeded distribution-like
 * tree, has an rsync daemon and a pulpdist origin site serve it to 1 and then 4 downstreams, applies
 * the update, serves it again, and prints bytes on the wire, wall time and upstream CPU with the
 * ratios pulpdist/rsync. See docs/benchmarks.md for how to read them.
 */
import { spawnSync } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PulpdistError, UsageError, messageOf } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { DEFAULT_SCENARIO, QUICK_SCENARIO, planTree, planUpdate, treeTotals, type ScenarioConfig, type TreePlan } from './scenario.js';
import { applyUpdate, writeTree } from './scenario-files.js';
import { describeScenario, formatTable, roundRun, scenarioLines, type BenchReport, type BenchRun, type OriginImport, type Phase, type ScenarioSummary } from './rsync-report.js';
import { formatMachineCosts, measureMachineCosts, type MachineCosts } from './machine-costs.js';
import { reclaimedFileBytes } from './rsync-proc.js';
import { startRsyncSide, type BenchSide } from './rsync-side-rsync.js';
import { warmPageCache } from './page-cache.js';
import { ensureVmtouch, evictFromPageCache, lockInMemory } from './vmtouch.js';

const USAGE = `usage: npm run bench:rsync [-- --quick] [-- --out FILE] [-- --seed N] [-- --only rsync|pulpdist] [-- --lock-served] [-- --keep]

  --quick        a small tree (≈ 80 MiB, 513 files): the whole run takes well under 90 s
  --out FILE     also write the figures as JSON: {"scenario": {…}, "runs": [{tool, phase, clients, wire_bytes, wall_s, upstream_cpu_s, upstream_user_s, upstream_system_s, upstream_minor_faults, downstream_cpu_s}]}
  --seed N       another tree and update of the same shape (default ${DEFAULT_SCENARIO.seed})
  --only TOOL    run one side only (for development; no ratios)
  --lock-served  hold each upstream's data in memory through its runs (vmtouch; root or
                 CAP_IPC_LOCK), as on a machine of its own: the downstreams' writes on this one
                 no longer evict it (docs/benchmarks.md)
  --keep         keep the temp dir (tree, destinations, site data) and print where it is`;

/** A side that must publish a phase before clients can pull it (pulpdist's origin import). */
export interface Publishing {
  publish(phase: Phase, opts: { signal: AbortSignal }): Promise<{ wall_s: number; upstream_cpu_s: number; files: number; bytes: number }>;
}

/** A side that can check its downstreams now hold exactly `expected`. */
export interface Verifying {
  verify(clients: 1 | 4, expected: TreePlan, opts: { signal: AbortSignal }): Promise<void>;
}

type Side = BenchSide & Partial<Publishing> & Partial<Verifying>;

interface Args {
  quick: boolean;
  out: string | undefined;
  seed: number | undefined;
  only: 'rsync' | 'pulpdist' | undefined;
  lockServed: boolean;
  keep: boolean;
}

function parse(argv: string[]): Args | 'help' {
  // `npm run bench:rsync -- --quick -- --out F` (the spelling) passes the inner `--` on.
  const args = argv.filter((a) => a !== '--');
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { quick: { type: 'boolean' }, out: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string' }, 'lock-served': { type: 'boolean' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
  } catch (err) {
    throw new UsageError(messageOf(err));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.only !== undefined && v.only !== 'rsync' && v.only !== 'pulpdist') throw new UsageError(`--only must be rsync or pulpdist, got "${v.only}"`);
  if (v.seed !== undefined && !/^\d{1,9}$/.test(v.seed)) throw new UsageError(`--seed must be a whole number, got "${v.seed}"`);
  return { quick: v.quick ?? false, out: v.out, seed: v.seed === undefined ? undefined : Number(v.seed), only: v.only as Args['only'], lockServed: v['lock-served'] ?? false, keep: v.keep ?? false };
}

const log = (line: string) => process.stderr.write(`bench:rsync: ${line}\n`);

/** Write back every dirty page of the filesystem holding `dir` (coreutils' `sync -f`), so a run starts clean. */
function flushDisk(dir: string): void {
  const r = spawnSync('sync', ['--file-system', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new PulpdistError(`bench:rsync: sync --file-system ${dir} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

function machine(): Omit<NonNullable<ScenarioSummary['machine']>, 'costs'> {
  const r = spawnSync('rsync', ['--version'], { encoding: 'utf8' });
  return {
    node: process.version,
    rsync: r.status === 0 ? (r.stdout.split('\n')[0] ?? '').replace(/\s+/g, ' ').trim() : null,
    cpus: os.cpus().length,
    memory_bytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
  };
}

async function startSides(only: Args['only'], tree: string, work: string, signal: AbortSignal, started: Side[]): Promise<void> {
  if (only !== 'pulpdist') started.push(await startRsyncSide({ tree, workDir: path.join(work, 'rsync'), signal, log }));
  if (only !== 'rsync') {
    // Loaded only when needed: the rsync side runs without the site and the reconcilers.
    const { startPulpdistSide } = await import('./rsync-side-pulpdist.js');
    started.push(await startPulpdistSide({ tree, workDir: path.join(work, 'pulpdist'), signal, log }));
  }
}

/**
 * Untimed, before each run: the page cache as a machine running only this tool would have it
 * (page-cache.ts, vmtouch.ts). The other tool's downstream copies are dropped: 11 GiB of them by
 * the initial ×4, which left the second tool's run so little room that the kernel reclaimed
 * gigabytes during it, the upstream's data among them. This run's served data and downstream
 * copies are read in: an upstream serves a tree it has served before from memory, and an update
 * finds the files its downstreams hold as they left them.
 */
async function setPageCache(side: Side, sides: Side[], clients: 1 | 4, signal: AbortSignal): Promise<{ bytes: number; ms: number }> {
  evictFromPageCache(sides.filter((s) => s !== side).flatMap((s) => [...s.destinations(1), ...s.destinations(4)]));
  let bytes = 0;
  let ms = 0;
  for (const dir of [side.served, ...side.destinations(clients)]) {
    // A destination the run has not made yet holds nothing to read.
    if (!existsSync(dir)) continue;
    const w = await warmPageCache(dir, { signal });
    bytes += w.bytes;
    ms += w.ms;
  }
  return { bytes, ms };
}

async function run(args: Args, signal: AbortSignal): Promise<BenchReport> {
  const config: ScenarioConfig = { ...(args.quick ? QUICK_SCENARIO : DEFAULT_SCENARIO), ...(args.seed === undefined ? {} : { seed: args.seed }) };
  const tree = planTree(config);
  const update = planUpdate(tree, config);
  const scenario = describeScenario(config, tree, update, args.quick);
  // Before minutes of work: a missing vmtouch is installed, or the run fails now.
  ensureVmtouch(log);
  const work = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-bench-rsync-'));
  const sides: Side[] = [];
  const runs: BenchRun[] = [];
  const imports: OriginImport[] = [];
  let costs: MachineCosts | undefined;
  try {
    // On the filesystem both tools' downstreams write to, before anything else loads the machine.
    costs = measureMachineCosts(work);
    log(formatMachineCosts(costs));
    await mkdir(path.join(work, 'rsync'));
    await mkdir(path.join(work, 'pulpdist'));
    const treeDir = path.join(work, 'tree');
    const t0 = Date.now();
    await writeTree(treeDir, tree, { signal });
    log(`generated ${tree.files.length} files, ${formatBytes(treeTotals(tree).bytes)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const t1 = Date.now();
    await startSides(args.only, treeDir, work, signal, sides);
    log(`started ${sides.map((s) => s.tool).join(' and ')} in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    for (const phase of ['initial', 'update'] as const) {
      const expected = phase === 'initial' ? tree : update.after;
      if (phase === 'update') {
        await applyUpdate(treeDir, tree.seed, update, { signal });
        log(`applied the update: +${update.added.length} −${update.deleted.length} ~${update.moved.length} moved, ${update.rewritten.length} metadata rewritten, ${update.appended.length} logs appended`);
      }
      for (const side of sides) {
        if (!side.publish) continue;
        const p = await side.publish(phase, { signal });
        imports.push({ phase, ...p, wall_s: Math.round(p.wall_s * 1000) / 1000, upstream_cpu_s: Math.round(p.upstream_cpu_s * 1000) / 1000 });
        log(`${side.tool} ${phase}: origin import ${p.wall_s.toFixed(2)} s wall, ${p.upstream_cpu_s.toFixed(2)} s origin CPU`);
      }
      for (const clients of [1, 4] as const) {
        for (const side of sides) {
          // Untimed: no run writes back what the one before it left dirty (rsync does not fsync,
          // and a syncfs waits for every writer's data on the filesystem).
          flushDisk(work);
          const w = await setPageCache(side, sides, clients, signal);
          // Again: reading files updates their access times, and a site's syncfs in the run would
          // write back those inodes (rsync's clients never sync).
          flushDisk(work);
          log(`${side.tool} ${phase} ×${clients}: read ${formatBytes(w.bytes)} that the run's upstream serves and downstreams hold into the page cache in ${(w.ms / 1000).toFixed(1)} s`);
          const lock = args.lockServed ? lockInMemory(side.served) : undefined;
          if (lock) log(`${side.tool} ${phase} ×${clients}: ${formatBytes(lock.bytes)} held in memory through the run`);
          const reclaimed0 = await reclaimedFileBytes();
          let r: BenchRun;
          try {
            r = roundRun(await side.run(phase, clients, { signal }));
          } finally {
            lock?.release();
          }
          runs.push(r);
          const reclaimed = reclaimed0 === null ? null : ((await reclaimedFileBytes()) ?? reclaimed0) - reclaimed0;
          log(`${r.tool} ${phase} ×${clients}: ${formatBytes(r.wire_bytes)} on the wire, ${r.wall_s.toFixed(2)} s, upstream CPU ${r.upstream_cpu_s.toFixed(2)} s (user ${r.upstream_user_s.toFixed(2)}, system ${r.upstream_system_s.toFixed(2)}; ${r.upstream_minor_faults} page faults); downstreams' CPU ${r.downstream_cpu_s.toFixed(2)} s`);
          if (reclaimed !== null) log(`  page cache the kernel reclaimed during the run: ${formatBytes(reclaimed)}`);
          await side.verify?.(clients, expected, { signal });
        }
      }
    }
  } finally {
    for (const side of sides.reverse()) {
      await side.stop().catch((err) => log(`stopping ${side.tool}: ${messageOf(err)}`));
    }
    if (args.keep) log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
  if (imports.length) scenario.origin_import = imports;
  scenario.machine = { ...machine(), ...(costs ? { costs } : {}) };
  if (args.lockServed) scenario.served_locked = true;
  return { scenario, runs };
}

async function main(): Promise<number> {
  let args: Args | 'help';
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`error: ${messageOf(err)}\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (args.out) {
    // Fail before minutes of work, not after: the directory must exist and be writable.
    try {
      await access(path.dirname(path.resolve(args.out)), constants.W_OK);
    } catch {
      process.stderr.write(`error: --out ${args.out}: its directory does not exist or is not writable\n`);
      return 2;
    }
  }
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: string) => {
    // First Ctrl-C: abort and clean up (stop daemons, remove the temp dir). Second: leave now.
    if (++interrupts > 1) process.exit(130);
    log(`${sig}: stopping and cleaning up (again to quit at once)`);
    ac.abort(new PulpdistError(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const report = await run(args, ac.signal);
    process.stdout.write(`${scenarioLines(report.scenario)}\n\n${formatTable(report.runs)}\n`);
    if (args.out) {
      await writeFile(args.out, JSON.stringify(report, null, 2) + '\n');
      log(`wrote ${args.out}`);
    }
    return 0;
  } catch (err) {
    if (ac.signal.aborted) return 130;
    process.stderr.write(`error: ${messageOf(err)}\n`);
    if (!(err instanceof PulpdistError)) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    return 1;
  }
}

process.exitCode = await main();
