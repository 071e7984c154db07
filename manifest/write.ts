/** Writing a PULP_MANIFEST file. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { canonicalManifest, manifestDigest } from './digest.js';
import { writeFileAtomic } from './atomic-write.js';
import { ManifestWriteError } from './errors.js';
import type { ManifestEntry } from './types.js';

/**
 * Write `PULP_MANIFEST` (or FILE) atomically: temp file + fsync + rename. When the file already
 * holds exactly this text nothing is written, so that an unchanged tree keeps its manifest's
 * mtime (and whatever caches key on it) and a rescan pays no fsync. Resolves to whether it wrote.
 * `text` is canonicalManifest(entries) and `digest` its tree digest, when the caller has them
 * (ScanResult): given the digest, the file is compared by digest and neither the text nor, when
 * `entries` is a function, the entries are built unless the file must be written.
 * @throws ManifestWriteError naming the file and the system error code.
 */
export async function writeManifest(
  file: string,
  entries: readonly ManifestEntry[] | (() => readonly ManifestEntry[]),
  options: { signal?: AbortSignal; text?: string; digest?: string } = {},
): Promise<boolean> {
  let text = options.text;
  const build = () => canonicalManifest(typeof entries === 'function' ? entries() : entries);
  if (fileDigest(file) === (options.digest ?? manifestDigest((text ??= build())))) return false;
  text ??= build();
  try {
    await writeFileAtomic(file, Buffer.from(text, 'utf8'), options.signal ? { signal: options.signal } : {});
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw new ManifestWriteError(file, (err as NodeJS.ErrnoException).code ?? 'EIO', { cause: err });
  }
  return true;
}

const CHUNK = 64 * 1024;
let chunk: Buffer | undefined;

/**
 * The sha256 of a regular file, or undefined when it is missing, unreadable or not a file (then
 * it is written, and the write reports any real problem). Synchronous through one reused 64 KiB
 * buffer: a rescan neither loads node:fs/promises (a dozen built-in modules compiled at
 * start-up by this Node) nor touches a fresh megabyte to compare a 10,000-line manifest.
 */
function fileDigest(file: string): string | undefined {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return undefined;
    chunk ??= Buffer.allocUnsafe(CHUNK);
    const hash = createHash('sha256');
    for (let n = fs.readSync(fd, chunk, 0, CHUNK, null); n > 0; n = fs.readSync(fd, chunk, 0, CHUNK, null)) {
      hash.update(n === CHUNK ? chunk : chunk.subarray(0, n));
    }
    return hash.digest('hex');
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
