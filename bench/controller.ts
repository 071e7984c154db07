/**
 * `npm run bench:controller [-- --quick] [-- --out FILE]` (issue 7, "Measure and report"):
 * 1. time from `git push` of a new mirror (a small tree) to Synced at all three sites, with the
 *    webhook (polling set to 5 min, so only the webhook can explain a fast pass) and with polling
 *    at 5 s; `pulpdist run` is a child process, the repository is served by `git http-backend`;
 * 2. one pass converging N new small mirrors over three embedded sites (N = 1,000; --quick 100);
 *    anchors: Flux, 1,000 Kustomizations in 4 min 15 s; target ≤ 60 s;
 * 3. memory and CPU of an idle `pulpdist run` watching those N mirrors (drift-repair passes at the
 *    default 30 s interval included), from /proc over a window after its first pass.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startController } from '../controller/start.js';
import { messageOf } from '../core/errors.js';
import { createLogger, silentLogger } from '../core/logger.js';
import { formatDuration } from '../core/units.js';
import { startControllerProcess } from '../testkit/controller-process.js';
import { pushMirrors, startFixture, syncedEverywhere, waitFor, type Fixture } from './controller-setup.js';
import { intOption } from './options.js';

const USAGE = `usage: npm run bench:controller [-- --quick] [-- --only pass] [-- --mirrors N] [-- --out FILE] [-- --keep]

  --quick      100 mirrors instead of 1,000, one push per mode, a 10 s idle window (development)
  --only WHAT  run only one measurement: push (push → Synced), pass (one pass over N new mirrors) or idle
  --mirrors N  mirrors in the one-pass and idle measurements (default 1,000; --quick 100)
  --log FILE   write the one-pass's controller log (JSON lines, debug level) to FILE, the sites' to FILE.sites
  --out FILE   also write the figures as JSON
  --keep       keep the temp dir`;

const log = (line: string): void => void process.stderr.write(`bench:controller: ${line}\n`);
const TARGET_PASS_S = 60;
const FLUX_ANCHOR_S = 255;
const SECRET = 'bench-webhook-secret';

async function pushToSynced(f: Fixture, mode: 'webhook' | 'poll', runs: number, signal: AbortSignal): Promise<number[]> {
  const ctl = await startControllerProcess(
    ['--repo', f.repoUrl, '--path', 'specs', '--state-dir', path.join(f.dir, `state-${mode}`), '--interval', mode === 'poll' ? '5s' : '5m', ...(mode === 'webhook' ? ['--webhook-secret-env', 'BENCH_SECRET'] : [])],
    { env: { BENCH_SECRET: SECRET } },
  );
  const out: number[] = [];
  try {
    await waitFor(ctl.url, (d) => d.controller.observedCommit !== null && d.controller.lastPass?.result !== 'running', 120_000, signal);
    for (let i = 0; i < runs; i++) {
      const name = `${mode}-${i}`;
      const t0 = Date.now();
      pushMirrors(f, [name], { files: 20, size: 1024 });
      if (mode === 'webhook') {
        const r = await fetch(`${ctl.url}/hooks/git`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-gitlab-token': SECRET, 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': randomUUID() },
          body: JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main' }),
          signal,
        });
        if (r.status !== 202) throw new Error(`webhook answered ${r.status}`);
      }
      const t1 = await waitFor(ctl.url, (d) => syncedEverywhere(d, [name]), 120_000, signal);
      out.push((t1 - t0) / 1000);
      log(`${mode}: push → Synced at 3 sites in ${formatDuration(t1 - t0)}`);
    }
  } finally {
    await ctl.stop();
  }
  return out;
}

interface PassFigures {
  seconds: number;
  converged: boolean;
  changes: number;
  failures: number;
  /** CPU seconds: this process (the controller, its hash threads) and the three site processes. */
  cpu: { controller: number; sites: number };
}

async function bigPass(f: Fixture, n: number, logFile: string | undefined): Promise<PassFigures> {
  const names = Array.from({ length: n }, (_, i) => `m${String(i).padStart(4, '0')}`);
  pushMirrors(f, names, { files: 3, size: 256 });
  const lines: string[] = [];
  const passLog = logFile ? createLogger({ level: 'debug', format: 'json', write: (l) => void lines.push(l) }) : silentLogger;
  const running = await startController({ repo: f.repoUrl, path: 'specs', listen: null, stateDir: path.join(f.dir, 'state-big'), version: 'bench', log: passLog, autoStart: false, passDeadlineMs: 1_800_000 });
  try {
    const sites0 = await Promise.all(f.sites.map((s) => procStat(s.pid)));
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const result = await running.controller.runOnce();
    const seconds = (Date.now() - t0) / 1000;
    const cpu1 = process.cpuUsage(cpu0);
    const sites1 = await Promise.all(f.sites.map((s) => procStat(s.pid)));
    const cpu = {
      controller: (cpu1.user + cpu1.system) / 1e6,
      sites: sites1.reduce((a, s, i) => a + (s.cpuTicks - sites0[i]!.cpuTicks) / 100, 0),
    };
    const doc = running.controller.getStatus();
    const converged = syncedEverywhere(doc, names);
    const failures = result?.failures ?? [];
    log(`one pass over ${n} new mirrors × 3 sites: ${seconds.toFixed(1)} s, CPU ${cpu.controller.toFixed(1)} s controller + ${cpu.sites.toFixed(1)} s sites, converged=${converged}, changes=${result?.changes ?? 0}, failures=${failures.length}`);
    if (!converged) {
      const bad = doc.mirrors.flatMap((m) => m.sites.filter((c) => c.state !== 'Synced').map((c) => `${m.name}@${c.site} ${c.state}: ${c.message}`));
      log(`not Synced (${bad.length}): ${bad.slice(0, 5).join(' | ')}`);
      for (const f of failures.slice(0, 20)) log(`failure: ${f}`);
    }
    return { seconds, converged, changes: result?.changes ?? 0, failures: failures.length, cpu };
  } finally {
    await running.close({ graceMs: 1000 });
    if (logFile) await writeFile(logFile, lines.join('\n') + '\n');
  }
}

async function procStat(pid: number): Promise<{ cpuTicks: number; rssMiB: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  // Fields 14 and 15 (utime, stime) are at 11 and 12 after the ") " split.
  return { cpuTicks: Number(stat[11]) + Number(stat[12]), rssMiB: rssKb / 1024 };
}

async function idle(f: Fixture, n: number, windowS: number, signal: AbortSignal): Promise<{ rssMiB: number; cpuPercent: number; windowS: number }> {
  const ctl = await startControllerProcess(['--repo', f.bare, '--path', 'specs', '--state-dir', path.join(f.dir, 'state-idle'), '--status-branch', 'pulpdist/status-idle']);
  try {
    await waitFor(ctl.url, (d) => d.controller.observedCommit !== null && d.controller.lastPass?.result === 'succeeded' && d.mirrors.length >= n, 600_000, signal);
    // Let the first pass's status commit and start-up garbage settle before the window opens.
    await new Promise((r) => setTimeout(r, 3_000));
    const a = await procStat(ctl.pid);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const b = await procStat(ctl.pid);
    const secs = (Date.now() - t0) / 1000;
    const cpuPercent = ((b.cpuTicks - a.cpuTicks) / 100 / secs) * 100; // CLK_TCK is 100 on Linux
    log(`idle controller over ${n} mirrors: RSS ${b.rssMiB.toFixed(0)} MiB, CPU ${cpuPercent.toFixed(1)}% over ${secs.toFixed(0)} s`);
    return { rssMiB: b.rssMiB, cpuPercent, windowS: secs };
  } finally {
    await ctl.stop();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const MEASUREMENTS = ['push', 'pass', 'idle'] as const;
type Measurement = (typeof MEASUREMENTS)[number];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' }, only: { type: 'string' }, mirrors: { type: 'string' }, log: { type: 'string' },
      out: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (values.only !== undefined && !MEASUREMENTS.includes(values.only as Measurement)) {
    process.stderr.write(`bench:controller: --only must be one of ${MEASUREMENTS.join(', ')}, got ${values.only}\n${USAGE}\n`);
    return 2;
  }
  const wanted = (m: Measurement): boolean => values.only === undefined || values.only === m;
  const quick = !!values.quick;
  let n: number;
  try {
    n = intOption('mirrors', values.mirrors, quick ? 100 : 1000);
  } catch (err) {
    process.stderr.write(`bench:controller: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const runs = quick ? 1 : 3;
  const signal = AbortSignal.timeout(3_600_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-bench-ctl-'));
  const siteLines: string[] = [];
  const f = await startFixture(dir, signal, values.log ? { siteLog: (l) => void siteLines.push(l) } : {});
  try {
    const webhook = wanted('push') ? await pushToSynced(f, 'webhook', runs, signal) : null;
    const poll = wanted('push') ? await pushToSynced(f, 'poll', runs, signal) : null;
    const pass = wanted('pass') ? await bigPass(f, n, values.log) : null;
    if (!pass && wanted('idle')) pushMirrors(f, Array.from({ length: n }, (_, i) => `m${String(i).padStart(4, '0')}`), { files: 3, size: 256 });
    const idleFig = wanted('idle') ? await idle(f, n, quick ? 10 : 60, signal) : null;
    const figures = {
      quick,
      ...(webhook && poll ? { push_to_synced_webhook_s: webhook, push_to_synced_poll_5s_s: poll } : {}),
      ...(pass ? { pass_new_mirrors: { mirrors: n, sites: 3, seconds: pass.seconds, cpu_s: pass.cpu, converged: pass.converged, changes: pass.changes, failures: pass.failures, target_s: TARGET_PASS_S, flux_anchor_s: FLUX_ANCHOR_S } } : {}),
      ...(idleFig ? { idle: { mirrors: n, rss_mib: idleFig.rssMiB, cpu_percent: idleFig.cpuPercent, window_s: idleFig.windowS } } : {}),
    };
    const rows: string[][] = [];
    if (webhook && poll) {
      rows.push(['push → Synced at 3 sites, webhook (median)', `${median(webhook).toFixed(2)} s`, `runs: ${webhook.map((x) => x.toFixed(2)).join(', ')}`]);
      rows.push(['push → Synced at 3 sites, polling 5 s (median)', `${median(poll).toFixed(2)} s`, `runs: ${poll.map((x) => x.toFixed(2)).join(', ')}`]);
    }
    if (pass) {
      rows.push([`one pass, ${n} new mirrors × 3 sites`, `${pass.seconds.toFixed(1)} s`, `${pass.converged ? 'converged' : `NOT converged (${pass.failures} failures)`}; target ≤ ${TARGET_PASS_S} s for 1,000; Flux: 1,000 in ${FLUX_ANCHOR_S} s`]);
      rows.push([`one pass, ${n} new mirrors: CPU`, `${(pass.cpu.controller + pass.cpu.sites).toFixed(1)} s`, `controller ${pass.cpu.controller.toFixed(1)} s + 3 sites ${pass.cpu.sites.toFixed(1)} s`]);
    }
    if (idleFig) {
      rows.push([`idle controller, ${n} mirrors: RSS`, `${idleFig.rssMiB.toFixed(0)} MiB`, '']);
      rows.push([`idle controller, ${n} mirrors: CPU`, `${idleFig.cpuPercent.toFixed(2)} %`, `of one core over ${idleFig.windowS.toFixed(0)} s, drift-repair passes every 30 s included`]);
    }
    const w0 = Math.max(...rows.map((r) => r[0]!.length));
    const w1 = Math.max(...rows.map((r) => r[1]!.length));
    process.stdout.write(`\nbench:controller${quick ? ' (quick)' : ''}\n\n` + rows.map((r) => `${r[0]!.padEnd(w0)}  ${r[1]!.padStart(w1)}  ${r[2]}`).join('\n') + '\n');
    if (values.out) await writeFile(values.out, JSON.stringify(figures, null, 2) + '\n');
    return !pass || pass.converged ? 0 : 1;
  } finally {
    await f.close();
    if (values.log) await writeFile(values.log + '.sites', siteLines.join('\n') + '\n');
    if (values.keep) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err) => {
    process.stderr.write(`bench:controller: error: ${messageOf(err)}\n`);
    process.exitCode = 1;
  },
);
