/**
 * `npm run bench:sync [-- --quick] [--out FILE] [--files N] [--mib N] [--concurrency N] [--repeat N] [--tls]`
 *
 * Generates two trees of the same shape and different bytes (default 10,000 files, ~1.1 GiB each;
 * --quick: 1,000 files, ~64 MiB), serves them over loopback HTTP, then in one run:
 *   1. a plain `curl --parallel` fetch of every file of the first tree (same concurrency) — the baseline;
 *   2. a fresh `pulpdist site` syncing the first tree (sha256 verified, fsynced, journaled): the
 *      first sync of a process just started, which also pays for compiling the sync's code;
 *   3. the same site syncing the second tree: a sync of a site that has run before, as a deployed
 *      one has (nothing of the second tree is held: its bytes are all new);
 *   4. a 2% update (2% of the first tree's files get new content) synced again: bytes moved versus new bytes.
 * Both syncs are set against curl. With --repeat N, steps 1–3 alternate N times (a fresh site each
 * time) and the round with the median ratio is reported, for each sync: on a shared machine single
 * timings vary several-fold. With --tls the
 * tree is served over https with a certificate made by `openssl` (curl gets it as --cacert, the
 * site's remote as ca_cert): real networks sync over TLS.
 * Targets (docs/benchmarks.md): sync throughput ≥ 0.8× curl's; update bytes ≤ 1.01× the new content.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, messageOf } from '../core/errors.js';
import { formatMachineCosts, measureMachineCosts } from './machine-costs.js';
import { intOption } from './options.js';
import { serveTree } from '../testkit/http-tree.js';
import { makeTestCertificate } from '../testkit/tls-cert.js';
import { call, startSite, waitTask } from '../testkit/site.js';
import { sha256 } from '../testkit/tree.js';

const MiB = 1024 * 1024;
/** docs/benchmarks.md's target for the site's throughput against `curl --parallel` (it was 0.5 when this benchmark was written). */
const TARGET_RATIO = 0.8;

interface Entry {
  path: string;
  size: number;
  sha256: string;
}

/** Sizes spread log-uniformly so the tree has many small files and some large ones. */
function sizes(count: number, totalBytes: number): number[] {
  const raw = Array.from({ length: count }, (_, i) => Math.exp(Math.log(2048) + ((i * 7919) % count) / count * (Math.log(1024 * 1024) - Math.log(2048))));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((r) => Math.max(1, Math.round((r / sum) * totalBytes)));
}

async function writeFileEntry(root: string, rel: string, size: number): Promise<Entry> {
  const bytes = randomBytes(size);
  const p = path.join(root, rel);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, bytes);
  return { path: rel, size, sha256: sha256(bytes) };
}

/** Write a tree of `sz` files under `root`, each of new random bytes, and its PULP_MANIFEST. */
async function writeTreeOf(root: string, sz: number[]): Promise<{ entries: Entry[]; manifestBytes: number }> {
  const entries: Entry[] = [];
  for (let i = 0; i < sz.length; i++) entries.push(await writeFileEntry(root, `d${i % 100}/f${i}.bin`, sz[i]!));
  return { entries, manifestBytes: await writeManifest(root, entries) };
}

async function writeManifest(root: string, entries: Entry[]): Promise<number> {
  const text = entries.map((e) => `${e.path},${e.sha256},${e.size}\n`).join('');
  await writeFile(path.join(root, 'PULP_MANIFEST'), text);
  return Buffer.byteLength(text);
}

function runCurl(configFile: string, concurrency: number, caFile: string | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const caArgs = caFile ? ['--cacert', caFile] : [];
    const child = spawn('curl', ['--silent', '--show-error', '--fail', ...caArgs, '--parallel', '--parallel-max', String(concurrency), '--create-dirs', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`curl exited ${code}: ${err.slice(0, 500)}`))));
  });
}

const USAGE = `usage: npm run bench:sync [-- --quick] [-- --out FILE] [-- --files N] [-- --mib N] [-- --concurrency N] [-- --repeat N] [-- --tls]

  --quick          1,000 files, 64 MiB per tree (for development)
  --files N        files in each of the two generated trees (default 10,000)
  --mib N          size of each tree in MiB (default 1,100)
  --concurrency N  parallel downloads for curl and the site's remote (default 10)
  --repeat N       rounds of curl and a fresh site, alternating; the median round is reported
  --tls            serve the tree over https (a certificate made with openssl)
  --out FILE       also write the figures as JSON`;

async function main(): Promise<void> {
  const values = parseOptions();
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const count = intOption('files', values.files, values.quick ? 1000 : 10_000);
  const totalBytes = intOption('mib', values.mib, values.quick ? 64 : 1100) * MiB;
  const concurrency = intOption('concurrency', values.concurrency, 10);
  const repeat = intOption('repeat', values.repeat, 1);
  const work = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-bench-sync-'));
  const treeDir = path.join(work, 'tree');
  // Both trees are served from one root: the first is what curl fetches and the fresh site syncs.
  const firstDir = path.join(treeDir, 'first');
  const secondDir = path.join(treeDir, 'second');
  let site: BenchSite | undefined;
  let tree: Awaited<ReturnType<typeof serveTree>> | undefined;
  try {
    // On the filesystem curl and the site write to, before the trees load the machine.
    const costs = measureMachineCosts(work);
    process.stderr.write(formatMachineCosts(costs) + '\n');
    process.stderr.write(`generating two trees of ${count} files, ${(totalBytes / MiB).toFixed(0)} MiB in ${treeDir}\n`);
    const sz = sizes(count, totalBytes);
    const { entries, manifestBytes } = await writeTreeOf(firstDir, sz);
    await writeTreeOf(secondDir, sz);
    const bytes = entries.reduce((a, e) => a + e.size, 0);
    const tls = values.tls ? makeTestCertificate(work) : null;
    tree = await serveTree(treeDir, tls ? { tls } : {});

    // 1–3, `--repeat` times, alternating so that all see the same machine load: curl fetches
    // every file of the first tree in parallel to disk, then a fresh site (no blob held) syncs the
    // same tree, then the second.
    // Each round's curl writes into a directory of its own (see below).
    const curlConfig = async (round: number) => {
      const cfg = path.join(work, `curl-${round}.cfg`);
      const dir = path.join(work, `curl-${round}`);
      await writeFile(cfg, entries.map((e) => `url = "${tree!.url}/first/${e.path}"\noutput = "${path.join(dir, e.path)}"\n`).join(''));
      return cfg;
    };
    const rounds: { curlSeconds: number; syncSeconds: number; syncWall: number; phases: string; warmSeconds: number; warmPhases: string }[] = [];
    let repo = '';
    let remote = '';
    // Each timed step starts with nothing dirty in the page cache (the generated tree, the previous
    // step's files), so the site's syncfs flushes only what the site wrote; curl makes nothing durable.
    const settle = () => execFileSync('sync');
    for (let round = 0; round < repeat; round++) {
      // Nothing is deleted until the end: every round's curl and site write into directories of
      // their own. On ext4 without a journal an inode freed less than a minute ago (six while its
      // inode table block is unwritten) is not reused, and each create scans past every such inode
      // of its group. With the round before removed first, the site created its files after curl's
      // deletions and its own, paid ~0.3 ms of kernel time per create, and its ratio fell round by
      // round (0.80, 0.71, 0.66).
      const cfg = await curlConfig(round);
      settle();
      const c0 = performance.now();
      await runCurl(cfg, concurrency, tls?.certFile ?? null);
      const curlSeconds = (performance.now() - c0) / 1000;
      await site?.stop();
      site = await startSite({ dataDir: path.join(work, `site-${round}`) });
      const made = await repositoryAndRemote(site, 'first', `${tree.url}/first/PULP_MANIFEST`, concurrency, tls?.cert);
      ({ repo, remote } = made);
      const first = await timedSync(site, made, settle);
      const second = await timedSync(site, await repositoryAndRemote(site, 'second', `${tree.url}/second/PULP_MANIFEST`, concurrency, tls?.cert), settle);
      rounds.push({ curlSeconds, syncSeconds: first.seconds, syncWall: first.wall, phases: first.phases, warmSeconds: second.seconds, warmPhases: second.phases });
      process.stderr.write(
        `round ${round + 1}: curl ${curlSeconds.toFixed(2)} s, site ${first.seconds.toFixed(2)} s (${first.majorGcs} full GCs), ` +
          `the same site on the second tree ${second.seconds.toFixed(2)} s (${second.majorGcs})\n`,
      );
    }
    // The round with the median ratio is the one reported, for each of the two syncs.
    const median = <T>(xs: T[], key: (x: T) => number): T => [...xs].sort((a, b) => key(a) - key(b))[Math.floor((xs.length - 1) / 2)]!;
    const { curlSeconds, syncSeconds, syncWall, phases } = median(rounds, (r) => r.curlSeconds / r.syncSeconds);
    const warmRound = median(rounds, (r) => r.curlSeconds / r.warmSeconds);
    if (!site) throw new Error('no round ran');

    // 3. A 2% update: new content for 2% of the files.
    const changed = Math.max(1, Math.round(count * 0.02));
    let newBytes = 0;
    for (let i = 0; i < changed; i++) {
      const idx = Math.floor((i * count) / changed);
      entries[idx] = await writeFileEntry(firstDir, entries[idx]!.path, entries[idx]!.size);
      newBytes += entries[idx]!.size;
    }
    const manifest2 = await writeManifest(firstDir, entries);
    settle();
    const served0 = tree.bytesServed();
    const u0 = performance.now();
    const r2 = await call(site, 'POST', `${repo}sync/`, { remote, mirror: true });
    const task2 = await waitTask(site, r2.body.task, 3_600_000);
    const updateSeconds = (performance.now() - u0) / 1000;
    if (task2.state !== 'completed') throw new Error(`update sync ${task2.state}: ${JSON.stringify(task2.error)}`);
    const movedTotal = tree.bytesServed() - served0;
    const movedFiles = movedTotal - manifest2;

    const res = {
      files: count,
      bytes,
      manifestBytes,
      concurrency,
      transport: tls ? 'https' : 'http',
      curl: { seconds: curlSeconds, filesPerSecond: count / curlSeconds, mibPerSecond: bytes / MiB / curlSeconds },
      site: { seconds: syncSeconds, wallSeconds: syncWall, filesPerSecond: count / syncSeconds, mibPerSecond: bytes / MiB / syncSeconds },
      throughputRatio: curlSeconds / syncSeconds,
      // The second tree's sync by the same site, against curl in the same round.
      warm: { seconds: warmRound.warmSeconds, curlSeconds: warmRound.curlSeconds, filesPerSecond: count / warmRound.warmSeconds, mibPerSecond: bytes / MiB / warmRound.warmSeconds },
      warmThroughputRatio: warmRound.curlSeconds / warmRound.warmSeconds,
      update: {
        changedFiles: changed,
        newContentBytes: newBytes,
        movedFileBytes: movedFiles,
        movedBytesWithManifest: movedTotal,
        manifestBytes: manifest2,
        ratioFiles: movedFiles / newBytes,
        ratioWithManifest: movedTotal / newBytes,
        seconds: updateSeconds,
        filesDownloaded: task2.progress_reports.find((p: { code: string }) => p.code === 'sync.downloading.artifacts').done,
      },
      targets: { throughputRatio: TARGET_RATIO, updateRatio: 1.01 },
      machine: costs,
      rounds: rounds.map((r) => ({ ...r, ratio: r.curlSeconds / r.syncSeconds, warmRatio: r.curlSeconds / r.warmSeconds })),
    };
    const f = (n: number, d = 1) => n.toFixed(d);
    const rows = [
      ['', 'seconds', 'files/s', 'MiB/s'],
      ['curl --parallel', f(curlSeconds, 2), f(res.curl.filesPerSecond, 0), f(res.curl.mibPerSecond)],
      ['site sync', f(syncSeconds, 2), f(res.site.filesPerSecond, 0), f(res.site.mibPerSecond)],
      ['site, 2nd tree', f(res.warm.seconds, 2), f(res.warm.filesPerSecond, 0), f(res.warm.mibPerSecond)],
    ];
    const verdict = (ratio: number) => `${f(ratio, 3)} (target ≥ ${f(TARGET_RATIO, 3)}) ${ratio >= TARGET_RATIO ? 'OK' : 'MISSED'}`;
    const out = [
      `tree: ${count} files, ${f(bytes / MiB)} MiB, manifest ${f(manifestBytes / 1024)} KiB, concurrency ${concurrency}, over ${tls ? 'https' : 'http'}`,
      ...rows.map((r) => r[0]!.padEnd(18) + r.slice(1).map((c) => c.padStart(10)).join('')),
      `throughput ratio site/curl, the first sync of a fresh site: ${verdict(res.throughputRatio)}`,
      `throughput ratio site/curl, the same site's sync of the second tree: ${verdict(res.warmThroughputRatio)}` +
        (rounds.length > 1 ? ` (curl ${f(warmRound.curlSeconds, 2)} s in its round)` : ''),
      `2% update: ${changed} files, new content ${f(newBytes / MiB, 2)} MiB; moved ${f(movedFiles / MiB, 2)} MiB of files` +
        ` (ratio ${f(res.update.ratioFiles, 3)}, target ≤ 1.01 ${res.update.ratioFiles <= 1.01 ? 'OK' : 'MISSED'})` +
        ` + ${f(manifest2 / 1024)} KiB manifest (ratio with manifest ${f(res.update.ratioWithManifest, 3)}) in ${f(updateSeconds, 2)} s`,
    ];
    out.push(`site phases, first sync: ${phases}`, `site phases, second tree: ${warmRound.warmPhases}`, formatMachineCosts(costs));
    if (rounds.length > 1) {
      out.push(
        `ratios of ${rounds.length} rounds, first sync: ${rounds.map((r) => f(r.curlSeconds / r.syncSeconds, 2)).join(', ')}; ` +
          `second tree: ${rounds.map((r) => f(r.curlSeconds / r.warmSeconds, 2)).join(', ')} (medians reported)`,
      );
    }
    process.stdout.write(out.join('\n') + '\n');
    if (values.out) await writeFile(values.out, JSON.stringify(res, null, 2) + '\n');
  } finally {
    await site?.stop();
    await tree?.close();
    await rm(work, { recursive: true, force: true });
  }
}

type BenchSite = Awaited<ReturnType<typeof startSite>>;

/** A repository and a remote for one tree's manifest at `url`. */
async function repositoryAndRemote(site: BenchSite, name: string, url: string, concurrency: number, caCert: string | undefined): Promise<{ repo: string; remote: string }> {
  const repo = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name })).body.pulp_href;
  const remote = (await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name, url, download_concurrency: concurrency, ...(caCert ? { ca_cert: caCert } : {}) })).body.pulp_href;
  return { repo, remote };
}

/** One mirror sync, timed by the task's own start and finish, with the site's log line of its phases. */
async function timedSync(site: BenchSite, { repo, remote }: { repo: string; remote: string }, settle: () => void): Promise<{ seconds: number; wall: number; phases: string; majorGcs: string }> {
  settle();
  const s0 = performance.now();
  const r = await call(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  const task = await waitTask(site, r.body.task, 3_600_000);
  const wall = (performance.now() - s0) / 1000;
  if (task.state !== 'completed') throw new Error(`sync ${task.state}: ${JSON.stringify(task.error)}`);
  // The site's own account of where the time went: its log line for this task.
  const id = String(task.pulp_href).split('/').filter(Boolean).pop();
  const line = site.stderr().split('\n').find((l) => / sync .*downloadMs=/.test(l) && l.includes(`task=${id}`)) ?? '';
  return {
    seconds: (Date.parse(task.finished_at) - Date.parse(task.started_at)) / 1000,
    wall,
    phases: line.replace(/^.*? sync /, '').replace(/ task=\S+/, '').replace(/component=site /, ''),
    majorGcs: /majorGcs=(\d+)/.exec(line)?.[1] ?? '?',
  };
}

/** The options; node:util's errors (an unknown option, a missing value) as usage errors. */
function parseOptions() {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        files: { type: 'string' },
        mib: { type: 'string' },
        concurrency: { type: 'string' },
        repeat: { type: 'string' },
        tls: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    throw new UsageError(messageOf(err));
  }
}

main().catch((err) => {
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${messageOf(err)}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench:sync failed: ${messageOf(err)}\n`);
  process.exitCode = 1;
});
