/**
 * The results of `npm run bench:rsync`: the JSON the issue fixes, and the table with the
 * pulpdist/rsync ratios and the targets. Pure: figures in, text out.
 */
import { formatBytes } from '../core/units.js';
import { formatMachineCosts, type MachineCosts } from './machine-costs.js';
import { treeTotals, updateChangedBytes, type FileKind, type ScenarioConfig, type TreePlan, type UpdatePlan } from './scenario.js';

export type Tool = 'rsync' | 'pulpdist';
export type Phase = 'initial' | 'update';

/** One measured run, in the JSON field names. */
export interface BenchRun {
  tool: Tool;
  phase: Phase;
  clients: 1 | 4;
  /** rsync: Σ clients' sent + received (`--stats`); pulpdist: bytes the origin's content app served. */
  wire_bytes: number;
  wall_s: number;
  /** CPU seconds of the upstream process(es): the rsync daemon and its reaped children; the origin site. */
  upstream_cpu_s: number;
  /** The same, split: in user space, and in the kernel (system calls: the copies from files and into sockets). */
  upstream_user_s: number;
  upstream_system_s: number;
  /** Minor page faults of the same process(es) over the run. */
  upstream_minor_faults: number;
  /**
   * CPU seconds of everything else the run took: rsync's clients; pulpdist's leaves and the
   * controller's pass. On a machine with few cores, wall time is at least (upstream + downstream
   * CPU) ÷ cores, so this says where a run's wall time goes.
   */
  downstream_cpu_s: number;
}

/** pulpdist's origin importing a phase's tree: reported apart from the runs (once per change, not per client). */
export interface OriginImport {
  phase: Phase;
  wall_s: number;
  upstream_cpu_s: number;
  files: number;
  bytes: number;
}

/** The `scenario` object of the JSON: the tree, the update, and the origin imports. */
export interface ScenarioSummary {
  seed: number;
  scale: 'quick' | 'default';
  files: number;
  bytes: number;
  by_kind: Record<FileKind, { files: number; bytes: number }>;
  update: {
    files_after: number;
    bytes_after: number;
    added: number;
    deleted: number;
    moved_or_renamed: number;
    metadata_rewritten: number;
    logs_appended: number;
    added_bytes: number;
    metadata_bytes: number;
    moved_bytes: number;
    /** Bytes appended to all logs together (what rsync's delta sends). */
    log_appended_bytes: number;
    /** Whole size of the appended logs after the update (what whole-file addressing sends). */
    log_whole_bytes: number;
  };
  origin_import?: OriginImport[];
  /** Where the figures were measured. */
  machine?: { node: string; rsync: string | null; cpus: number; memory_bytes: number; kernel: string; costs?: MachineCosts };
  /** Each upstream's data was held in memory through its runs (`--lock-served`). */
  served_locked?: boolean;
}

/** What `--out FILE` writes. */
export interface BenchReport {
  scenario: ScenarioSummary;
  runs: BenchRun[];
}

/** The scenario as the JSON states it. */
export function describeScenario(config: ScenarioConfig, tree: TreePlan, update: UpdatePlan, quick: boolean): ScenarioSummary {
  const t = treeTotals(tree);
  const changed = updateChangedBytes(update);
  return {
    seed: config.seed,
    scale: quick ? 'quick' : 'default',
    files: t.files,
    bytes: t.bytes,
    by_kind: t.byKind,
    update: {
      files_after: update.after.files.length,
      bytes_after: treeTotals(update.after).bytes,
      added: update.added.length,
      deleted: update.deleted.length,
      moved_or_renamed: update.moved.length,
      metadata_rewritten: update.rewritten.length,
      logs_appended: update.appended.length,
      added_bytes: changed.newFiles,
      metadata_bytes: changed.rewritten,
      moved_bytes: changed.moved,
      log_appended_bytes: changed.appendedTail,
      log_whole_bytes: changed.appendedWhole,
    },
  };
}

/** Two lines stating the scenario above the table. */
export function scenarioLines(s: ScenarioSummary): string {
  const u = s.update;
  return [
    `scenario (${s.scale}, seed ${s.seed}): ${s.files} files, ${formatBytes(s.bytes)}`,
    `update: +${u.added} new (${formatBytes(u.added_bytes)}), −${u.deleted} deleted, ${u.moved_or_renamed} moved/renamed (${formatBytes(u.moved_bytes)}), ` +
      `${u.metadata_rewritten} metadata rewritten (${formatBytes(u.metadata_bytes)}), ${u.logs_appended} logs +${formatBytes(u.log_appended_bytes)} (whole: ${formatBytes(u.log_whole_bytes)})`,
    ...(s.machine?.costs ? [formatMachineCosts(s.machine.costs)] : []),
  ].join('\n');
}

/** The targets for the update with 4 clients, as maximum ratios pulpdist/rsync. */
export const TARGETS = { wire_bytes: 1.1, upstream_cpu_s: 0.5, wall_s: 1.0 } as const;

type Metric = keyof typeof TARGETS;

function find(runs: readonly BenchRun[], tool: Tool, phase: Phase, clients: number): BenchRun | undefined {
  return runs.find((r) => r.tool === tool && r.phase === phase && r.clients === clients);
}

/** A run with its figures rounded as the JSON shows them (bytes whole, seconds to the millisecond). */
export function roundRun(r: BenchRun): BenchRun {
  const ms = (s: number) => Math.round(s * 1000) / 1000;
  return { ...r, wire_bytes: Math.round(r.wire_bytes), wall_s: ms(r.wall_s), upstream_cpu_s: ms(r.upstream_cpu_s), upstream_user_s: ms(r.upstream_user_s), upstream_system_s: ms(r.upstream_system_s), downstream_cpu_s: ms(r.downstream_cpu_s) };
}

/** pulpdist/rsync for one metric, or null when either side is missing or rsync's figure is 0. */
export function ratio(runs: readonly BenchRun[], phase: Phase, clients: number, metric: Metric): number | null {
  const p = find(runs, 'pulpdist', phase, clients);
  const r = find(runs, 'rsync', phase, clients);
  if (!p || !r || r[metric] === 0) return null;
  return p[metric] / r[metric];
}

/** Each target on the update with 4 clients: the ratio and whether it is met (null: not measured). */
export function targetResults(runs: readonly BenchRun[]): { metric: Metric; limit: number; ratio: number | null; met: boolean | null }[] {
  return (Object.keys(TARGETS) as Metric[]).map((metric) => {
    const x = ratio(runs, 'update', 4, metric);
    return { metric, limit: TARGETS[metric], ratio: x, met: x === null ? null : x <= TARGETS[metric] };
  });
}

const fmtRatio = (x: number | null) => (x === null ? '—' : `${x.toFixed(2)}×`);
const fmtS = (x: number | undefined) => (x === undefined ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const fmtB = (x: number | undefined) => (x === undefined ? '—' : formatBytes(x));

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

/** The side-by-side table, one row per phase × client count, with ratios and the target verdicts. */
export function formatTable(runs: readonly BenchRun[]): string {
  const header = ['phase', 'clients', 'rsync wire', 'pulpdist wire', 'ratio', 'rsync wall s', 'pulpdist wall s', 'ratio', 'rsync cpu s', 'pulpdist cpu s', 'ratio'];
  const rows: string[][] = [];
  for (const phase of ['initial', 'update'] as const) {
    for (const clients of [1, 4] as const) {
      const r = find(runs, 'rsync', phase, clients);
      const p = find(runs, 'pulpdist', phase, clients);
      if (!r && !p) continue;
      rows.push([
        phase,
        String(clients),
        fmtB(r?.wire_bytes),
        fmtB(p?.wire_bytes),
        fmtRatio(ratio(runs, phase, clients, 'wire_bytes')),
        fmtS(r?.wall_s),
        fmtS(p?.wall_s),
        fmtRatio(ratio(runs, phase, clients, 'wall_s')),
        fmtS(r?.upstream_cpu_s),
        fmtS(p?.upstream_cpu_s),
        fmtRatio(ratio(runs, phase, clients, 'upstream_cpu_s')),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [pad(header, widths), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => pad(r, widths))];
  lines.push('', 'targets (update, 4 clients, pulpdist/rsync):');
  const names: Record<Metric, string> = { wire_bytes: 'bytes on the wire', upstream_cpu_s: 'upstream CPU', wall_s: 'wall time' };
  for (const t of targetResults(runs)) {
    const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met';
    lines.push(`  ${names[t.metric].padEnd(18)} ≤ ${t.limit.toFixed(1)}×: ${fmtRatio(t.ratio).padStart(7)}  ${verdict}`);
  }
  return lines.join('\n');
}
