/**
 * Reads every file below a directory once, so that the page cache holds it: `bench:rsync` does
 * this, untimed, for the data an upstream serves before each of its timed runs.
 *
 * Why: the benchmark puts both upstreams, both tools' downstreams and the generated tree on one
 * machine, and by the initial ×4 they have written more than its memory holds. Each run then
 * evicts part of the other tool's upstream data, and the next run's upstream reads it back from
 * the disk at a cost in CPU the upstream would not pay on a machine of its own. pulpdist's origin
 * pays more of it, because it serves a second copy of the tree (its blob store) that nothing else
 * keeps warm (docs/benchmarks.md, "What runs").
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
