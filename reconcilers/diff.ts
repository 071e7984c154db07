/**
 * Field comparison for the per-kind planners. Both sides are normalized first (gitops-engine's
 * `diff.Diff`): a missing field equals null, label maps compare by content whatever their key
 * order, so that a converged system plans nothing.
 */
import type { FieldChange, PlanEntry } from './plan-types.js';

function normalize(v: unknown): unknown {
  if (v === undefined) return null;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, normalize(o[k])]));
  }
  return v;
}

/** Deep equality of normalized values, without allocating (a converged pass compares 100,000s of fields). */
function same(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    n++;
    if (!same(x[k], y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined) n--;
  return n === 0;
}

/** The fields whose normalized values differ, in the order given: `{field, from: observed, to: desired}`. */
export function diffFields(desired: Record<string, unknown>, observed: Record<string, unknown>, fields: readonly string[]): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of fields) {
    if (!same(desired[f], observed[f])) out.push({ field: f, from: normalize(observed[f]), to: normalize(desired[f]) });
  }
  return out;
}

/** The changes of a create: every field from null. */
export function createdFields(desired: Record<string, unknown>, fields: readonly string[]): FieldChange[] {
  return fields.filter((f) => desired[f] !== undefined).map((f) => ({ field: f, from: null, to: normalize(desired[f]) }));
}

/** The body of a PATCH: only the changed fields, with the desired values. */
export function patchOf(changes: readonly FieldChange[], desired: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(changes.map((c) => [c.field, desired[c.field]]));
}

/** An update entry of a per-kind planner: the reason names the fields that differ; `body` is the PATCH. */
export function updateEntry(
  base: Pick<PlanEntry, 'site' | 'kind' | 'name' | 'mirror' | 'depth'>,
  changes: FieldChange[],
  href: string,
  body: Record<string, unknown>,
): PlanEntry {
  const reason = `${changes.map((c) => c.field).join(', ')} differ${changes.length === 1 ? 's' : ''}`;
  return { ...base, action: 'update', reason, changes, op: { href, body } };
}
