/**
 * Reads every file below a directory once, so that the page cache holds it: `bench:rsync` does
 * this, untimed, for the data an upstream serves before each of its timed runs.
 *
 * Why: the benchmark puts both upstreams, both tools' downstreams and the generated tree on one
 * machine, and by the initial ×4 they have written more than its memory holds. Each run then
 * evicts part of the other tool's upstream data, and the next run's upstream reads it back from
 * the disk at a cost in CPU the upstream would not pay on a machine of its own. pulpdist's origin
 * pays more of it, because it serves a second copy of the tree (its blob store) that nothing else
 * keeps warm (docs/benchmarks.md, "What is measured").
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

const CHUNK = 1024 * 1024;

/** What one warming read. */
export interface Warmed {
  files: number;
  bytes: number;
  ms: number;
}

/** Read every regular file below `dir` (symlinks not followed) through one reused buffer. */
export async function warmPageCache(dir: string, opts: { signal: AbortSignal }): Promise<Warmed> {
  const t0 = performance.now();
  const buf = Buffer.allocUnsafe(CHUNK);
  let files = 0;
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    opts.signal.throwIfAborted();
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        await walk(p);
        continue;
      }
      if (!e.isFile()) continue;
      const fd = openSync(p, 'r');
      try {
        for (let n = readSync(fd, buf, 0, CHUNK, null); n > 0; n = readSync(fd, buf, 0, CHUNK, null)) bytes += n;
      } finally {
        closeSync(fd);
      }
      files += 1;
    }
  };
  await walk(dir);
  return { files, bytes, ms: performance.now() - t0 };
}
