/**
 * Lists through every page of a Pulp list endpoint. Pages are requested with our own
 * `limit`/`offset` on the URL we were configured with, because Pulp builds `next` from the request
 * Host, which behind a proxy may name a host pulpdist cannot reach (pulp-api.md §6).
 */
import type { ListFilter, PulpObject } from './types.js';
import { PulpProtocolError } from './errors.js';
import type { Transport } from './transport.js';

/** Query parameters for a filter: arrays comma-joined (`name__in=a,b`), undefined dropped. */
export function filterParams(filter: ListFilter = {}): [string, string][] {
  const out: [string, string][] = [];
  for (const key of Object.keys(filter).sort()) {
    const value = filter[key];
    if (value === undefined) continue;
    out.push([key, Array.isArray(value) ? value.join(',') : value]);
  }
  return out;
}

/**
 * Every object of `listUrl` matching `filter`, in the server's order. An object seen on two pages
 * (the list shifted under us because something was created meanwhile) is kept once.
 */
export async function listAll<T extends PulpObject>(
  transport: Transport,
  listUrl: URL,
  filter: ListFilter | undefined,
  opts: { pageSize: number; signal?: AbortSignal; site: string },
): Promise<T[]> {
  const seen = new Set<string>();
  const out: T[] = [];
  let offset = 0;
  for (;;) {
    const url = new URL(listUrl);
    for (const [k, v] of filterParams(filter)) url.searchParams.set(k, v);
    url.searchParams.set('limit', String(opts.pageSize));
    url.searchParams.set('offset', String(offset));
    const { body } = await transport.request({ method: 'GET', url, signal: opts.signal });
    const page = body as { count?: unknown; next?: unknown; results?: unknown } | null;
    if (!page || typeof page !== 'object' || !Array.isArray(page.results)) {
      throw new PulpProtocolError({ site: opts.site, method: 'GET', url: url.href, problem: 'answer is not a Pulp list (no "results" array)' });
    }
    for (const item of page.results as T[]) {
      const href = item?.pulp_href;
      if (typeof href === 'string') {
        if (seen.has(href)) continue;
        seen.add(href);
      }
      out.push(item);
    }
    offset += page.results.length;
    // `next` is only used as the "more pages" flag; an empty page ends the walk so that a server
    // that keeps saying there is more cannot loop us forever.
    if (page.next === null || page.next === undefined || page.results.length === 0) return out;
    if (typeof page.count === 'number' && offset >= page.count) return out;
  }
}
