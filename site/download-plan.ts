/**
 * Which of a sync's missing files travel how: one GET each, or grouped into batch fetches
 * (batch-protocol.ts) when the upstream offers them. Pure.
 *
 * Small files are batched: their per-request cost (≈ 0.6 ms of upstream CPU, a temp file and an
 * answer to parse here) dwarfs their bytes. Large files and files with an append guess go by GET:
 * a request is cheap beside their bytes, they stream in parallel, and a tail fetch needs a range.
 */
import type { ManifestEntry } from '../manifest/types.js';

/** One unit of download work. */
export type DownloadJob = { one: ManifestEntry } | { batch: ManifestEntry[] };

export interface BatchLimits {
  /** Largest file put in a batch. */
  fileMax: number;
  /** Most files in one batch. */
  files: number;
  /** Most bytes in one batch: several batches keep several connections busy. */
  bytes: number;
}

export const BATCH_LIMITS: BatchLimits = { fileMax: 4 * 1024 * 1024, files: 256, bytes: 8 * 1024 * 1024 };

/** The jobs for `missing`: batches of small files first (when `batch`), then one GET per other file. */
export function planDownloads(missing: readonly ManifestEntry[], batch: boolean, byGet: (e: ManifestEntry) => boolean, limits = BATCH_LIMITS): DownloadJob[] {
  if (!batch) return missing.map((one) => ({ one }));
  const jobs: DownloadJob[] = [];
  const singles: DownloadJob[] = [];
  let group: ManifestEntry[] = [];
  let bytes = 0;
  const close = () => {
    // A batch of one is a GET: it saves nothing and a GET is what every upstream answers.
    if (group.length === 1) singles.push({ one: group[0]! });
    else if (group.length > 1) jobs.push({ batch: group });
    group = [];
    bytes = 0;
  };
  for (const e of missing) {
    if (e.size > limits.fileMax || byGet(e)) {
      singles.push({ one: e });
      continue;
    }
    if (group.length >= limits.files || (group.length > 0 && bytes + e.size > limits.bytes)) close();
    group.push(e);
    bytes += e.size;
  }
  close();
  return jobs.concat(singles);
}
