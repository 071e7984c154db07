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

/**
 * The jobs for `missing`: batches of small files (when `batch`) and one GET per other file, the
 * largest first, so that the longest jobs (a large file, an appended log whose old bytes are
 * copied) run beside the many short ones instead of after them.
 */
export function planDownloads(missing: readonly ManifestEntry[], batch: boolean, byGet: (e: ManifestEntry) => boolean, limits = BATCH_LIMITS): DownloadJob[] {
  if (!batch) return largestFirst(missing.map((one) => ({ one })));
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
  return largestFirst(jobs.concat(singles));
}

const jobBytes = (j: DownloadJob): number => ('one' in j ? j.one.size : j.batch.reduce((n, e) => n + e.size, 0));

/** Jobs by bytes, largest first; equal ones keep their order. */
function largestFirst(jobs: DownloadJob[]): DownloadJob[] {
  const sized = jobs.map((j, i) => ({ j, i, bytes: jobBytes(j) }));
  sized.sort((x, y) => y.bytes - x.bytes || x.i - y.i);
  return sized.map((x) => x.j);
}
