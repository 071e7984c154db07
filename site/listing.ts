/**
 * List answers as Pulp gives them: filters (unknown ones → 400), ordering (default newest
 * `pulp_created` first), DRF LimitOffsetPagination with absolute `next`/`previous` links built from
 * the request Host, and `fields`/`exclude_fields` trimming.
 */
import { ApiError, badRequest, sendJson, trimFields, type Ctx } from './http.js';
import type { Labels } from './records.js';

/** A filter: does this record pass for the given query value? May throw ApiError (bad value). */
export type Filter<T> = (rec: T, value: string) => boolean;

/** Parameters every list accepts besides its filters. */
const ALWAYS = new Set(['limit', 'offset', 'ordering', 'fields', 'exclude_fields', 'minimal', 'page_size']);

export interface ListSpec<T> {
  items: Iterable<T>;
  serialize: (rec: T) => Record<string, unknown>;
  filters: Record<string, Filter<T>>;
}

/** Answer a list request. */
export function sendList<T>(ctx: Ctx, spec: ListSpec<T>): void {
  const q = ctx.url.searchParams;
  for (const key of new Set(q.keys())) {
    if (!ALWAYS.has(key) && !(key in spec.filters)) throw badRequest({ errors: [`Invalid Filter: '${key}'`] });
  }
  // A bad label selection is a 400 even when there is nothing to filter.
  const select = q.get('pulp_label_select');
  if (select !== null && 'pulp_label_select' in spec.filters) parseLabelSelect(select);
  let recs = [...spec.items];
  for (const key of new Set(q.keys())) {
    const f = spec.filters[key];
    // The last value of a repeated parameter wins, as Django's QueryDict.get gives it.
    const value = q.getAll(key).at(-1);
    if (!f || value === undefined) continue;
    recs = recs.filter((r) => f(r, value));
  }
  const count = recs.length;
  const limit = positiveInt(q.get('limit')) ?? 100;
  const offset = nonNegativeInt(q.get('offset')) ?? 0;
  let rows: Record<string, unknown>[];
  const ordering = q.get('ordering');
  if (ordering) rows = order(recs.map((r) => spec.serialize(r)), ordering).slice(offset, offset + limit);
  else {
    // The default order needs only pulp_created, so only the page is serialized (a content list of
    // 10,000 units is paged through 100 times by a client).
    const created = (r: T) => (r as { pulp_created?: string }).pulp_created ?? '';
    rows = recs.sort((a, b) => (created(a) < created(b) ? 1 : created(a) > created(b) ? -1 : 0)).slice(offset, offset + limit).map((r) => spec.serialize(r));
  }
  const page = rows.map((r) => trimFields(r, q.get('fields'), q.get('exclude_fields')));
  const base = `${ctx.origin}${ctx.url.pathname}`;
  const next = offset + limit < count ? link(base, q, { limit, offset: offset + limit }) : null;
  let previous: string | null = null;
  if (offset > 0) previous = offset - limit <= 0 ? link(base, q, { limit, offset: null }) : link(base, q, { limit, offset: offset - limit });
  sendJson(ctx, 200, { count, next, previous, results: page });
}

function positiveInt(s: string | null): number | null {
  if (s === null || !/^\d+$/.test(s)) return null;
  const n = Number(s);
  return n > 0 ? n : null;
}

function nonNegativeInt(s: string | null): number | null {
  if (s === null || !/^\d+$/.test(s)) return null;
  return Number(s);
}

/** DRF's replace_query_param: other parameters kept, keys sorted, urlencoded. */
function link(base: string, q: URLSearchParams, set: { limit: number; offset: number | null }): string {
  const params = new Map<string, string[]>();
  for (const [k, v] of q) params.set(k, [...(params.get(k) ?? []), v]);
  params.set('limit', [String(set.limit)]);
  if (set.offset === null) params.delete('offset');
  else params.set('offset', [String(set.offset)]);
  const out = new URLSearchParams();
  for (const [k, values] of [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) for (const v of values) out.append(k, v);
  return `${base}?${out.toString()}`;
}

function order(rows: Record<string, unknown>[], ordering: string | null): Record<string, unknown>[] {
  const keys = (ordering ? ordering.split(',').map((s) => s.trim()).filter(Boolean) : []).concat(['-pulp_created']);
  const first = rows[0];
  if (ordering && first) {
    for (const k of keys) {
      const name = k.replace(/^-/, '');
      if (!(name in first) && name !== 'pulp_id') {
        throw badRequest({ ordering: [`Select a valid choice. ${k} is not one of the available choices.`] });
      }
    }
  }
  return rows.sort((a, b) => {
    for (const k of keys) {
      const desc = k.startsWith('-');
      const name = desc ? k.slice(1) : k;
      const c = compare(a[name], b[name]);
      if (c !== 0) return desc ? -c : c;
    }
    return 0;
  });
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Split a `__in` value. */
export function csv(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Name lookups every named kind supports (NAME_FILTER_OPTIONS). */
export function nameFilters<T extends { name: string }>(): Record<string, Filter<T>> {
  return {
    name: (r, v) => r.name === v,
    name__in: (r, v) => csv(v).includes(r.name),
    name__contains: (r, v) => r.name.includes(v),
    name__icontains: (r, v) => r.name.toLowerCase().includes(v.toLowerCase()),
    name__startswith: (r, v) => r.name.startsWith(v),
  };
}

/** `pulp_href__in` and `pulp_id__in`, given how to make a record's href. */
export function idFilters<T extends { id: string }>(hrefOf: (r: T) => string, withId = true): Record<string, Filter<T>> {
  const f: Record<string, Filter<T>> = { pulp_href__in: (r, v) => csv(v).includes(hrefOf(r)) };
  if (withId) f.pulp_id__in = (r, v) => csv(v).includes(r.id);
  return f;
}

/** Comparison lookups on a timestamp field. */
export function timeFilters<T>(field: string, get: (r: T) => string | null): Record<string, Filter<T>> {
  const ms = (s: string) => {
    const n = Date.parse(s);
    if (Number.isNaN(n)) throw badRequest({ [field]: ['Enter a valid date/time.'] });
    return n;
  };
  const v = (r: T) => {
    const s = get(r);
    return s === null ? null : Date.parse(s);
  };
  return {
    [field]: (r, x) => v(r) === ms(x),
    [`${field}__gt`]: (r, x) => (v(r) ?? -Infinity) > ms(x),
    [`${field}__gte`]: (r, x) => (v(r) ?? -Infinity) >= ms(x),
    [`${field}__lt`]: (r, x) => (v(r) ?? Infinity) < ms(x),
    [`${field}__lte`]: (r, x) => (v(r) ?? Infinity) <= ms(x),
    [`${field}__isnull`]: (r, x) => (v(r) === null) === /^(true|1)$/i.test(x),
  };
}

/** `pulp_label_select` (pulpcore 3.24 LabelFilter): comma-separated terms that must all hold. */
export function labelSelect<T extends { pulp_labels: Labels }>(): Record<string, Filter<T>> {
  const compiled = new Map<string, (l: Labels) => boolean>();
  return {
    pulp_label_select: (r, v) => {
      let f = compiled.get(v);
      if (!f) compiled.set(v, (f = parseLabelSelect(v)));
      return f(r.pulp_labels);
    },
  };
}

/** Compile a label selection; errors are bare-list 400s, as Pulp raises them from the filter. */
export function parseLabelSelect(value: string): (labels: Labels) => boolean {
  const tests: ((l: Labels) => boolean)[] = [];
  for (const term of value.split(',')) {
    // Python's re.match anchors only at the start; the rest of the term is the value.
    const m = /^(!?[\p{L}\p{N}_\s]+)(=|!=|~)?(.*)?/su.exec(term);
    if (!m) throw new ApiError(400, [`Invalid search term: '${term}'.`]);
    // Group 1 always takes part in a match.
    const [, key = '', op, val = ''] = m;
    if (key.startsWith('!') && op) throw new ApiError(400, [`Cannot use an operator with '${key}'.`]);
    const has = (l: Labels, k: string) => Object.prototype.hasOwnProperty.call(l, k);
    if (op === '=') tests.push((l) => has(l, key) && l[key] === val);
    else if (op === '!=') tests.push((l) => has(l, key) && l[key] !== val);
    else if (op === '~') tests.push((l) => has(l, key) && (l[key]?.toLowerCase().includes(val.toLowerCase()) ?? false));
    else if (key.startsWith('!')) tests.push((l) => !has(l, key.slice(1)));
    else tests.push((l) => has(l, key));
  }
  return (l) => tests.every((t) => t(l));
}
