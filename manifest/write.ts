/** Writing a PULP_MANIFEST file. */
import fs from 'node:fs';
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
export async function writeManifest(file: string, entries: readonly ManifestEntry[], options: { signal?: AbortSignal; text?: string } = {}): Promise<boolean> {
  // `text`: canonicalManifest(entries) when the caller has it already (ScanResult.manifest).
  const text = Buffer.from(options.text ?? canonicalManifest(entries), 'utf8');
  if (holds(file, text)) return false;
  try {
    await writeFileAtomic(file, text, options.signal ? { signal: options.signal } : {});
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw new ManifestWriteError(file, (err as NodeJS.ErrnoException).code ?? 'EIO', { cause: err });
  }
  return true;
}

/**
 * Whether `file` is a regular file whose bytes are exactly `text`. Synchronous (four system calls
 * and a read of one file, ~1 MB for 10,000 files): an unchanged rescan then never loads
 * node:fs/promises, whose start-up (a dozen built-in modules compiled) costs more than the read.
 */
function holds(file: string, text: Buffer): boolean {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false; // missing or unreadable: write it (and let that report any real problem)
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size !== text.length) return false;
    const current = Buffer.allocUnsafe(text.length);
    let got = 0;
    while (got < text.length) {
      const n = fs.readSync(fd, current, got, text.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === text.length && current.equals(text);
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}
