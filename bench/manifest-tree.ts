/**
 * The tree `bench:manifest` hashes: large files plus many small ones in nested directories, with
 * deterministic pseudo-random content (every file distinct), written in a temp dir.
 */
import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The shape of a benchmark tree. */
export interface TreeShape {
  largeFiles: number;
  largeBytes: number;
  smallFiles: number;
  /** Small files are 0 … 2 × this bytes (uniform), so this is their mean size. */
  smallMeanBytes: number;
  /** Small files are spread over this many directories, two levels deep. */
  directories: number;
}

/** The tree: 48 × 16 MiB + 10,000 small files, ≈ 1 GiB. */
export const FULL_TREE: TreeShape = { largeFiles: 48, largeBytes: 16 * 1024 * 1024, smallFiles: 10_000, smallMeanBytes: 26 * 1024, directories: 100 };
/** A quick tree for development: ≈ 70 MiB. */
export const QUICK_TREE: TreeShape = { largeFiles: 4, largeBytes: 16 * 1024 * 1024, smallFiles: 1_000, smallMeanBytes: 4 * 1024, directories: 20 };

/** A block of pseudo-random bytes from sha256 in counter mode (fast enough, and reproducible). */
function noise(bytes: number, seed: string): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  for (let off = 0, i = 0; off < bytes; off += 32, i++) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  }
  return out;
}

/** Write the tree under `root`; returns its file count and bytes. */
export async function buildTree(root: string, shape: TreeShape, signal: AbortSignal): Promise<{ files: number; bytes: number }> {
  const base = noise(shape.largeBytes + 2 * shape.smallMeanBytes + 64, 'pulpdist-bench-manifest');
  let files = 0;
  let bytes = 0;
  await mkdir(path.join(root, 'large'), { recursive: true });
  for (let i = 0; i < shape.largeFiles; i++) {
    signal.throwIfAborted();
    // Same bytes shifted by i and stamped with i: distinct files without generating 768 MiB of noise.
    const buf = Buffer.from(base.subarray(i, i + shape.largeBytes));
    buf.writeUInt32BE(i, 0);
    await writeFile(path.join(root, 'large', `blob-${String(i).padStart(3, '0')}.bin`), buf, { signal });
    files += 1;
    bytes += buf.length;
  }
  let state = 0x9e3779b9;
  const rand = () => {
    // xorshift32: sizes and offsets only, so quality does not matter, reproducibility does.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  for (let d = 0; d < shape.directories; d++) {
    await mkdir(path.join(root, 'small', `group-${d % 10}`, `dir-${d}`), { recursive: true });
  }
  for (let i = 0; i < shape.smallFiles; i++) {
    if (i % 500 === 0) signal.throwIfAborted();
    const size = Math.floor(rand() * 2 * shape.smallMeanBytes);
    const offset = Math.floor(rand() * (base.length - size - 8));
    const buf = Buffer.from(base.subarray(offset, offset + size));
    if (size >= 4) buf.writeUInt32BE(i, 0);
    const d = i % shape.directories;
    await writeFile(path.join(root, 'small', `group-${d % 10}`, `dir-${d}`, `file-${i}.dat`), buf);
    files += 1;
    bytes += size;
  }
  return { files, bytes };
}

/**
 * Add `count` symlinks under `links/` to the small files of a tree built with `shape` (relative
 * targets, spread over every directory): the tree with links that `--symlinks N` times.
 */
export async function addLinks(root: string, shape: TreeShape, count: number): Promise<void> {
  await mkdir(path.join(root, 'links'), { recursive: true });
  for (let k = 0; k < count; k++) {
    const i = Math.floor((k * shape.smallFiles) / count);
    const d = i % shape.directories;
    await symlink(`../small/group-${d % 10}/dir-${d}/file-${i}.dat`, path.join(root, 'links', `link-${k}.dat`));
  }
}
