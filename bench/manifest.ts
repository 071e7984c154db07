/**
 * `npm run bench:manifest [-- --quick] [-- --out FILE]`: how fast `pulpdist manifest` content-addresses
 * a tree (issue 4). Builds ≈ 1 GiB (48 × 16 MiB + 10,000 small files) in a temp dir, warms the page
 * cache, then times in one run, in turn round by round: `find … -print0 | xargs -0 sha256sum`, a
 * cold `pulpdist manifest` (no cache) and a rescan of the unchanged tree, each as a whole process
 * (start-up included), with peak RSS from `/usr/bin/time -v`, beside the floors of this machine
 * (bench/manifest-floor.ts): `node -e 0`, a process that only lstats every file, and one that only
 * hashes every file on as many threads as pulpdist uses. Checks that pulpdist's manifest matches
 * sha256sum's digests, prints a table with the ratios against sha256sum and the targets,
 * then the floors.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PulpdistError, UsageError, messageOf } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { formatBytes } from '../core/units.js';
import { canonicalManifest, treeDigest } from '../manifest/digest.js';
import type { ManifestEntry } from '../manifest/types.js';
import { FULL_TREE, QUICK_TREE, addLinks, buildTree } from './manifest-tree.js';
import { runProcess } from '../testkit/cli.js';
import { formatMachineCosts, measureMachineCosts } from './machine-costs.js';

const USAGE = `usage: npm run bench:manifest [-- --quick] [-- --out FILE] [-- --runs N] [-- --symlinks N] [-- --keep]

  --quick      a small tree (≈ 70 MiB, 1,004 files) for development
  --out FILE   also write the figures as JSON
  --runs N     timed runs of each tool; the median is reported (default 3)
  --symlinks N after the main table, add N file symlinks to the tree and time a cold scan and an
               unchanged rescan of it against the same two runs of the tree without them
               (paired, back to back)
  --keep       keep the temp dir and print where it is`;

/** The targets. */
const TARGET_SPEEDUP = 3.5;
const TARGET_RESCAN_S = 0.3;
const TARGET_RSS_MIB = 256;

class BenchError extends PulpdistError {}

interface Timed {
  wall_s: number;
  /** User + system CPU seconds: steadier than wall time on a shared machine. */
  cpu_s: number;
  max_rss_mib: number;
}

const log = (line: string) => process.stderr.write(`bench:manifest: ${line}\n`);
const BIN = path.join(PACKAGE_ROOT, 'bin', 'pulpdist.js');
const FLOOR = path.join(PACKAGE_ROOT, 'dist', 'bench', 'manifest-floor.js');

/** Run a command under `/usr/bin/time -v`; wall time measured here, peak RSS from time's report. */
async function timed(argv: string[], signal: AbortSignal, timeFile: string): Promise<Timed & { stdout: string }> {
  const t0 = process.hrtime.bigint();
  const { code, stdout, stderr } = await run(['/usr/bin/time', '-v', '-o', timeFile, ...argv], signal);
  const wall_s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new BenchError(`${argv.join(' ')} exited with ${code}: ${stderr.trim().slice(-2000)}`);
  const report = await readFile(timeFile, 'utf8');
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(report)?.[1] ?? NaN);
  const cpu_s = Number(/User time \(seconds\): ([\d.]+)/.exec(report)?.[1] ?? NaN) + Number(/System time \(seconds\): ([\d.]+)/.exec(report)?.[1] ?? NaN);
  return { wall_s, cpu_s, max_rss_mib: kb / 1024, stdout };
}

const run = (argv: string[], signal: AbortSignal) => runProcess(argv, { signal });

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

type Summary = Timed & { runs_s: number[] };

function summary(all: Timed[]): Summary {
  return {
    wall_s: median(all.map((t) => t.wall_s)),
    cpu_s: median(all.map((t) => t.cpu_s)),
    max_rss_mib: Math.max(...all.map((t) => t.max_rss_mib)),
    runs_s: all.map((t) => round(t.wall_s, 3)),
  };
}

async function medianOf(runs: number, once: () => Promise<Timed>): Promise<Summary> {
  return (await interleaved(runs, [once]))[0]!;
}

/**
 * `runs` rounds of every command in turn (A B C, A B C, …), each summarised by its median: the
 * commands a figure compares see the same machine. sha256sum's time alone moved from 2.9 s to 9.6 s
 * between runs of this benchmark on a shared 2-core machine while Node's hashing did not move;
 * timed one tool after the other, a ratio read that drift as speed.
 */
async function interleaved(runs: number, commands: (() => Promise<Timed>)[]): Promise<Summary[]> {
  const all: Timed[][] = commands.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, once] of commands.entries()) all[k]!.push(await once());
  }
  return all.map(summary);
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** sha256sum's output (`HASH  ./path`) as manifest entries, so both tools' trees can be compared. */
function entriesFromSha256sum(out: string, sizes: Map<string, number>): ManifestEntry[] {
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const relativePath = l.slice(66).replace(/^\.\//, '');
      return { relativePath, sha256: l.slice(0, 64), size: sizes.get(relativePath) ?? -1 };
    });
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: { quick: { type: 'boolean' }, symlinks: { type: 'string' }, out: { type: 'string' }, runs: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
  } catch (err) {
    throw new UsageError(messageOf(err));
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (v.runs !== undefined && !/^[1-9][0-9]?$/.test(v.runs)) throw new UsageError(`--runs must be 1–99, got "${v.runs}"`);
  const runs = Number(v.runs ?? 3);
  if (v.symlinks !== undefined && !/^[0-9]{1,6}$/.test(v.symlinks)) throw new UsageError(`--symlinks must be 0–999999, got "${v.symlinks}"`);
  const links = Number(v.symlinks ?? 0);
  const shape = v.quick ? QUICK_TREE : FULL_TREE;
  const signal = AbortSignal.any([]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-bench-manifest-'));
  try {
    // Before the tree loads the machine (docs/benchmarks.md, "Reading figures from another machine").
    const costs = measureMachineCosts(dir);
    log(formatMachineCosts(costs));
    const tree = path.join(dir, 'tree');
    const cache = path.join(dir, 'manifest.cache');
    const out = path.join(dir, 'PULP_MANIFEST');
    const timeFile = path.join(dir, 'time.txt');
    log(`building the tree in ${tree} …`);
    const built = await buildTree(tree, shape, signal);
    const builtAt = Date.now();
    log(`${built.files} files, ${formatBytes(built.bytes)}; warming the page cache`);
    await run(['sh', '-c', 'find "$1" -type f -print0 | xargs -0 cat > /dev/null', 'sh', tree], signal);

    const shaArgs = ['sh', '-c', 'cd "$1" && find . -type f -print0 | xargs -0 sha256sum', 'sh', tree];
    const shaOut = (await run(shaArgs, signal)).stdout;

    // Files changed less than 2 s ago are never cached (racy-clean guard, see docs/manifest.md):
    // let the fresh tree age past that window so the rescan measures the steady state.
    const settle = builtAt + 2100 - Date.now();
    if (settle > 0) await new Promise((r) => setTimeout(r, settle));

    // Each figure is timed in turn with the ones it is read against: sha256sum, a cold scan and
    // the hashing floor; then a rescan, the lstat floor and a bare start-up.
    const threads = os.availableParallelism();
    const manifestArgs = [process.execPath, BIN, 'manifest', tree, '-o', out, '--cache', cache];
    log(`timing sha256sum, a cold pulpdist manifest and the hashing floor in turn, ${runs} rounds …`);
    const [sha, cold, hashOnly] = await interleaved(runs, [
      () => timed(shaArgs, signal, timeFile),
      async () => {
        await rm(cache, { force: true });
        return timed(manifestArgs, signal, timeFile);
      },
      () => timed([process.execPath, FLOOR, 'hash', tree, String(threads)], signal, timeFile),
    ]);
    log(`sha256sum: ${sha.runs_s.join(', ')} s; pulpdist manifest (cold): ${cold.runs_s.join(', ')} s`);
    const manifestText = await readFile(out, 'utf8');
    const [rescan, statOnly, nodeOnly] = await interleaved(Math.max(runs, 5), [
      () => timed(manifestArgs, signal, timeFile),
      () => timed([process.execPath, FLOOR, 'stat', tree], signal, timeFile),
      () => timed([process.execPath, '-e', '0'], signal, timeFile),
    ]);
    log(`pulpdist manifest (rescan): ${rescan.runs_s.join(', ')} s`);

    // Both tools must describe the same tree, or the timings mean nothing.
    const ours = manifestText.split('\n').filter((l) => l !== '');
    const sizes = new Map(ours.map((l) => [l.slice(0, l.lastIndexOf(',', l.lastIndexOf(',') - 1)), Number(l.slice(l.lastIndexOf(',') + 1))]));
    const theirs = canonicalManifest(entriesFromSha256sum(shaOut, sizes));
    if (theirs !== manifestText) throw new BenchError('pulpdist manifest and sha256sum disagree on the tree: not benchmarking a wrong answer');

    const gb = built.bytes / 1e9;
    const speedup = sha.wall_s / cold.wall_s;
    const rows = [
      ['find | xargs sha256sum', sha, 1],
      ['pulpdist manifest, cold', cold, speedup],
      ['pulpdist manifest, unchanged rescan', rescan, sha.wall_s / rescan.wall_s],
    ] as const;
    const lines = [
      `tree: ${built.files} files, ${formatBytes(built.bytes)} (page cache warm); ${os.availableParallelism()} CPUs; median of ${runs} runs (rescan: ${Math.max(runs, 5)})`,
      '',
      `| ${'run'.padEnd(36)} | wall s | GB/s  | × sha256sum | CPU s | peak RSS MiB |`,
      `|${'-'.repeat(38)}|--------|-------|-------------|-------|--------------|`,
      ...rows.map(
        ([name, t, ratio]) =>
          `| ${name.padEnd(36)} | ${t.wall_s.toFixed(3).padStart(6)} | ${(gb / t.wall_s).toFixed(2).padStart(5)} | ${ratio.toFixed(2).padStart(11)} | ${t.cpu_s.toFixed(2).padStart(5)} | ${t.max_rss_mib.toFixed(0).padStart(12)} |`,
      ),
      '',
      `targets: cold ≥ ${TARGET_SPEEDUP}× sha256sum: ${speedup.toFixed(2)}× ${speedup >= TARGET_SPEEDUP ? 'PASS' : 'MISS'}; ` +
        `rescan ≤ ${TARGET_RESCAN_S} s: ${rescan.wall_s.toFixed(3)} s ${rescan.wall_s <= TARGET_RESCAN_S ? 'PASS' : 'MISS'}; ` +
        `peak RSS ≤ ${TARGET_RSS_MIB} MiB: ${Math.max(cold.max_rss_mib, rescan.max_rss_mib).toFixed(0)} MiB ${Math.max(cold.max_rss_mib, rescan.max_rss_mib) <= TARGET_RSS_MIB ? 'PASS' : 'MISS'}`,
      `tree digest: sha256:${treeDigest(entriesFromSha256sum(shaOut, sizes))} (pulpdist and sha256sum agree)`,
      `NODE_EXTRA_CA_CERTS is ${process.env['NODE_EXTRA_CA_CERTS'] ? 'set: every node process above and below parsed those certificates at start-up (docs/manifest.md)' : 'not set'}`,
      `load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (wall times on a busy machine are not the tools' speed; CPU s is steadier)`,
      formatMachineCosts(costs),
    ];
    process.stdout.write(lines.join('\n') + '\n');

    // The floors: what any Node process pays here for start-up, for one lstat per file, and for
    // reading and hashing every file on the same number of threads with nothing else to do.
    const floorRows = [
      ['node -e 0', nodeOnly, sha.wall_s / nodeOnly.wall_s],
      [`node: lstat each of ${built.files} files`, statOnly, sha.wall_s / statOnly.wall_s],
      [`node: sha256 every file, ${threads} threads`, hashOnly, sha.wall_s / hashOnly.wall_s],
    ] as const;
    process.stdout.write(
      [
        '',
        'floors (bench/manifest-floor.ts: no cache, no manifest, no change detection; timed in turn with the runs above, medians)',
        '',
        `| ${'run'.padEnd(36)} | wall s | × sha256sum | CPU s | peak RSS MiB |`,
        `|${'-'.repeat(38)}|--------|-------------|-------|--------------|`,
        ...floorRows.map(
          ([name, t, ratio]) =>
            `| ${name.padEnd(36)} | ${t.wall_s.toFixed(3).padStart(6)} | ${ratio.toFixed(2).padStart(11)} | ${t.cpu_s.toFixed(2).padStart(5)} | ${t.max_rss_mib.toFixed(0).padStart(12)} |`,
        ),
      ].join('\n') + '\n',
    );
    let linked: { without: { cold: Timed; rescan: Timed }; with: { cold: Timed; rescan: Timed } } | undefined;
    if (links > 0) {
      // Paired: the tree without links is timed again right before the linked one, so both
      // figures see the same machine load.
      const coldAndRescan = async () => {
        const c = await medianOf(runs, async () => {
          await rm(cache, { force: true });
          return timed(manifestArgs, signal, timeFile);
        });
        const r = await medianOf(Math.max(runs, 5), () => timed(manifestArgs, signal, timeFile));
        return { cold: c, rescan: r };
      };
      const without = await coldAndRescan();
      await addLinks(tree, shape, links);
      const withLinks = await coldAndRescan();
      const listed = (await readFile(out, 'utf8')).split('\n').filter((l) => l !== '').length;
      if (listed !== built.files + links) throw new BenchError(`the linked tree lists ${listed} files, expected ${built.files} + ${links} links`);
      linked = { without, with: withLinks };
      const row = (name: string, t: Timed) => `| ${name.padEnd(36)} | ${t.wall_s.toFixed(3).padStart(6)} | ${t.cpu_s.toFixed(2).padStart(5)} |`;
      process.stdout.write(
        [
          '',
          `symlinks: the same tree, then with ${links} file symlinks added (${listed} manifest lines); paired runs`,
          '',
          `| ${'run'.padEnd(36)} | wall s | CPU s |`,
          `|${'-'.repeat(38)}|--------|-------|`,
          row('cold, no links', without.cold),
          row(`cold, ${links} links`, withLinks.cold),
          row('unchanged rescan, no links', without.rescan),
          row(`unchanged rescan, ${links} links`, withLinks.rescan),
        ].join('\n') + '\n',
      );
    }
    if (v.out) {
      const figures = {
        tree: { files: built.files, bytes: built.bytes, scale: v.quick ? 'quick' : 'full', cpus: os.availableParallelism() },
        runs,
        sha256sum: { ...sha, wall_s: round(sha.wall_s, 3), cpu_s: round(sha.cpu_s), max_rss_mib: round(sha.max_rss_mib, 1) },
        cold: { ...cold, wall_s: round(cold.wall_s, 3), cpu_s: round(cold.cpu_s), max_rss_mib: round(cold.max_rss_mib, 1), speedup: round(speedup) },
        rescan: { ...rescan, wall_s: round(rescan.wall_s, 3), cpu_s: round(rescan.cpu_s), max_rss_mib: round(rescan.max_rss_mib, 1) },
        floors: { node: nodeOnly, lstat_each_file: statOnly, hash_only: { ...hashOnly, threads, speedup: round(sha.wall_s / hashOnly.wall_s) } },
        ...(linked ? { symlinks: { count: links, ...linked } } : {}),
        loadavg: os.loadavg().map((l) => round(l)),
        machine: costs,
        targets: { speedup: TARGET_SPEEDUP, rescan_s: TARGET_RESCAN_S, rss_mib: TARGET_RSS_MIB },
      };
      await writeFile(v.out, JSON.stringify(figures, null, 2) + '\n');
      log(`figures written to ${v.out}`);
    }
    return 0;
  } finally {
    if (v.keep) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`error: ${messageOf(err)}\n`);
    if (err instanceof UsageError) process.stderr.write(USAGE + '\n');
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
