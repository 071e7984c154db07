/**
 * Field comparison for the per-kind planners. Both sides are normalized first (gitops-engine's
 * `diff.Diff`): a missing field equals null, label maps compare by content whatever their key
 * order, so that a converged system plans nothing.
 */
import type { FieldChange } from './plan-types.js';

function normalize(v: unknown): unknown {
  if (v === undefined) return null;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, normalize(o[k])]));
  }
  return v;
}

/** The fields whose normalized values differ, in the order given: `{field, from: observed, to: desired}`. */
export function diffFields(desired: Record<string, unknown>, observed: Record<string, unknown>, fields: readonly string[]): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of fields) {
    const to = normalize(desired[f]);
    const from = normalize(observed[f]);
    if (JSON.stringify(to) !== JSON.stringify(from)) out.push({ field: f, from, to });
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
