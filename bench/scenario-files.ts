/**
 * Writes a planned tree (bench/scenario.ts) to disk and applies a planned update to it.
 *
 * File bytes are an AES-128-CTR keystream keyed by `(seed, file id, segment gen)`: deterministic,
 * incompressible, different for every file and segment (so neither compression nor dedupe nor a
 * delta between unrelated files gets anything for free), and produced by OpenSSL at disk speed,
 * which keeps generating a 2 GiB tree to seconds.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { PlannedFile, TreePlan, UpdatePlan } from './scenario.js';

const CHUNK = 1024 * 1024;
const ZEROS = Buffer.alloc(CHUNK);
/** Files written at once: enough to overlap small-file syscalls, few enough for 2 cores. */
const WRITERS = 4;

/** The keystream of one segment, `size` bytes, in chunks of at most 1 MiB. */
export function* segmentBytes(seed: number, id: number, gen: number, size: number): Generator<Buffer> {
  const key = createHash('sha256').update(`pulpdist-bench:${seed}:${id}:${gen}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  for (let left = size; left > 0; left -= CHUNK) {
    yield cipher.update(ZEROS.subarray(0, Math.min(CHUNK, left)));
  }
}

/** All bytes of a planned file, segment after segment. */
export function* fileBytes(seed: number, f: PlannedFile): Generator<Buffer> {
  for (const s of f.segments) yield* segmentBytes(seed, f.id, s.gen, s.size);
}

async function writeSegments(seed: number, f: PlannedFile, dest: string, flags: 'w' | 'a', fromSegment: number): Promise<void> {
  const fh = await open(dest, flags, 0o644);
  try {
    for (const s of f.segments.slice(fromSegment)) {
      for (const buf of segmentBytes(seed, f.id, s.gen, s.size)) await fh.write(buf);
    }
  } finally {
    await fh.close();
  }
}

async function writeFile(root: string, seed: number, f: PlannedFile): Promise<void> {
  const dest = path.join(root, ...f.path.split('/'));
  await mkdir(path.dirname(dest), { recursive: true });
  await writeSegments(seed, f, dest, 'w', 0);
}

async function pool<T>(items: readonly T[], signal: AbortSignal, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(WRITERS, items.length) }, async () => {
      while (next < items.length) {
        signal.throwIfAborted();
        await work(items[next++]!);
      }
    }),
  );
}

/** Write every file of `tree` under `root` (created if missing). */
export async function writeTree(root: string, tree: TreePlan, opts: { signal: AbortSignal }): Promise<void> {
  await mkdir(root, { recursive: true });
  await pool(tree.files, opts.signal, (f) => writeFile(root, tree.seed, f));
}

/**
 * Turn a tree written by `writeTree` into `update.after`, the way a publisher would: renames are
 * real renames (same inode, same mtime), rewrites go through a temporary name, logs are appended
 * in place.
 */
export async function applyUpdate(root: string, seed: number, update: UpdatePlan, opts: { signal: AbortSignal }): Promise<void> {
  const abs = (p: string) => path.join(root, ...p.split('/'));
  for (const f of update.deleted) await unlink(abs(f.path));
  for (const m of update.moved) {
    opts.signal.throwIfAborted();
    await mkdir(path.dirname(abs(m.to.path)), { recursive: true });
    await rename(abs(m.from.path), abs(m.to.path));
  }
  await pool(update.added, opts.signal, (f) => writeFile(root, seed, f));
  await pool(update.rewritten, opts.signal, async ({ after }) => {
    const tmp = `${abs(after.path)}.tmp-update`;
    await writeSegments(seed, after, tmp, 'w', 0);
    await rename(tmp, abs(after.path));
  });
  await pool(update.appended, opts.signal, ({ before, after }) => writeSegments(seed, after, abs(after.path), 'a', before.segments.length));
}

/** Every regular file under `root`, `/`-separated and sorted bytewise. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(dir, e.name), r);
      else if (e.isFile()) out.push(r);
    }
  };
  await walk(root, '');
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Lowercase hex sha256 of one file. */
export async function sha256File(file: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The tree digest of a directory as DESIGN.md defines it: sha256 of the canonical PULP_MANIFEST
 * (`relative_path,sha256,size` lines sorted bytewise), read from the disk. The generator's own
 * check, independent of manifest/, so that a bug there cannot hide one here.
 */
export async function diskTreeDigest(root: string, opts: { signal: AbortSignal }): Promise<{ digest: string; lines: string[] }> {
  const lines: string[] = [];
  for (const rel of await listFiles(root)) {
    const file = path.join(root, ...rel.split('/'));
    const fh = await open(file, 'r');
    const size = (await fh.stat()).size;
    await fh.close();
    lines.push(`${rel},${await sha256File(file, opts.signal)},${size}`);
  }
  // Sorted by path (listFiles' order); paths hold no comma, so this is also the lines' order.
  const digest = createHash('sha256').update(lines.map((l) => l + '\n').join('')).digest('hex');
  return { digest, lines };
}

/** The digest the plan promises, computed from the planned bytes without touching the disk. */
export function plannedTreeDigest(tree: TreePlan): { digest: string; lines: string[] } {
  const lines = tree.files.map((f) => {
    const h = createHash('sha256');
    for (const buf of fileBytes(tree.seed, f)) h.update(buf);
    return `${f.path},${h.digest('hex')},${f.size}`;
  });
  // planTree sorts by path with JS `<`, which is byte order for the ASCII names the plan makes.
  const digest = createHash('sha256').update(lines.map((l) => l + '\n').join('')).digest('hex');
  return { digest, lines };
}

/** Remove a generated tree. */
export async function removeTree(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}
