/**
 * The syncs of the running pass, as the status document shows them while they run: each placement
 * being synced is Progressing with files and bytes done and total, a rate and an ETA. It is fed
 * the pass's events (reconcilers/pass-types.ts PassEvent) and laid over the document of the last
 * finished pass, so the page, the JSON, `pulpdist status` and the metrics show the sync live
 * instead of the tree as it was when the pass started. Pure apart from the times passed in.
 */
import type { MirrorSiteStatus, MirrorStatus, StatusDocument, SyncProgress } from '../core/status.js';
import type { PassEvent, SyncFigures } from '../reconcilers/pass-types.js';
import { syncKey } from '../reconcilers/names.js';
import { progressLine } from './format.js';

/** The rate is taken over the samples of this window (a sync's speed changes as it goes). */
const RATE_WINDOW_MS = 20_000;

interface Running {
  startedAt: number;
  task: string | null;
  figures: SyncFigures;
  updatedAt: number;
  /** (time, bytes done) of recent polls, oldest first, within RATE_WINDOW_MS of the newest. */
  samples: { at: number; bytes: number }[];
  /** Set when the sync ended in this pass: the pass confirms what the site publishes only at its end. */
  ended?: { result: 'succeeded' | 'failed' | 'skipped'; message?: string };
}


export class LiveProgress {
  readonly #running = new Map<string, Running>();

  /** Syncs started in this pass (running or ended). */
  get size(): number {
    return this.#running.size;
  }

  /** Forget every sync (a new pass starts, or the last one ended). */
  clear(): void {
    this.#running.clear();
  }

  /** Take one pass event at time `now` (epoch ms); true when the document changes with it. */
  record(e: PassEvent, now: number): boolean {
    if (e.type === 'action-start') {
      if (e.action !== 'sync') return false;
      const total = e.estimate ?? null;
      this.#running.set(syncKey(e.mirror, e.site), {
        startedAt: now, task: null, updatedAt: now, samples: [{ at: now, bytes: 0 }],
        figures: { doneFiles: 0, totalFiles: total?.files ?? null, doneBytes: 0, totalBytes: total?.bytes ?? null },
      });
      return true;
    }
    const r = this.#running.get(syncKey(e.mirror, e.site));
    if (!r || r.ended) return false;
    if (e.type === 'action-end') {
      if (e.action !== 'sync') return false;
      r.ended = { result: e.result, ...(e.message ? { message: e.message } : {}) };
      r.updatedAt = now;
      return true;
    }
    r.task = e.task;
    r.figures = { doneFiles: e.doneFiles, totalFiles: e.totalFiles, doneBytes: e.doneBytes, totalBytes: e.totalBytes };
    r.updatedAt = now;
    r.samples.push({ at: now, bytes: e.doneBytes });
    while (r.samples.length > 2 && now - r.samples[0]!.at > RATE_WINDOW_MS) r.samples.shift();
    return true;
  }

  /**
   * `doc` with the placement of each sync of this pass as it stands now: Progressing with its
   * progress while it runs, and after it ended Failed with the reason, or Progressing at its final
   * figures until the pass's end confirms what the site publishes. A placement the document does
   * not list (its mirror came with this pass's commit) is left out: the pass's end lists it.
   */
  overlay(doc: StatusDocument): StatusDocument {
    if (this.#running.size === 0) return doc;
    const mirrors: MirrorStatus[] = doc.mirrors.map((m) => {
      let changed = false;
      const sites = m.sites.map((c): MirrorSiteStatus => {
        const r = this.#running.get(syncKey(m.name, c.site));
        if (!r || r.ended?.result === 'skipped') return c;
        changed = true;
        if (r.ended?.result === 'failed') return { ...c, state: 'Failed', message: `sync failed: ${r.ended.message ?? 'no reason given'}` };
        const progress = toProgress(r);
        const message = r.ended ? 'synced; the pass confirms what is published when it ends' : progressLine(progress);
        return { ...c, state: 'Progressing', progress, message };
      });
      return changed ? { ...m, sites } : m;
    });
    return { ...doc, mirrors };
  }
}

function toProgress(r: Running): SyncProgress {
  const { figures: f, samples } = r;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const seconds = (last.at - first.at) / 1000;
  const rate = samples.length >= 2 && seconds > 0 ? Math.max(0, (last.bytes - first.bytes) / seconds) : null;
  const left = f.totalBytes === null ? null : Math.max(0, f.totalBytes - f.doneBytes);
  return {
    startedAt: new Date(r.startedAt).toISOString(),
    task: r.task,
    files: { done: f.doneFiles, total: f.totalFiles },
    bytes: { done: f.doneBytes, total: f.totalBytes },
    bytesPerSecond: rate === null ? null : Math.round(rate),
    etaSeconds: r.ended || left === 0 ? 0 : rate && left !== null ? Math.round(left / rate) : null,
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}
