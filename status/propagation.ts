/**
 * Propagation time: from the origin publishing a new tree digest of a mirror to another site
 * publishing the same digest. The tracker sees every pass's mirror statuses; it prefers the sync
 * tasks' finish times (exact) and falls back to the time of the pass that first saw the digest.
 * Pure apart from the `now` it is given.
 */
import type { MirrorStatus } from '../core/status.js';

export interface PropagationSample {
  mirror: string;
  site: string;
  seconds: number;
}

interface Pending {
  digest: string;
  publishedAt: number;
  /** Sites already counted for this digest, with their time (null: held it before we could measure). */
  done: Map<string, number | null>;
}

export class PropagationTracker {
  private readonly byMirror = new Map<string, Pending>();

  /**
   * @param since digests the origin published after this time (the controller's start) are
   * measured even when first seen with other sites already holding them.
   */
  constructor(private readonly since: Date) {}

  /** Feed one pass's statuses; returns the propagations completed since the last call. */
  observe(mirrors: readonly MirrorStatus[], now: Date): PropagationSample[] {
    const out: PropagationSample[] = [];
    for (const m of mirrors) {
      const origin = m.sites.find((s) => s.site === m.origin);
      const digest = origin?.treeDigest;
      if (!origin || !digest) continue;
      let p = this.byMirror.get(m.name);
      if (!p || p.digest !== digest) {
        const published = finishedAt(origin.lastSync?.finishedAt);
        // On the first sight of a digest published before we started we do not know when it
        // appeared, so sites already holding it are not counted: a sample must be a measurement.
        const unknownStart = !p && (published === null || published < this.since.getTime());
        p = { digest, publishedAt: published ?? now.getTime(), done: new Map([[m.origin, null]]) };
        this.byMirror.set(m.name, p);
        if (unknownStart) {
          for (const s of m.sites) if (s.treeDigest === digest) p.done.set(s.site, null);
          continue;
        }
      }
      for (const s of m.sites) {
        if (p.done.has(s.site) || s.treeDigest !== digest) continue;
        const at = finishedAt(s.lastSync?.finishedAt) ?? now.getTime();
        const seconds = Math.max(0, (at - p.publishedAt) / 1000);
        p.done.set(s.site, seconds);
        out.push({ mirror: m.name, site: s.site, seconds });
      }
    }
    const names = new Set(mirrors.map((m) => m.name));
    for (const k of this.byMirror.keys()) if (!names.has(k)) this.byMirror.delete(k);
    return out;
  }

  /**
   * Seconds from the origin publishing the tree it publishes now to `site` publishing it; null
   * while the site lacks it, for the origin, and where it was not measured.
   */
  seconds(mirror: string, site: string): number | null {
    return this.byMirror.get(mirror)?.done.get(site) ?? null;
  }

  /**
   * Take back what an earlier process measured (the status it committed, status/restore.ts): the
   * times of the origin's current tree stay known across a restart, and a site that gets it later
   * is measured from when the origin published it.
   */
  restore(mirrors: readonly MirrorStatus[]): void {
    for (const m of mirrors) {
      const origin = m.sites.find((s) => s.site === m.origin);
      const digest = origin?.treeDigest;
      if (!origin || !digest || this.byMirror.has(m.name)) continue;
      const published = finishedAt(origin.lastSync?.finishedAt);
      const done = new Map<string, number | null>([[m.origin, null]]);
      for (const s of m.sites) {
        if (s.site === m.origin) continue;
        // Without the origin's publication time, a site that gets the tree later cannot be measured.
        if (s.treeDigest === digest || published === null) done.set(s.site, s.treeDigest === digest ? s.propagationSeconds ?? null : null);
      }
      this.byMirror.set(m.name, { digest, publishedAt: published ?? 0, done });
    }
  }
}

function finishedAt(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}
