/**
 * When each placement last synced successfully. A status cell holds only the last sync; after a
 * failed one, "how long since the last success" is what an operator and the no-recent-sync alert
 * need, so it is kept here across passes, and taken back from the last status commit at start.
 */
import type { MirrorStatus } from '../core/status.js';

export class LastSuccess {
  /** `mirror` → `site` → ISO time. */
  private readonly at = new Map<string, Map<string, string>>();

  /** Take in the cells of a pass, or of the status restored at start (their `lastSuccessAt` too). */
  observe(mirrors: readonly MirrorStatus[]): void {
    for (const m of mirrors) {
      for (const c of m.sites) {
        const done = c.lastSync?.result === 'completed' ? c.lastSync.finishedAt : null;
        for (const t of [done, c.lastSuccessAt ?? null]) if (t) this.note(m.name, c.site, t);
      }
    }
  }

  /** The last success of a placement, or null. */
  get(mirror: string, site: string): string | null {
    return this.at.get(mirror)?.get(site) ?? null;
  }

  private note(mirror: string, site: string, iso: string): void {
    const t = Date.parse(iso);
    if (!Number.isFinite(t)) return;
    let bySite = this.at.get(mirror);
    if (!bySite) this.at.set(mirror, (bySite = new Map()));
    const prev = bySite.get(site);
    if (prev === undefined || Date.parse(prev) < t) bySite.set(site, iso);
  }
}
