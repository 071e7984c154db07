/** Generated upstream trees for site tests: random files plus their PULP_MANIFEST. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { treeDigest } from '../manifest/digest.js';

export interface TreeFile {
  path: string;
  bytes: Buffer;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The tree digest (manifest/digest.ts) of text files given as relative path → content. */
export function treeDigestOf(files: Record<string, string>): string {
  return treeDigest(Object.entries(files).map(([relativePath, text]) => ({ relativePath, sha256: sha256(Buffer.from(text)), size: Buffer.byteLength(text) })));
}

/** `count` files of `size` random bytes spread over a few directories. */
export function randomFiles(count: number, size: number, prefix = 'f'): TreeFile[] {
  return Array.from({ length: count }, (_, i) => ({ path: `d${i % 4}/${prefix}${i}.bin`, bytes: randomBytes(size) }));
}

/** Write files under `dir` and a manifest listing them (or `manifestText` when given). */
export async function writeTree(dir: string, files: TreeFile[], manifestText?: string): Promise<string> {
  for (const f of files) {
    await mkdir(path.dirname(path.join(dir, f.path)), { recursive: true });
    await writeFile(path.join(dir, f.path), f.bytes);
  }
  const text = manifestText ?? files.map((f) => `${f.path},${sha256(f.bytes)},${f.bytes.length}\n`).join('');
  await writeFile(path.join(dir, 'PULP_MANIFEST'), text);
  return text;
}

export async function readTreeFile(dir: string, rel: string): Promise<Buffer> {
  return readFile(path.join(dir, rel));
}

/** Temp blobs (`.tmp-*` in the shard directories, or anything in the old `tmp/`) left in a data directory. */
export async function tempFiles(dataDir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const out: string[] = [];
  const root = path.join(dataDir, 'artifacts');
  for (const shard of await readdir(root).catch(() => [] as string[])) {
    for (const f of await readdir(path.join(root, shard)).catch(() => [] as string[])) if (f.startsWith('.tmp-')) out.push(`${shard}/${f}`);
  }
  for (const f of await readdir(path.join(dataDir, 'tmp')).catch(() => [] as string[])) out.push(`tmp/${f}`);
  return out;
}
