/**
 * Field comparison for the per-kind planners. Both sides are normalized first (gitops-engine's
 * `diff.Diff`): a missing field equals null, label maps compare by content whatever their key
 * order, so that a converged system plans nothing.
 */
import type { CreateBodies, FieldChange, ObjectKind, UpdateEntryOf } from './plan-types.js';

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

/** A field of an object, for comparison: the planners compare objects by field names, not by type. */
function field(obj: object, f: string): unknown {
  return (obj as Record<string, unknown>)[f];
}

/** The fields whose normalized values differ, in the order given: `{field, from: observed, to: desired}`. */
export function diffFields(desired: object, observed: object, fields: readonly string[]): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of fields) {
    const want = field(desired, f);
    const have = field(observed, f);
    if (!same(want, have)) out.push({ field: f, from: normalize(have), to: normalize(want) });
  }
  return out;
}

/** The changes of a create: every field from null. */
export function createdFields(desired: object, fields: readonly string[]): FieldChange[] {
  return fields.filter((f) => field(desired, f) !== undefined).map((f) => ({ field: f, from: null, to: normalize(field(desired, f)) }));
}

/** The body of a PATCH: only the changed fields (fields of `desired`, by construction), with the desired values. */
export function patchOf<T extends object>(changes: readonly FieldChange[], desired: T): Partial<T> {
  return Object.fromEntries(changes.map((c) => [c.field, field(desired, c.field)])) as Partial<T>;
}

/** An update entry of a per-kind planner: the reason names the fields that differ; `body` is the PATCH. */
export function updateEntry<K extends ObjectKind>(
  base: Pick<UpdateEntryOf<K>, 'site' | 'kind' | 'name' | 'mirror' | 'depth'>,
  changes: FieldChange[],
  href: string,
  body: Partial<CreateBodies[K]>,
): UpdateEntryOf<K> {
  const reason = `${changes.map((c) => c.field).join(', ')} differ${changes.length === 1 ? 's' : ''}`;
  return { ...base, action: 'update', reason, changes, op: { href, body } };
}
