/**
 * The recent syncs of each mirror × site, for the page's expanded row and
 * `GET /api/v1/mirrors/NAME/syncs`. The status document carries only the last sync of each
 * placement (it is served and committed whole, so it stays small); this keeps the last few, fed
 * from each document the controller publishes: a `lastSync` it has not seen yet is appended.
 * Kept in memory: after a restart it starts again from the last sync the document holds.
 */
import type { LastSync, StatusDocument } from '../core/status.js';

/** Syncs kept per mirror × site. */
export const HISTORY_DEPTH = 10;

/** Per site of one mirror, its recent syncs, newest first. */
export type MirrorHistory = Record<string, LastSync[]>;

const identity = (s: LastSync): string => `${s.task ?? ''}\u0000${s.startedAt ?? ''}\u0000${s.finishedAt ?? ''}\u0000${s.result ?? ''}`;

export class SyncHistory {
  readonly #byMirror = new Map<string, Map<string, LastSync[]>>();
  #seen: StatusDocument | undefined;

  constructor(private readonly depth = HISTORY_DEPTH) {}

  /** Take the finished syncs of a document (the same document twice costs nothing). */
  observe(doc: StatusDocument): void {
    if (doc === this.#seen) return;
    this.#seen = doc;
    const names = new Set<string>();
    for (const m of doc.mirrors) {
      names.add(m.name);
      let sites = this.#byMirror.get(m.name);
      for (const c of m.sites) {
        const last = c.lastSync;
        if (!last?.finishedAt) continue;
        if (!sites) this.#byMirror.set(m.name, (sites = new Map()));
        const list = sites.get(c.site) ?? [];
        if (list[0] && identity(list[0]) === identity(last)) continue;
        sites.set(c.site, [last, ...list].slice(0, this.depth));
      }
    }
    // A mirror the specs no longer name leaves its history with it.
    for (const name of this.#byMirror.keys()) if (!names.has(name)) this.#byMirror.delete(name);
  }

  /** A mirror's recent syncs by site, newest first; undefined for a mirror never seen. */
  of(mirror: string): MirrorHistory | undefined {
    const sites = this.#byMirror.get(mirror);
    return sites ? Object.fromEntries([...sites].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : undefined;
  }
}
