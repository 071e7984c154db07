/**
 * Which mirrors the page shows, from its URL: filters by state, name and label, problems first,
 * and a cap on the rows drawn, so that a network of thousands of mirrors × tens of sites loads in
 * a browser at once and a filtered view can be shared as a link. Pure.
 *
 *   /?state=Failed&state=Blocked   mirrors with a placement in any of these states
 *   /?q=fedora                     mirrors whose name contains this (any case)
 *   /?label=team=os&label=tier     mirrors with these labels (`key=value`, or `key` for any value)
 *   /?limit=all                    every matching row (default: the first 100)
 *   /?open=fedora-40               that mirror's row expanded to its recent syncs
 */
import { STATE_ORDER, type MirrorState, type MirrorStatus, type StatusDocument } from '../core/status.js';

/** Rows drawn unless `limit` says otherwise. */
export const DEFAULT_ROWS = 100;

export interface PageView {
  states: MirrorState[];
  name: string;
  labels: { key: string; value: string | null }[];
  limit: number | 'all';
  /** Mirrors whose rows are expanded to their recent syncs. */
  open: string[];
  /** Parts of the URL that were not understood, said on the page rather than ignored silently. */
  ignored: string[];
}

const STATES = new Set<string>(STATE_ORDER);

/** The view a URL's query asks for. */
export function parseView(query: URLSearchParams): PageView {
  const ignored: string[] = [];
  const list = (key: string): string[] => query.getAll(key).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const states: MirrorState[] = [];
  for (const s of list('state')) {
    if (STATES.has(s)) states.push(s as MirrorState);
    else ignored.push(`state=${s} (states: ${STATE_ORDER.join(', ')})`);
  }
  const labels = list('label').map((l) => {
    const i = l.indexOf('=');
    return i === -1 ? { key: l, value: null } : { key: l.slice(0, i), value: l.slice(i + 1) };
  });
  const rawLimit = query.get('limit');
  let limit: number | 'all' = DEFAULT_ROWS;
  if (rawLimit === 'all') limit = 'all';
  else if (rawLimit !== null && /^[1-9][0-9]{0,5}$/.test(rawLimit)) limit = Number(rawLimit);
  else if (rawLimit !== null) ignored.push(`limit=${rawLimit} (a number, or all)`);
  return { states: [...new Set(states)], name: (query.get('q') ?? '').trim(), labels, limit, open: [...new Set(list('open'))], ignored };
}

/** The canonical query of a view ('' for the default one): the page cache's key, and its links. */
export function viewQuery(v: PageView, change: Partial<Pick<PageView, 'limit' | 'open'>> = {}): string {
  const q = new URLSearchParams();
  for (const s of v.states) q.append('state', s);
  if (v.name) q.set('q', v.name);
  for (const l of v.labels) q.append('label', l.value === null ? l.key : `${l.key}=${l.value}`);
  const limit = change.limit ?? v.limit;
  if (limit !== DEFAULT_ROWS) q.set('limit', String(limit));
  for (const o of change.open ?? v.open) q.append('open', o);
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** The view's query with `mirror`'s row expanded, or collapsed when it is. */
export function toggleOpen(v: PageView, mirror: string): string {
  return viewQuery(v, { open: v.open.includes(mirror) ? v.open.filter((o) => o !== mirror) : [...v.open, mirror] });
}

/** True when the view narrows the mirrors shown. */
export function isFiltered(v: PageView): boolean {
  return v.states.length > 0 || v.name !== '' || v.labels.length > 0;
}

/** Rank of a mirror's worst placement (0 = Failed); a mirror with no placement ranks last. */
function worstRank(m: MirrorStatus): number {
  let rank = STATE_ORDER.length;
  for (const c of m.sites) rank = Math.min(rank, STATE_ORDER.indexOf(c.state));
  return rank;
}

/** The mirrors to draw: those the view matches, problems first, then by name, at most `limit`. */
export function selectRows(doc: StatusDocument, v: PageView): { rows: MirrorStatus[]; matched: number } {
  const wanted = new Set(v.states);
  const name = v.name.toLowerCase();
  const matches = (m: MirrorStatus): boolean =>
    (wanted.size === 0 || m.sites.some((c) => wanted.has(c.state))) &&
    (name === '' || m.name.toLowerCase().includes(name)) &&
    v.labels.every((l) => m.labels !== undefined && l.key in m.labels && (l.value === null || m.labels[l.key] === l.value));
  const ranked = doc.mirrors.filter(matches).map((m) => ({ m, rank: worstRank(m) }));
  ranked.sort((a, b) => a.rank - b.rank || (a.m.name < b.m.name ? -1 : a.m.name > b.m.name ? 1 : 0));
  const limit = v.limit === 'all' ? ranked.length : v.limit;
  return { rows: ranked.slice(0, limit).map((r) => r.m), matched: ranked.length };
}
