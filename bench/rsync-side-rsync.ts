/**
 * The rsync side of `npm run bench:rsync`: one daemon serving the tree, and per client count its
 * own set of destinations, so that the update run of N clients starts from what the initial run
 * of N clients left.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { PulpdistError } from '../core/errors.js';
import { rsyncPullAll } from './rsync-client.js';
import { ensureRsync, startRsyncDaemon, type RsyncDaemon } from './rsync-daemon.js';
import { cpuBetween, processCpu, reapedChildrenCpuSeconds, waitChildrenReaped } from './rsync-proc.js';
import type { BenchRun, Phase } from './rsync-report.js';
import type { TreePlan } from './scenario.js';
import { listFiles } from './scenario-files.js';

/** A downstream does not hold the tree it should after a run: the figures would be meaningless. */
export class BenchVerifyError extends PulpdistError {
  constructor(
    message: string,
    readonly tool: string,
    readonly downstream: string,
  ) {
    super(message);
  }
}

/** Check that `dir` holds exactly the planned paths with the planned sizes. */
export async function verifyDir(dir: string, expected: TreePlan, tool: string): Promise<void> {
  const have = new Set(await listFiles(dir));
  const want = new Set(expected.files.map((f) => f.path));
  const missing = [...want].filter((p) => !have.has(p));
  const extra = [...have].filter((p) => !want.has(p));
  if (missing.length || extra.length) {
    throw new BenchVerifyError(`${dir}: ${missing.length} files missing (${missing.slice(0, 3).join(', ')}), ${extra.length} extra (${extra.slice(0, 3).join(', ')})`, tool, dir);
  }
  for (const f of expected.files) {
    const size = (await stat(path.join(dir, ...f.path.split('/')))).size;
    if (size !== f.size) throw new BenchVerifyError(`${dir}/${f.path}: ${size} bytes, expected ${f.size}`, tool, dir);
  }
}

/** One tool under test, as the benchmark drives it. */
export interface BenchSide {
  readonly tool: BenchRun['tool'];
  /** The directory whose files the upstream reads to serve a run (warmed before each: page-cache.ts). */
  readonly served: string;
  /**
   * The directories the downstreams of a `clients` run write into (some may not exist yet): read
   * into the page cache before this side's runs, dropped from it before the other side's.
   */
  destinations(clients: 1 | 4): string[];
  /** Pull the tree as it is now into `clients` downstreams at once, and measure. */
  run(phase: Phase, clients: 1 | 4, opts: { signal: AbortSignal }): Promise<BenchRun>;
  /** Stop every process this side started. Safe to call twice. */
  stop(): Promise<void>;
}

/** Start the rsync daemon over `tree`; destinations and daemon files go under `workDir`. */
export async function startRsyncSide(opts: { tree: string; workDir: string; signal: AbortSignal; log: (line: string) => void }): Promise<BenchSide & { daemon: RsyncDaemon; verify(clients: 1 | 4, expected: TreePlan, opts: { signal: AbortSignal }): Promise<void> }> {
  ensureRsync(opts.log);
  const daemon = await startRsyncDaemon({ tree: opts.tree, workDir: opts.workDir, signal: opts.signal });
  const destsOf = (clients: 1 | 4) => Array.from({ length: clients }, (_, i) => path.join(opts.workDir, `dest-${clients}c-${i}`));
  return {
    tool: 'rsync',
    served: opts.tree,
    destinations: destsOf,
    daemon,
    async run(phase, clients, { signal }) {
      const dests = destsOf(clients);
      // Children of earlier runs (the readiness probe included) must be reaped before the baseline.
      await waitChildrenReaped(daemon.pid, { signal });
      const cpu0 = await processCpu(daemon.pid);
      const clients0 = await reapedChildrenCpuSeconds();
      const r = await rsyncPullAll(daemon.url, dests, { signal });
      const downstream = (await reapedChildrenCpuSeconds()) - clients0;
      await waitChildrenReaped(daemon.pid, { signal });
      return { tool: 'rsync', phase, clients, wire_bytes: r.wireBytes, wall_s: r.wallS, ...cpuBetween(cpu0, await processCpu(daemon.pid)), downstream_cpu_s: downstream };
    },
    async verify(clients: 1 | 4, expected: TreePlan, { signal }: { signal: AbortSignal }) {
      for (const d of destsOf(clients)) {
        signal.throwIfAborted();
        await verifyDir(d, expected, 'rsync');
      }
    },
    stop: () => daemon.stop(),
  };
}
