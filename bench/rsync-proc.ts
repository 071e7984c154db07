/**
 * CPU time of a server process from /proc, for the upstream side of both tools: the rsync daemon
 * forks one child per connection and reaps it, so its children's CPU lands in cutime/cstime; the
 * pulpdist site is one process. Reading before and after a run gives the run's upstream CPU. Also
 * the page cache the kernel reclaimed (/proc/vmstat), which says whether a run was short of memory.
 */
import { execFileSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { PulpdistError } from '../core/errors.js';
import { parseCounter } from './rsync-served.js';

/** A process's /proc entry could not be read or parsed. */
export class ProcReadError extends PulpdistError {
  constructor(
    message: string,
    readonly pid: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

const confs = new Map<string, number>();

/** `getconf NAME`, or `fallback` (the Linux default) where getconf is missing, as it is in no libc image. */
function getconf(name: string, fallback: number): number {
  let v = confs.get(name);
  if (v === undefined) {
    try {
      v = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim()) || fallback;
    } catch {
      v = fallback;
    }
    confs.set(name, v);
  }
  return v;
}

/** Kernel clock ticks per second (`getconf CLK_TCK`, 100 on Linux almost everywhere). */
export function clockTicksPerSecond(): number {
  return getconf('CLK_TCK', 100);
}

/**
 * Bytes of file pages the kernel has reclaimed since boot, by any reclaimer (`pgsteal_file` in
 * /proc/vmstat), or null where the kernel does not count them. Read around a run: more than 0 says
 * that the run's writes filled memory and pushed cached files out, the upstream's data among them.
 */
export async function reclaimedFileBytes(): Promise<number | null> {
  const pages = parseCounter(await readFile('/proc/vmstat', 'utf8').catch(() => ''), 'pgsteal_file');
  return pages === null ? null : pages * getconf('PAGESIZE', 4096);
}

/** The fields of /proc/PID/stat after the command name, which may itself hold spaces and ')'. */
export function parseProcStat(text: string): { ppid: number; minflt: number; cminflt: number; utime: number; stime: number; cutime: number; cstime: number } {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); minflt is field 10, so rest[7]; utime is field 14, so rest[11].
  const n = (i: number) => Number(rest[i]);
  const out = { ppid: n(1), minflt: n(7), cminflt: n(8), utime: n(11), stime: n(12), cutime: n(13), cstime: n(14) };
  if (Object.values(out).some((v) => !Number.isFinite(v))) throw new RangeError(`unparsable /proc stat line: ${text.slice(0, 80)}`);
  return out;
}

/**
 * CPU seconds of `pid` and of its children it has already reaped: in user space, and in the kernel
 * on its behalf; and their minor page faults (first touches of memory), which cost 12–15 µs each
 * on some virtual machines (docs/benchmarks.md).
 */
export interface ProcessCpu {
  user: number;
  system: number;
  minorFaults: number;
}

async function readProcStat(pid: number): Promise<ReturnType<typeof parseProcStat>> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    throw new ProcReadError(`cannot read /proc/${pid}/stat: is process ${pid} still running?`, pid, { cause: err });
  }
  return parseProcStat(text);
}

/** User and system CPU seconds of `pid` and of its children it has already reaped. */
export async function processCpu(pid: number): Promise<ProcessCpu> {
  const s = await readProcStat(pid);
  const hz = clockTicksPerSecond();
  return { user: (s.utime + s.cutime) / hz, system: (s.stime + s.cstime) / hz, minorFaults: s.minflt + s.cminflt };
}

/**
 * User + system CPU seconds of the children this process has reaped so far: read around a run of
 * rsync clients (spawned and awaited by the benchmark), the difference is theirs.
 */
export async function reapedChildrenCpuSeconds(): Promise<number> {
  const s = await readProcStat(process.pid);
  return (s.cutime + s.cstime) / clockTicksPerSecond();
}

/** User + system CPU seconds of `pid` and of its children it has already reaped. */
export async function processCpuSeconds(pid: number): Promise<number> {
  const { user, system } = await processCpu(pid);
  return user + system;
}

/** The CPU spent, and the page faults taken, between two readings of `processCpu`. */
export function cpuBetween(
  before: ProcessCpu,
  after: ProcessCpu,
): { upstream_cpu_s: number; upstream_user_s: number; upstream_system_s: number; upstream_minor_faults: number } {
  const user = after.user - before.user;
  const system = after.system - before.system;
  return { upstream_cpu_s: user + system, upstream_user_s: user, upstream_system_s: system, upstream_minor_faults: after.minorFaults - before.minorFaults };
}

/** Pids whose parent is `pid` (zombies included: they are not yet reaped). */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: scan every process's parent.
    const out: number[] = [];
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (parseProcStat(await readFile(`/proc/${name}/stat`, 'utf8')).ppid === pid) out.push(Number(name));
      } catch {
        // The process ended between readdir and read: not a child any more.
      }
    }
    return out;
  }
}

/**
 * Wait until `pid` has reaped every child, so that their CPU is in its cutime/cstime. Polls with a
 * deadline (a forked rsync server exits a moment after its client sees the end of the stream).
 */
export async function waitChildrenReaped(pid: number, opts: { signal: AbortSignal; timeoutMs?: number }): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const kids = await childPids(pid);
    if (kids.length === 0) return;
    if (Date.now() > deadline) {
      throw new ProcReadError(`process ${pid} still has children ${kids.join(', ')} after ${opts.timeoutMs ?? 30_000} ms; their CPU time would be missed`, pid);
    }
    await delay(20, undefined, { signal: opts.signal });
  }
}
