/**
 * What tree each placement serves (issue 20, "Pin and roll back"): the latest (the default: the
 * distribution follows its repository, the site syncs from its feeder), one tree named by digest
 * or version (a pin: no sync, the distribution points at that version's publication), or `hold`
 * (keep serving what it serves now, no sync: a rollout's sites whose stage has not begun).
 *
 * Pure. Where the targets come from, strongest first: `spec.pins[site]`, `spec.pin`, then the
 * caller's overrides (a rollout feeds its own by `syncKey`), else the latest. An operator's pin in
 * Git outranks anything a controller works out.
 */
import type { MirrorSpec, SiteSpec } from '../spec/types.js';
import { syncKey } from './names.js';

/** A tree as a spec names it: a digest or a prefix of ≥ 12 hex digits, or version N at a site. */
export type TreeRef = { digest: string } | { version: number; at: string };

export type ServeTarget =
  | { kind: 'latest' }
  /** Serve this tree; `why` is shown in plan and status, e.g. `pinned by spec.pins.leaf`. */
  | { kind: 'tree'; ref: TreeRef; why: string }
  | { kind: 'hold'; why: string };

/** Per-placement targets a caller imposes, keyed by `syncKey(mirror, site)`. */
export type ServeOverrides = ReadonlyMap<string, ServeTarget>;

export const LATEST: ServeTarget = { kind: 'latest' };

/** A `tree` target for a full digest (what a rollout passes). */
export function treeTarget(digest: string, why: string): ServeTarget {
  return { kind: 'tree', ref: { digest }, why };
}

/** `v7` → version 7 at `site`; anything else is a digest or prefix (the schema checked the form). */
export function parseTreeRef(value: string, site: string): TreeRef {
  const v = /^v(\d+)$/.exec(value);
  return v ? { version: Number(v[1]), at: site } : { digest: value.toLowerCase() };
}

/** How a ref reads in messages: `3f2a91c04e5d…` or `v7 at origin`. */
export function showRef(ref: TreeRef): string {
  return 'digest' in ref ? (ref.digest.length === 64 ? short(ref.digest) : `${ref.digest}…`) : `v${ref.version} at ${ref.at}`;
}

/** The 12-hex prefix of a digest, as plan and status show it. */
export function short(digest: string): string {
  return `${digest.slice(0, 12)}…`;
}

/** The target of every site of `m` (origin included), by site name. */
export function serveTargets(m: MirrorSpec, overrides?: ServeOverrides): Map<string, ServeTarget> {
  const out = new Map<string, ServeTarget>();
  for (const site of new Set([m.origin, ...m.sites])) {
    const own = m.pins?.[site];
    if (own !== undefined) out.set(site, { kind: 'tree', ref: parseTreeRef(own, site), why: `pinned by spec.pins.${site}` });
    // A mirror-wide vN is the origin's version: every site then serves the one tree it names.
    else if (m.pin !== undefined) out.set(site, { kind: 'tree', ref: parseTreeRef(m.pin, m.origin), why: 'pinned by spec.pin' });
    else out.set(site, overrides?.get(syncKey(m.name, site)) ?? LATEST);
  }
  return out;
}

/**
 * The sites up `site`'s upstream chain that carry the mirror, nearest first (desired.ts feederOf
 * walks the same chain and stops at the first), ending with the origin when the chain misses it.
 */
export function chainOf(m: { origin: string; sites: readonly string[] }, site: string, sites: ReadonlyMap<string, SiteSpec>): string[] {
  if (site === m.origin) return [];
  const carried = new Set(m.sites);
  const out: string[] = [];
  const seen = new Set([site]);
  // `seen` guards against a cycle that validation should already have refused.
  for (let cur = sites.get(site)?.upstream; cur !== undefined && !seen.has(cur); cur = sites.get(cur)?.upstream) {
    seen.add(cur);
    if (carried.has(cur)) out.push(cur);
  }
  if (!out.includes(m.origin)) out.push(m.origin);
  return out;
}

/**
 * Feeder rule: the nearest site up the chain that serves what `site` is meant to serve (`serves`
 * says so of a candidate); the origin when none does (it serves the latest by definition, unless
 * pinned: plan then refuses). A site wanting the latest skips pinned or held sites above it.
 */
export function feederServing(chain: readonly string[], serves: (candidate: string) => boolean): string | null {
  for (const c of chain) if (serves(c)) return c;
  return null;
}
