/**
 * The plan as a JSON document (schemas/plan.schema.json) and the summary line every format
 * shares. Only formats: nothing here decides anything.
 */
import { formatBytes } from '../core/units.js';
import { splitSyncKey } from './names.js';
import type { PlacementError, PlacementPin, Plan, PlanConflict, PlanEntry, PlanSite, PlanSummary } from './plan-types.js';

export const PLAN_FORMAT_VERSION = 1;

export interface PlanDocumentEntry {
  site: string;
  kind: PlanEntry['kind'];
  name: string;
  mirror: string;
  action: PlanEntry['action'];
  reason: string;
  syncReason?: PlanEntry['syncReason'];
  changes?: PlanEntry['changes'];
  estimate?: PlanEntry['estimate'];
  stops?: PlanEntry['stops'];
  depth: number;
}

export interface PlanDocument {
  formatVersion: 1;
  /** True when applying would change anything (exit code 2). */
  changes: boolean;
  /** False when a site could not be observed: nothing is known about what would change there. */
  complete: boolean;
  /** The sites that could not be observed (empty when `complete`). */
  unobserved: string[];
  summary: PlanSummary;
  sites: PlanSite[];
  warnings: string[];
  blockedDeletes: string | null;
  entries: PlanDocumentEntry[];
  /** This controller's id, when it has one. */
  controller?: string;
  /** Placements another controller holds, when any. */
  conflicts?: PlanConflict[];
  /** Placements the specs ask the impossible of (a pin nothing can serve), when any. */
  errors?: PlacementError[];
  /** Placements serving a pinned tree or holding theirs, when any. */
  pins?: (PlacementPin & { site: string; mirror: string })[];
  /** Each rollout's position, a line per stage, when any mirror has one. */
  rollouts?: { mirror: string; lines: string[] }[];
}

/** The JSON form of a plan: entries without apply's internals (hrefs, bodies). */
export function planDocument(plan: Plan): PlanDocument {
  const s = plan.summary;
  return {
    ...(plan.controller ? { controller: plan.controller } : {}),
    ...(plan.conflicts.length ? { conflicts: plan.conflicts } : {}),
    ...(plan.errors?.length ? { errors: plan.errors } : {}),
    ...(plan.pins?.size ? { pins: [...plan.pins].map(([key, pin]) => ({ ...splitSyncKey(key), ...pin })) } : {}),
    ...(plan.rollouts?.length ? { rollouts: plan.rollouts } : {}),
    formatVersion: PLAN_FORMAT_VERSION,
    changes: s.create + s.update + s.delete + s.sync + s.publish > 0,
    complete: unobservedSites(plan).length === 0,
    unobserved: unobservedSites(plan),
    summary: s,
    sites: plan.sites,
    warnings: plan.warnings,
    blockedDeletes: plan.blockedDeletes,
    entries: plan.entries.map((e) => {
      const d: PlanDocumentEntry = { site: e.site, kind: e.kind, name: e.name, mirror: e.mirror, action: e.action, reason: e.reason, depth: e.depth };
      if (e.syncReason) d.syncReason = e.syncReason;
      if (e.changes) d.changes = e.changes;
      if (e.estimate) d.estimate = e.estimate;
      if (e.stops) d.stops = e.stops;
      return d;
    }),
  };
}

/** The sites a plan could not observe: about them it knows nothing, so it cannot say "no changes". */
export function unobservedSites(plan: Plan): string[] {
  return plan.sites.filter((s) => !s.reachable).map((s) => s.name);
}

/** The line every format leads with when a site could not be observed; null when every site was. */
export function incompleteLine(plan: Plan): string | null {
  const u = unobservedSites(plan);
  if (u.length === 0) return null;
  return `Plan incomplete: ${u.length === 1 ? 'site' : 'sites'} ${u.join(', ')} could not be observed; what would change there is unknown.`;
}

/** `Plan: 3 to create, 1 to update, 0 to delete, 4 syncs moving 1.2 GiB` (plus publishes when any). */
export function summaryLine(s: PlanSummary): string {
  const publish = s.publish ? `, ${s.publish} publish${s.publish === 1 ? '' : 'es'}` : '';
  return `Plan: ${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.sync} sync${s.sync === 1 ? '' : 's'} moving ${formatBytes(s.bytes)}${publish}`;
}

/** The mark of an action, terraform-style. */
export function markOf(e: PlanEntry): string {
  switch (e.action) {
    case 'create': return '+';
    case 'update': return '~';
    case 'delete': return '-';
    case 'sync': return '>';
    case 'publish': return '^';
    default: return '=';
  }
}

/** A value in a field diff: strings quoted, objects as compact JSON. */
export function showValue(v: unknown): string {
  return JSON.stringify(v) ?? 'null';
}

/** One line for an entry: `+ repository pulpdist.fedora: missing`, with its estimate or what stops. */
export function entryLine(e: PlanEntry): string {
  let tail = e.reason;
  if (e.estimate) tail += `; moves ${e.estimate.files} file${e.estimate.files === 1 ? '' : 's'}, ${formatBytes(e.estimate.bytes)}`;
  if (e.stops && (e.stops.files > 0 || e.kind !== 'remote')) {
    tail += `; stops publishing ${e.stops.files} file${e.stops.files === 1 ? '' : 's'}, ${formatBytes(e.stops.bytes)}`;
  }
  const what = e.kind === 'sync' || e.kind === 'publication' ? (e.action === 'noop' ? 'sync' : e.action) : e.kind;
  return `${markOf(e)} ${what} ${e.name}: ${e.action === 'noop' ? 'no action: ' : ''}${tail}`;
}

/** Entries grouped by site, in plan order, with every site of the plan present (even with no entry). */
export function bySite(plan: Plan): { site: PlanSite; entries: PlanEntry[] }[] {
  const groups = plan.sites.map((site) => ({ site, entries: [] as PlanEntry[] }));
  const index = new Map(groups.map((g) => [g.site.name, g]));
  for (const e of plan.entries) index.get(e.site)?.entries.push(e);
  return groups;
}
