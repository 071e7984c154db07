/**
 * Events are about changes, the controller's loop is level-triggered: these helpers turn two
 * observations into at most one event, so the loop can call them every pass with what it read.
 * Pure (the caller gives times), so that a restart or a repeated pass never repeats an event
 * that the state does not justify.
 */
import { siteHealth, treePropagated } from './build.js';
import type { EventInput, SiteHealthData, TreePropagatedData } from './types.js';

export type SiteHealth = 'reachable' | 'degraded' | 'unreachable';

/**
 * The event for a site whose health went from `previous` to `current`, or undefined when nothing
 * changed. A first observation (`previous` undefined) announces only trouble: a controller that
 * starts and finds its sites healthy has nothing to say.
 */
export function siteHealthChange(site: string, previous: SiteHealth | undefined, current: SiteHealth, extra: Omit<SiteHealthData, 'site' | 'previous'> = {}): EventInput | undefined {
  if (previous === current) return undefined;
  if (previous === undefined && current === 'reachable') return undefined;
  const data: SiteHealthData = { site, ...extra };
  if (previous !== undefined) data.previous = previous;
  return siteHealth(current, data);
}

/** What one site publishes of a mirror, as the pass observed it. */
export interface SitePublication {
  site: string;
  /** Tree digest published there; undefined when nothing is. */
  treeDigest?: string;
  /** When that tree was published there (the sync's end), if known. */
  publishedAt?: Date;
}

/**
 * Announces `tree.propagated` once per mirror and tree: when every site of the mirror publishes
 * the same digest and that digest was not announced yet. The first time a mirror is observed, a
 * tree already everywhere is taken as announced before (by a previous controller run), so that
 * a restart does not repeat it.
 */
export class PropagationTracker {
  private readonly mirrors = new Map<string, { announced?: string; firstSeen: Map<string, Date> }>();

  /** The event to emit for `mirror` after this pass, or undefined. `now` stands in for unknown publication times. */
  observe(mirror: string, sites: readonly SitePublication[], now: Date): EventInput<'org.pulpdist.tree.propagated'> | undefined {
    let state = this.mirrors.get(mirror);
    const digests = new Set(sites.map((s) => s.treeDigest));
    const complete = sites.length > 0 && digests.size === 1 && sites[0].treeDigest !== undefined ? sites[0].treeDigest : undefined;
    if (!state) {
      state = { firstSeen: new Map() };
      if (complete) state.announced = complete;
      this.mirrors.set(mirror, state);
    }
    // The earliest publication of each digest seen at any site: where propagation time starts.
    for (const s of sites) {
      if (s.treeDigest === undefined) continue;
      const at = s.publishedAt ?? now;
      const prev = state.firstSeen.get(s.treeDigest);
      if (!prev || at < prev) state.firstSeen.set(s.treeDigest, at);
    }
    // Forget digests no site publishes any more, so the map stays as small as the mirror's history in flight.
    for (const d of [...state.firstSeen.keys()]) if (!digests.has(d)) state.firstSeen.delete(d);
    if (!complete || state.announced === complete) return undefined;
    state.announced = complete;
    const first = state.firstSeen.get(complete) ?? now;
    // A site whose publication time is unknown published it by this observation at the latest.
    const last = sites.reduce((max, s) => ((s.publishedAt ?? now) > max ? (s.publishedAt ?? now) : max), first);
    const data: TreePropagatedData = {
      mirror,
      treeDigest: complete,
      sites: sites.map((s) => s.site),
      propagationMs: Math.max(0, last.getTime() - first.getTime()),
      firstPublishedAt: first.toISOString(),
      completedAt: last.toISOString(),
    };
    return treePropagated(data);
  }

  /** Forget mirrors no longer in the specs. */
  retain(mirrors: Iterable<string>): void {
    const keep = new Set(mirrors);
    for (const m of [...this.mirrors.keys()]) if (!keep.has(m)) this.mirrors.delete(m);
  }
}
