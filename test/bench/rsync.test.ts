import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseRsyncStats, rsyncPullAll } from '../../bench/rsync-client.js';
import { rsyncdConf, startRsyncDaemon } from '../../bench/rsync-daemon.js';
import { cpuBetween, parseProcStat, processCpu, processCpuSeconds, reapedChildrenCpuSeconds, reclaimedFileBytes } from '../../bench/rsync-proc.js';
import { describeScenario, formatTable, ratio, scenarioLines, targetResults, type BenchRun } from '../../bench/rsync-report.js';
import { parseCounter, parseServedBytes, SLOW_READS_METRIC } from '../../bench/rsync-served.js';
import { verifyDir } from '../../bench/rsync-side-rsync.js';
import { QUICK_SCENARIO, planTree, planUpdate, type ScenarioConfig } from '../../bench/scenario.js';
import { applyUpdate, writeTree } from '../../bench/scenario-files.js';
import { tempDir } from '../../testkit/cli.js';

const signal = new AbortController().signal;
const TINY: ScenarioConfig = { ...QUICK_SCENARIO, seed: 3, packages: 100, packageMaxBytes: 64 * 1024, imageBytes: 256 * 1024, metadataBytes: 32 * 1024, logBytes: 256 * 1024, logAppendBytes: 4096 };

const STATS = `
Number of files: 1,204 (reg: 1,100, dir: 104)
Number of created files: 12 (reg: 12)
Number of deleted files: 3 (reg: 3)
Number of regular files transferred: 1,023
Total file size: 2,401,234,567 bytes
Total transferred file size: 12,345,678 bytes
Literal data: 10,000,123 bytes
Matched data: 2,345,555 bytes
File list size: 65,432
Total bytes sent: 98,765
Total bytes received: 10,123,456

sent 98,765 bytes  received 10,123,456 bytes  1,234.00 bytes/sec
`;

test('rsync --stats: the grouped numbers are read exactly', () => {
  assert.equal(parseRsyncStats(STATS), { sent: 98_765, received: 10_123_456, literal: 10_000_123, matched: 2_345_555, filesTransferred: 1023 });
  assert.throws(() => parseRsyncStats('Total bytes sent: 5\n'), /Total bytes received/);
});

test('/proc stat: fields after a command name holding spaces and parentheses', () => {
  const line = '4242 (rsync (x) y) S 17 4242 4242 0 -1 4194624 500 0 0 0 123 45 6 7 20 0 1 0 100 1000 200';
  assert.equal(parseProcStat(line), { ppid: 17, minflt: 500, cminflt: 0, utime: 123, stime: 45, cutime: 6, cstime: 7 });
  assert.throws(() => parseProcStat('garbage'));
});

test('a process\'s CPU, split into user and system, and what a run spent of each', async () => {
  const t0 = await processCpu(process.pid);
  // Some work in each: hashing in user space, a few thousand system calls.
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
  for (let i = 0; i < 5000; i++) await readFile('/proc/self/stat');
  // 16 MiB of fresh memory, touched: one minor page fault per 4 KiB page at least once.
  const touched = Buffer.alloc(16 * 1024 * 1024, 1);
  const t1 = await processCpu(process.pid);
  const spent = cpuBetween(t0, t1);
  assert.ok(x > 0 && spent.upstream_user_s >= 0 && spent.upstream_system_s >= 0, JSON.stringify(spent));
  assert.ok(Math.abs(spent.upstream_user_s + spent.upstream_system_s - spent.upstream_cpu_s) < 1e-9);
  assert.ok(spent.upstream_cpu_s > 0, JSON.stringify(spent));
  assert.ok(touched[touched.length - 1] === 1 && spent.upstream_minor_faults >= 1000, JSON.stringify(spent));
  assert.ok(Math.abs((await processCpuSeconds(process.pid)) - (t1.user + t1.system)) < 0.5);
});

test('the CPU of children this process has reaped: a client that worked and exited is counted', async () => {
  const before = await reapedChildrenCpuSeconds();
  // About 0.2 s of work in a child, well above the 10 ms clock tick; counted once it is reaped.
  const child = spawn(process.execPath, ['-e', 'const t = Date.now(); let x = 0; while (Date.now() - t < 200) x += Math.sqrt(x + 1);'], { stdio: 'ignore' });
  const [code] = await once(child, 'close');
  assert.is(code, 0);
  const spent = (await reapedChildrenCpuSeconds()) - before;
  assert.ok(spent >= 0.1 && spent < 5, `children's CPU ${spent} s`);
});

test('served-bytes counter: found among other samples, absent → null', () => {
  const text = '# HELP x\npulpdist_site_sync_bytes_downloaded_total 99\npulpdist_site_content_bytes_served_total 123456\npulpdist_site_content_requests_total 7\n';
  assert.is(parseServedBytes(text), 123456);
  assert.is(parseServedBytes('pulpdist_site_content_requests_total 7\n'), null);
  assert.is(parseCounter(text + 'pulpdist_site_content_slow_reads_total 3\n', SLOW_READS_METRIC), 3);
  assert.is(parseCounter(text, SLOW_READS_METRIC), null);
});

test('page cache reclaimed: /proc/vmstat pgsteal_file in bytes, never going back', async () => {
  const pages = parseCounter(await readFile('/proc/vmstat', 'utf8'), 'pgsteal_file');
  const before = await reclaimedFileBytes();
  if (pages === null) return assert.is(before, null);
  // Pages of 4 KiB or more; the kernel may reclaim more between the two reads, never less.
  assert.ok(before !== null && before >= pages * 4096 && before % 4096 === 0, String(before));
  const after = await reclaimedFileBytes();
  assert.ok(after !== null && after >= before, `${after} < ${before}`);
});

test('rsyncd.conf: no chroot, ≥ 4 connections, read-only module that hides PULP_MANIFEST', () => {
  const conf = rsyncdConf({ tree: '/t', logFile: '/l', uid: 0, gid: 0, maxConnections: 8 });
  assert.match(conf, /^use chroot = no$/m);
  assert.match(conf, /^max connections = 8$/m);
  assert.match(conf, /^\[tree\]\n  path = \/t\n  read only = yes$/m);
  assert.match(conf, /exclude = \/PULP_MANIFEST /);
});

const RUNS: BenchRun[] = [
  { tool: 'rsync', phase: 'update', clients: 4, wire_bytes: 1000, wall_s: 2, upstream_cpu_s: 4, upstream_user_s: 3, upstream_system_s: 1, upstream_minor_faults: 0, downstream_cpu_s: 0 },
  { tool: 'pulpdist', phase: 'update', clients: 4, wire_bytes: 1500, wall_s: 1, upstream_cpu_s: 1, upstream_user_s: 0.5, upstream_system_s: 0.5, upstream_minor_faults: 0, downstream_cpu_s: 0 },
  { tool: 'rsync', phase: 'initial', clients: 1, wire_bytes: 0, wall_s: 1, upstream_cpu_s: 1, upstream_user_s: 0.5, upstream_system_s: 0.5, upstream_minor_faults: 0, downstream_cpu_s: 0 },
  { tool: 'pulpdist', phase: 'initial', clients: 1, wire_bytes: 10, wall_s: 3, upstream_cpu_s: 1, upstream_user_s: 0.25, upstream_system_s: 0.75, upstream_minor_faults: 0, downstream_cpu_s: 0 },
];

test('ratios are pulpdist/rsync; targets judged on the update with 4 clients', () => {
  assert.is(ratio(RUNS, 'update', 4, 'wire_bytes'), 1.5);
  assert.is(ratio(RUNS, 'update', 4, 'upstream_cpu_s'), 0.25);
  assert.is(ratio(RUNS, 'initial', 1, 'wire_bytes'), null, 'rsync 0: no ratio');
  assert.is(ratio(RUNS, 'initial', 4, 'wall_s'), null, 'not measured');
  assert.equal(targetResults(RUNS).map((t) => [t.metric, t.met]), [['wire_bytes', false], ['upstream_cpu_s', true], ['wall_s', true]]);
  const table = formatTable(RUNS);
  assert.match(table, /^update\s+4\s+1000 B\s+1.5 KiB\s+1.50×\s+2.00\s+1.00\s+0.50×\s+4.00\s+1.00\s+0.25×$/m);
  assert.match(table, /bytes on the wire\s+≤ 1.1×:\s+1.50×\s+NOT met/);
  assert.match(table, /upstream CPU\s+≤ 0.5×:\s+0.25×\s+met/);
  assert.not.match(table, /^initial\s+4/m);
});

test('the summary names what this machine charges for a create and a page fault, when measured', () => {
  const tree = planTree(TINY);
  const scenario = describeScenario(TINY, tree, planUpdate(tree, TINY), true);
  assert.not.match(scenarioLines(scenario), /this machine/);
  scenario.machine = { node: 'v20', rsync: null, cpus: 2, memory_bytes: 1, kernel: 'Linux', costs: { dir: '/tmp/w', file_create_us_p50: 81.5, file_create_us_p90: 120, page_touch_us: 2.5 } };
  assert.match(scenarioLines(scenario), /^this machine: a file create in \/tmp\/w takes 81\.5 µs \(p90 120 µs\), a fresh page's first touch 2\.5 µs/m);
});

test('a real rsync daemon serves the tree and then the update to 2 clients; stats, CPU and verification agree', async () => {
  const d = await tempDir('pulpdist-bench-rsync-');
  const tree = path.join(d.dir, 'tree');
  const work = path.join(d.dir, 'work');
  await mkdir(work);
  const plan = planTree(TINY);
  const update = planUpdate(plan, TINY);
  await writeTree(tree, plan, { signal });
  await writeFile(path.join(tree, 'PULP_MANIFEST'), 'pulpdist metadata, not part of the tree\n');
  const daemon = await startRsyncDaemon({ tree, workDir: work, signal });
  try {
    assert.match(await readFile(path.join(work, 'rsyncd.conf'), 'utf8'), /use chroot = no/);
    const dests = [path.join(d.dir, 'a'), path.join(d.dir, 'b')];
    const size = plan.files.reduce((s, f) => s + f.size, 0);
    const first = await rsyncPullAll(daemon.url, dests, { signal });
    assert.is(first.clients.length, 2);
    for (const c of first.clients) {
      assert.is(c.literal, size, 'the initial pull sends every byte literally');
      assert.is(c.filesTransferred, plan.files.length, 'PULP_MANIFEST is not served');
    }
    assert.ok(first.wireBytes >= 2 * size && first.wireBytes < 2 * size * 1.05, `wire ${first.wireBytes} for 2 × ${size}`);
    for (const dest of dests) await verifyDir(dest, plan, 'rsync');

    await applyUpdate(tree, plan.seed, update, { signal });
    const stale = await verifyDir(dests[0]!, update.after, 'rsync').then(() => null, (err: { code?: string }) => err.code);
    assert.is(stale, 'BenchVerifyError', 'verification sees a destination that missed the update');
    const cpu0 = await processCpuSeconds(daemon.pid);
    const second = await rsyncPullAll(daemon.url, dests, { signal });
    for (const dest of dests) await verifyDir(dest, update.after, 'rsync');
    // The appended logs are rebuilt from the clients' old copies: rsync sends only their tails.
    const logsBefore = update.appended.reduce((s, a) => s + a.before.size, 0);
    for (const c of second.clients) assert.ok(c.matched >= logsBefore * 0.9, `matched ${c.matched} of ${logsBefore}`);
    assert.ok(second.wireBytes < first.wireBytes / 2, `update ${second.wireBytes} vs initial ${first.wireBytes}`);
    assert.ok((await processCpuSeconds(daemon.pid)) >= cpu0);
  } finally {
    await daemon.stop();
    await d.cleanup();
  }
  let alive = true;
  try {
    process.kill(daemon.pid, 0);
  } catch {
    alive = false;
  }
  assert.not.ok(alive, 'the daemon is gone after stop()');
});

test.run();
