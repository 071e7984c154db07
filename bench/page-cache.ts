/**
 * Reads every file below a directory once, so that the page cache holds it: `bench:rsync` does
 * this, untimed, for the data an upstream serves before each of its timed runs, after dropping the
 * other tool's files from memory (vmtouch.ts).
 *
 * Why: an upstream on a machine of its own serves a tree it has served before from memory. Here
 * its data was last touched minutes ago (pulpdist's origin's blob store by its import), and the
 * kernel may have dropped it for the other runs' writes: the run's upstream would read it back
 * from the disk at a cost in CPU it does not pay in the field (docs/benchmarks.md, "What runs").
 */
import path from 'node:path';
import { readChunks } from '../core/buffer-pool.js';
import { listFiles } from './scenario-files.js';

/** What one warming read. */
export interface Warmed {
  files: number;
  bytes: number;
  ms: number;
}

/** Read every regular file below `dir` (symlinks not followed). */
export async function warmPageCache(dir: string, opts: { signal: AbortSignal }): Promise<Warmed> {
  const t0 = performance.now();
  const files = await listFiles(dir);
  let bytes = 0;
  for (const f of files) bytes += await readChunks(path.join(dir, f), () => {}, { signal: opts.signal });
  return { files: files.length, bytes, ms: performance.now() - t0 };
}
