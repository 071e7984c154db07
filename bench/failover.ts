/**
 * `npm run bench:failover [-- --rounds N] [-- --lease D] [-- --idle S] [-- --quick] [-- --out FILE]`:
 * two real `pulpdist run --lease D` processes (default --lease 5s, so that 10 rounds take minutes,
 * not tens of minutes) on one spec repository served by `git http-backend`, two embedded sites
 * and one mirror. Each round SIGKILLs the active replica and measures the failover time: from the
 * kill to the other replica's /readyz answering 200 (its lease taken and its first pass done),
 * polled every 50 ms; then starts the killed one again (same state dir, as a restarted container
 * keeps its emptyDir) and waits until it answers 503 standby. Afterwards, the CPU used by the
 * standby and by the active replica over an idle window (utime + stime from /proc/PID/stat).
 * The target: every failover within 2 × the lease (docs/controller.md).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { UsageError, messageOf } from '../core/errors.js';
import { durationOption } from '../cli/options.js';
import { tempDir } from '../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../testkit/controller-process.js';
import { commitAndPush, makeRepo, startGitServer, writeFiles, type RunningGitServer } from '../testkit/git-server.js';
import { startSite, type RunningSite } from '../testkit/site.js';
import { intOption } from './options.js';

const USAGE = `usage: npm run bench:failover -- [--rounds N (10)] [--lease D (5s)] [--idle SECONDS (30)] [--quick (3 rounds, 10 s idle)] [--out FILE]`;
const POLL_MS = 50;

interface Replica {
  slot: number;
  proc: ControllerProcess;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readyz(r: ControllerProcess): Promise<{ status: number; text: string }> {
  try {
    const a = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(1000) });
    return { status: a.status, text: await a.text() };
  } catch {
    return { status: 0, text: 'no answer' };
  }
}

/** Poll `fn` every POLL_MS until it yields a value; the log of every replica on timeout. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number, replicas: Replica[]): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(POLL_MS);
  }
  throw new Error(`timed out: ${what}\n${replicas.map((r) => `replica ${r.slot}:\n${r.proc.log().slice(-1500)}`).join('\n')}`);
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
function cpuSeconds(pid: number, tick: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / tick; // utime, stime: fields 14 and 15
}

function clockTick(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { rounds: { type: 'string' }, lease: { type: 'string' }, idle: { type: 'string' }, quick: { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const quick = values.quick === true;
  const rounds = intOption('rounds', values.rounds, quick ? 3 : 10);
  const idleS = intOption('idle', values.idle, quick ? 10 : 30);
  const leaseText = values.lease ?? '5s';
  const leaseMs = durationOption('lease', leaseText, '5s');
  if (leaseMs < 3000) throw new UsageError(`--lease must be at least 3s, got ${leaseText}`);
  const tick = clockTick();

  const { dir, cleanup } = await tempDir('pulpdist-bench-failover-');
  const sites: RunningSite[] = [];
  const replicas: Replica[] = [];
  let git: RunningGitServer | undefined;
  try {
    const tree = path.join(dir, 'trees', 'one');
    mkdirSync(tree, { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(path.join(tree, `f${i}.txt`), `file ${i}\n`.repeat(100));
    sites.push(await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [path.join(dir, 'trees')] }));
    sites.push(await startSite({ dataDir: path.join(dir, 'leaf') }));
    const { work } = makeRepo(dir, 'specs', {
      'sites.yaml': `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: origin}\nspec:\n  pulp: {url: "${sites[0]!.url}"}\n---\napiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: leaf}\nspec:\n  pulp: {url: "${sites[1]!.url}"}\n  upstream: origin\n`,
    });
    writeFiles(work, { 'mirrors/one.yaml': `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: one}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, leaf]\n` });
    commitAndPush(work, 'add one');
    git = await startGitServer(dir);
    const repoUrl = `${git.url}/specs.git`;
    const start = async (slot: number): Promise<ControllerProcess> =>
      startControllerProcess(['--repo', `${repoUrl}`, '--lease', leaseText, '--state-dir', path.join(dir, `state-${slot}`), '--log-level', 'warn']);
    const isActive = (r: Replica) => async () => ((await readyz(r.proc)).status === 200 ? true : undefined);
    const isStandby = (r: Replica) => async () => {
      const a = await readyz(r.proc);
      return a.status === 503 && /standby/.test(a.text) ? true : undefined;
    };

    replicas.push({ slot: 1, proc: await start(1) });
    await until('replica 1 active', isActive(replicas[0]!), 120_000, replicas);
    replicas.push({ slot: 2, proc: await start(2) });
    await until('replica 2 standby', isStandby(replicas[1]!), 60_000, replicas);
    let active = replicas[0]!;
    let standby = replicas[1]!;

    const failovers: number[] = [];
    for (let i = 1; i <= rounds; i++) {
      const killedAt = performance.now();
      await active.proc.kill();
      await until(`round ${i}: replica ${standby.slot} active`, isActive(standby), 4 * leaseMs + 60_000, replicas);
      const ms = performance.now() - killedAt;
      failovers.push(ms);
      process.stderr.write(`bench:failover: round ${i}/${rounds}: replica ${active.slot} killed, replica ${standby.slot} active after ${round(ms / 1000)} s\n`);
      active.proc = await start(active.slot);
      await until(`round ${i}: replica ${active.slot} back as standby`, isStandby(active), 60_000, replicas);
      [active, standby] = [standby, active];
    }

    process.stderr.write(`bench:failover: idle CPU over ${idleS} s…\n`);
    const before = { standby: cpuSeconds(standby.proc.pid, tick), active: cpuSeconds(active.proc.pid, tick) };
    const requestsBefore = git.requests().length;
    const t0 = performance.now();
    await sleep(idleS * 1000);
    const gitRequests = git.requests().slice(requestsBefore);
    const wallS = (performance.now() - t0) / 1000;
    const idle = {
      standby_cpu_s: round(cpuSeconds(standby.proc.pid, tick) - before.standby),
      active_cpu_s: round(cpuSeconds(active.proc.pid, tick) - before.active),
      window_s: round(wallS, 1),
      // What the two replicas asked the Git server meanwhile (lease renewals, lease and spec fetches).
      git_requests: gitRequests.length,
    };
    // Both must still be in their roles, or the window did not measure a standby.
    if ((await isStandby(standby)()) !== true || (await isActive(active)()) !== true) throw new Error('the roles changed during the idle window');

    const s = failovers.map((ms) => ms / 1000);
    const result = {
      lease_s: leaseMs / 1000,
      rounds,
      failover_s: { median: round(median(s)), max: round(Math.max(...s)), min: round(Math.min(...s)), all: s.map((x) => round(x)) },
      target_max_s: (2 * leaseMs) / 1000,
      idle: { ...idle, standby_cpu_pct: round((100 * idle.standby_cpu_s) / wallS), active_cpu_pct: round((100 * idle.active_cpu_s) / wallS) },
    };
    const met = result.failover_s.max <= result.target_max_s;
    process.stdout.write(
      [
        `failover over ${rounds} SIGKILLs (--lease ${leaseText}): median ${result.failover_s.median} s, max ${result.failover_s.max} s, min ${result.failover_s.min} s; target ≤ 2 × lease = ${result.target_max_s} s: ${met ? 'met' : 'NOT met'}`,
        `idle over ${idle.window_s} s: standby ${idle.standby_cpu_s} CPU s (${result.idle.standby_cpu_pct} % of a core), active ${idle.active_cpu_s} CPU s (${result.idle.active_cpu_pct} %); ${idle.git_requests} requests to the Git server from both`,
      ].join('\n') + '\n',
    );
    if (values.out) await writeFile(values.out, JSON.stringify(result, null, 2) + '\n');
    return met ? 0 : 1;
  } finally {
    for (const r of replicas) await r.proc.kill().catch(() => undefined);
    await git?.close();
    for (const site of sites) await site.stop().catch(() => undefined);
    await cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench:failover: error: ${messageOf(err)}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}
