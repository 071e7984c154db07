/**
 * One route table per server: each route names its path pattern and a handler per method, and the
 * table derives from that both the dispatch and the `Allow` header (of a 405, and of any answer
 * the server wants to carry it), so the methods a route takes are written down once.
 *
 * Patterns are split on `/` exactly as request paths are (so trailing slashes count): a literal
 * segment matches itself, `:name` matches one segment (possibly empty), and a last `*name` matches
 * the rest of the path (one segment or more, joined with `/` again). The first route that matches
 * wins, so a literal route listed before a parametric one takes precedence.
 *
 * Why not find-my-way: both servers need paths kept raw (the site compares percent-encoded ids and
 * answers an empty segment as a missing object; the status server decodes a mirror name itself and
 * answers a bad escape with 400), routes with a handler for every method, and Allow in DRF's
 * order; find-my-way decodes parameters, caps their length and leaves 405 and Allow to the caller.
 * Its radix tree buys nothing on tables of a few dozen routes: measured on the site's 21 routes
 * (December 2026, CPU time per lookup), this table's match with the split and Allow costs ~0.4 µs,
 * find-my-way's `find` ~0.3 µs but ~1.2 µs for the five finds an Allow needs; a request costs
 * hundreds of microseconds either way.
 */

/** The methods a route may name, in the order `Allow` lists them (Django REST framework's). */
export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type Method = (typeof METHODS)[number];

/** A route as written: its pattern and a handler per method; `ANY` answers every method. */
export interface RouteSpec<H> {
  path: string;
  handlers: Partial<Record<Method | 'ANY', H>>;
}

export interface RouteTableOptions {
  /** Methods every route also allows (the site answers OPTIONS on every API path). @default [] */
  always?: readonly Method[];
}

/** What a request path resolves to. */
export interface RouteMatch<H> {
  /** The handler for the method, or undefined: then answer 405 with `allow`. */
  handler: H | undefined;
  /** The route's `Allow` header: its methods, HEAD wherever GET is, plus `always`. */
  allow: string;
  /** `:name` and `*name` segments of the pattern, raw (not percent-decoded). */
  params: Record<string, string>;
}

interface Route<H> {
  segments: string[];
  rest: string | undefined;
  handlers: Partial<Record<Method | 'ANY', H>>;
  allow: string;
}

export class RouteTable<H> {
  private readonly routes: Route<H>[];

  constructor(specs: readonly RouteSpec<H>[], options: RouteTableOptions = {}) {
    const always = options.always ?? [];
    this.routes = specs.map((spec) => {
      const segments = spec.path.split('/');
      const last = segments.at(-1) ?? '';
      const rest = last.startsWith('*') ? last.slice(1) : undefined;
      if (rest !== undefined) segments.pop();
      const named = new Set<Method>(Object.keys(spec.handlers).filter((m): m is Method => m !== 'ANY'));
      // A GET answers HEAD too (node:http sends the headers only), as every server here does.
      if (named.has('GET')) named.add('HEAD');
      for (const m of always) named.add(m);
      return { segments, rest, handlers: spec.handlers, allow: METHODS.filter((m) => named.has(m)).join(', ') };
    });
  }

  /** The route a path (split on `/`) names and the handler for `method`; null when no route matches. */
  match(method: string, parts: readonly string[]): RouteMatch<H> | null {
    for (const route of this.routes) {
      const params = matchSegments(route, parts);
      if (!params) continue;
      const h = route.handlers;
      const handler = h.ANY ?? h[method as Method] ?? (method === 'HEAD' ? h.GET : undefined);
      return { handler, allow: route.allow, params };
    }
    return null;
  }
}

function matchSegments<H>(route: Route<H>, parts: readonly string[]): Record<string, string> | null {
  const { segments, rest } = route;
  if (rest === undefined ? parts.length !== segments.length : parts.length <= segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] ?? '';
    const part = parts[i] ?? '';
    if (seg.startsWith(':')) params[seg.slice(1)] = part;
    else if (seg !== part) return null;
  }
  if (rest !== undefined) params[rest] = parts.slice(segments.length).join('/');
  return params;
}
