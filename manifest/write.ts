/** Writing a PULP_MANIFEST file. */
import { open } from 'node:fs/promises';
import { canonicalManifest } from './digest.js';
import { writeFileAtomic } from './atomic-write.js';
import { ManifestWriteError } from './errors.js';
import type { ManifestEntry } from './types.js';

/**
 * Write `PULP_MANIFEST` (or FILE) atomically: temp file + fsync + rename. When the file already
 * holds exactly this text nothing is written, so that an unchanged tree keeps its manifest's
 * mtime (and whatever caches key on it) and a rescan pays no fsync. Resolves to whether it wrote.
 * @throws ManifestWriteError naming the file and the system error code.
 */
export async function writeManifest(file: string, entries: readonly ManifestEntry[], options: { signal?: AbortSignal } = {}): Promise<boolean> {
  const text = Buffer.from(canonicalManifest(entries), 'utf8');
  if (await holds(file, text)) return false;
  try {
    await writeFileAtomic(file, text, options);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw new ManifestWriteError(file, (err as NodeJS.ErrnoException).code ?? 'EIO', { cause: err });
  }
  return true;
}

/** Whether `file` is a regular file whose bytes are exactly `text`. */
async function holds(file: string, text: Buffer): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return false; // missing or unreadable: write it (and let that report any real problem)
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size !== text.length) return false;
    const current = Buffer.allocUnsafe(text.length);
    const { bytesRead } = await fh.read(current, 0, text.length, 0);
    return bytesRead === text.length && current.equals(text);
  } finally {
    await fh.close();
  }
}
