/**
 * The pulpdist side of `bench:rsync`: an origin embedded site importing the tree (from its
 * PULP_MANIFEST, file://) and five downstream embedded sites, leaf1 for the 1-client runs and
 * leaf2–leaf5 for the 4-client runs, each pulling from the origin's content app. Every step is a
 * reconcile pass, as `pulpdist apply` runs it, over a SpecSet built here.
 *
 * The origin's import is its own pass (`publish`), measured apart: rsync has no such step (a
 * daemon serves whatever is on disk), and it is paid once per change, not once per client.
 */
import path from 'node:path';
import { PulpdistError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { treeDigest } from '../manifest/digest.js';
import { artifactsDir } from '../site/blobs.js';
import { parseManifest } from '../manifest/parse.js';
import { createPulpClient } from '../pulp/client.js';
import type { PulpClient } from '../pulp/types.js';
import { createPassMemory, reconcilePass } from '../reconcilers/pass.js';
import type { PassEvent, PassMemory, SourceReader } from '../reconcilers/pass-types.js';
import { createSourceReader } from '../sources/reader.js';
import type { MirrorSpec, SiteSpec, SpecSet } from '../spec/types.js';
import { cpuBetween, processCpu, processCpuSeconds } from './rsync-proc.js';
import type { BenchRun, Phase } from './rsync-report.js';
import { BenchVerifyError, type BenchSide } from './rsync-side-rsync.js';
import { originCounters } from './rsync-served.js';
import { startBenchSite, type BenchSite } from './rsync-sites.js';
import type { TreePlan } from './scenario.js';

/** The mirror's name and base path at every site. */
export const BENCH_MIRROR = 'bench-tree';

/** A reconcile pass did not converge: the run's figures would not describe a finished transfer. */
export class BenchPassError extends PulpdistError {
  constructor(
    message: string,
    readonly sites: string[],
  ) {
    super(message);
  }
}

const POSITION = { file: '(bench:rsync)', line: 1, column: 1 };

function siteSpec(site: BenchSite, upstream: string | undefined): SiteSpec {
  return {
    name: site.name,
    labels: {},
    pulp: { url: site.url, apiRoot: '/pulp/api/v3/', contentOrigin: site.url, tlsValidation: true },
    ...(upstream ? { upstream } : {}),
    limits: { concurrentSyncs: 2, downloadConcurrency: 10 },
    position: POSITION,
  };
}

function mirrorSpec(tree: string, sites: string[]): MirrorSpec {
  return {
    name: BENCH_MIRROR,
    labels: {},
    source: { kind: 'path', path: tree },
    origin: 'origin',
    sites,
    basePath: BENCH_MIRROR,
    retainVersions: 1,
    suspend: false,
    position: POSITION,
  };
}

/** The leaves that play the clients of a run: leaf1 alone, or leaf2–leaf5. */
function leafNames(clients: 1 | 4): string[] {
  return clients === 1 ? ['leaf1'] : ['leaf2', 'leaf3', 'leaf4', 'leaf5'];
}

/** Start the six sites; the origin may import from `tree`. */
export async function startPulpdistSide(opts: {
  tree: string;
  workDir: string;
  signal: AbortSignal;
  log: (line: string) => void;
  /** 5 for the benchmark; 1 (only the 1-client runs) for a quick test. @default 5 */
  leaves?: 1 | 5;
}): Promise<PulpdistSide> {
  const sites: BenchSite[] = [];
  // Sites start one after another: in parallel they would compete for the 2 cores for nothing.
  try {
    sites.push(await startBenchSite({ name: 'origin', dataDir: path.join(opts.workDir, 'origin'), allowedImportPath: opts.tree, signal: opts.signal }));
    for (let i = 1; i <= (opts.leaves ?? 5); i++) {
      sites.push(await startBenchSite({ name: `leaf${i}`, dataDir: path.join(opts.workDir, `leaf${i}`), signal: opts.signal }));
    }
  } catch (err) {
    for (const s of sites) await s.stop();
    throw err;
  }
  return new PulpdistSide(sites, opts.tree, path.join(opts.workDir, 'manifest-cache'), opts.log);
}

/** The running pulpdist side (see the module comment). */
export class PulpdistSide implements BenchSide {
  readonly tool = 'pulpdist' as const;
  /** The origin's blob store (site/blobs.ts), a copy of the tree made by its import. */
  readonly served: string;
  private readonly clients: Map<string, PulpClient>;
  private readonly origin: BenchSite;
  /** Kept between passes, as a controller keeps it (published-manifest cache, source ETags). */
  private readonly memory: PassMemory = createPassMemory();
  private readonly sources: SourceReader;

  constructor(
    readonly sites: BenchSite[],
    private readonly tree: string,
    manifestCacheDir: string,
    private readonly log: (line: string) => void,
  ) {
    this.origin = sites[0]!;
    this.served = artifactsDir(this.origin.dataDir);
    // As the controller reads them: watched between passes.
    this.sources = createSourceReader({ cacheDir: manifestCacheDir, watchTrees: true });
    this.clients = new Map(sites.map((s) => [s.name, createPulpClient(siteSpec(s, s.name === 'origin' ? undefined : 'origin'), { log: silentLogger })]));
  }

  private client(site: string): PulpClient {
    const c = this.clients.get(site);
    if (!c) throw new PulpdistError(`bench:rsync has no site "${site}"`);
    return c;
  }

  /** The data directories (blob stores and metadata) of the leaves of a `clients` run that were started. */
  destinations(clients: 1 | 4): string[] {
    const names = leafNames(clients);
    return this.sites.filter((s) => names.includes(s.name)).map((s) => s.dataDir);
  }

  /** The leaves that play the clients of a run. */
  private leaves(clients: 1 | 4): string[] {
    const names = leafNames(clients);
    for (const n of names) {
      if (!this.clients.has(n)) throw new PulpdistError(`bench:rsync: ${clients} clients need site ${n}, which was not started`);
    }
    return names;
  }

  /**
   * One reconcile pass over origin + `leaves`; throws unless every site converged. Resolves with
   * its wall seconds, and the CPU seconds of the leaves and of the controller's pass.
   */
  private async pass(leaves: string[], signal: AbortSignal): Promise<{ wallS: number; downstreamCpuS: number }> {
    const names = ['origin', ...leaves];
    const specs: SpecSet = { sites: this.sites.filter((s) => names.includes(s.name)).map((s) => siteSpec(s, s.name === 'origin' ? undefined : 'origin')), mirrors: [mirrorSpec(this.tree, names)] };
    const clients = new Map(names.map((n) => [n, this.client(n)]));
    // Sync durations per site, to show where a pass's wall time goes.
    const syncs: string[] = [];
    const onEvent = (e: PassEvent) => {
      if (e.type === 'action-end' && e.action === 'sync') syncs.push(`${e.site} ${(e.durationMs / 1000).toFixed(2)} s${e.result === 'succeeded' ? '' : ` (${e.result})`}`);
    };
    const t0 = process.hrtime.bigint();
    const leafPids = leaves.map((l) => this.sites.find((s) => s.name === l)!.pid);
    const leavesCpu = () => Promise.all(leafPids.map((pid) => processCpu(pid)));
    const cpuBefore = await leavesCpu();
    const ownBefore = process.cpuUsage();
    const result = await reconcilePass(specs, { clients, log: silentLogger, now: () => new Date(), memory: this.memory, sources: this.sources, onEvent }, { signal });
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const own = process.cpuUsage(ownBefore);
    const cpuAfter = await leavesCpu();
    const leafCpus = cpuAfter.map((c, i) => c.user + c.system - cpuBefore[i]!.user - cpuBefore[i]!.system);
    const ownCpu = (own.user + own.system) / 1e6;
    const leafCpu = leafCpus.map((c) => c.toFixed(2)).join(' ');
    const leafFaults = cpuAfter.map((c, i) => c.minorFaults - cpuBefore[i]!.minorFaults).join(' ');
    if (!result.converged) {
      throw new BenchPassError(`the pass over ${names.join(', ')} did not converge: ${result.failures.join('; ') || 'no failure reported'}`, names);
    }
    const phases = Object.entries(this.memory.phases).map(([k, v]) => `${k.replace(/Ms$/, '')} ${(v / 1000).toFixed(2)}`).join(', ');
    this.log(`  pass over ${names.join(', ')}: ${wallS.toFixed(2)} s (${phases}); syncs: ${syncs.join(', ') || 'none'}; CPU s: controller ${ownCpu.toFixed(2)}${leafCpu ? `, leaves ${leafCpu}; page faults: leaves ${leafFaults}` : ''}`);
    return { wallS, downstreamCpuS: ownCpu + leafCpus.reduce((a, b) => a + b, 0) };
  }

  /** The origin imports the tree as it is now (a pass over the origin alone). */
  async publish(_phase: Phase, { signal }: { signal: AbortSignal }) {
    const cpu0 = await processCpuSeconds(this.origin.pid);
    const { wallS: wall } = await this.pass([], signal);
    const cpu1 = await processCpuSeconds(this.origin.pid);
    const published = await this.client('origin').getPublishedManifest(BENCH_MIRROR, { signal });
    const entries = published && published !== 'not-modified' ? parseManifest(published.text) : [];
    return { wall_s: wall, upstream_cpu_s: cpu1 - cpu0, files: entries.length, bytes: entries.reduce((s, e) => s + e.size, 0) };
  }

  async run(phase: Phase, clients: 1 | 4, { signal }: { signal: AbortSignal }): Promise<BenchRun> {
    const before = await originCounters(this.origin.url, { signal });
    const cpu0 = await processCpu(this.origin.pid);
    const { wallS: wall, downstreamCpuS } = await this.pass(this.leaves(clients), signal);
    const cpu = cpuBetween(cpu0, await processCpu(this.origin.pid));
    const after = await originCounters(this.origin.url, { signal });
    // Reads that waited for the disk go to the thread pool and cost the origin more CPU (blob-reads.ts).
    if (after.slowReads > before.slowReads) this.log(`  origin: ${after.slowReads - before.slowReads} blob opens or reads waited for the disk`);
    return { tool: 'pulpdist', phase, clients, wire_bytes: after.served - before.served, wall_s: wall, ...cpu, downstream_cpu_s: downstreamCpuS };
  }

  /** Every leaf of the run publishes exactly the planned paths and sizes, and the origin's tree. */
  async verify(clients: 1 | 4, expected: TreePlan, { signal }: { signal: AbortSignal }): Promise<void> {
    const originDigest = treeDigest(parseManifest(await this.publishedText('origin', signal)));
    const want = new Map(expected.files.map((f) => [f.path, f.size]));
    for (const leaf of this.leaves(clients)) {
      // Compared as trees, not texts: a site may order or format its manifest its own way.
      const entries = parseManifest(await this.publishedText(leaf, signal));
      const digest = treeDigest(entries);
      if (digest !== originDigest) throw new BenchVerifyError(`${leaf} publishes tree ${digest.slice(0, 12)}…, the origin ${originDigest.slice(0, 12)}…`, 'pulpdist', leaf);
      const wrong = entries.filter((e) => want.get(e.relativePath) !== e.size);
      if (entries.length !== want.size || wrong.length) {
        throw new BenchVerifyError(`${leaf} publishes ${entries.length} files (expected ${want.size}), ${wrong.length} not as planned (${wrong.slice(0, 3).map((e) => e.relativePath).join(', ')})`, 'pulpdist', leaf);
      }
    }
  }

  private async publishedText(site: string, signal: AbortSignal): Promise<string> {
    const m = await this.client(site).getPublishedManifest(BENCH_MIRROR, { signal });
    if (!m || m === 'not-modified') throw new BenchVerifyError(`${site} publishes nothing at ${BENCH_MIRROR}`, 'pulpdist', site);
    return m.text;
  }

  async stop(): Promise<void> {
    this.sources.close?.();
    await Promise.all(this.sites.map((s) => s.stop()));
  }
}
