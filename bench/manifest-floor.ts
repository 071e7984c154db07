/**
 * The floors `bench:manifest` sets pulpdist's figures against: the least a Node process can do
 * on this machine to (a) stat every file of a tree, what an unchanged rescan cannot avoid, and
 * (b) sha256 every file on N threads, what a cold scan cannot avoid. No cache, no manifest, no
 * change detection: a measure of the machine and of Node, not a tool.
 *
 * usage: node dist/bench/manifest-floor.js stat TREE
 *        node dist/bench/manifest-floor.js hash TREE THREADS
 * Prints the number of files handled.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** Every regular file below `root` (readdir with file types: no stat). */
function listFiles(root: string): string[] {
  const files: string[] = [];
  const dirs = [root];
  for (let d = dirs.pop(); d !== undefined; d = dirs.pop()) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = d + '/' + e.name;
      if (e.isDirectory()) dirs.push(p);
      else if (e.isFile()) files.push(p);
    }
  }
  return files;
}

/** sha256 of each file through one reused 1 MiB buffer, as manifest/hash-worker.ts reads. */
function hashAll(files: readonly string[]): number {
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    try {
      const hash = createHash('sha256');
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        hash.update(n === buf.length ? buf : buf.subarray(0, n));
        if (n < buf.length) break;
      }
      hash.digest('hex');
    } finally {
      fs.closeSync(fd);
    }
  }
  return files.length;
}

async function main(argv: string[]): Promise<number> {
  const [mode, root, threadsText] = argv;
  if ((mode !== 'stat' && mode !== 'hash') || !root) {
    process.stderr.write('usage: manifest-floor.js stat TREE | hash TREE THREADS\n');
    return 2;
  }
  const files = listFiles(root);
  if (mode === 'stat') {
    for (const f of files) fs.lstatSync(f, { bigint: true });
    process.stdout.write(`${files.length}\n`);
    return 0;
  }
  const threads = Number(threadsText ?? 1);
  if (!Number.isInteger(threads) || threads < 1) {
    process.stderr.write(`THREADS must be an integer ≥ 1, got "${threadsText}"\n`);
    return 2;
  }
  // Round-robin by index: no sizes known, as without a stat; the tree's files are interleaved enough.
  const parts = Array.from({ length: threads }, (_, i) => files.filter((_, j) => j % threads === i));
  const counts = await Promise.all(
    parts.map(
      (part) =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(new URL(import.meta.url), { workerData: part });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  process.stdout.write(`${counts.reduce((a, b) => a + b, 0)}\n`);
  return 0;
}

if (isMainThread) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
} else {
  parentPort?.postMessage(hashAll(workerData as string[]));
}
