/**
 * Crash-safe file replacement: a temp file in the same directory, fsync, rename, fsync of the
 * directory. Without `durable`, the same minus the fsyncs: readers still see the old file or the
 * new one, but a crash may leave a file that is empty or cut short.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Replace `file` with `data` (or its parts, one after the other) so that a reader (or a crash, when
 * `durable`) sees either the old file or the new one, never a mix. @param mode permission bits of
 * a new file, @default 0o666 (before umask) @param durable fsync the file and its directory,
 * @default true
 */
export async function writeFileAtomic(file: string, data: string | Buffer | readonly Buffer[], options: { mode?: number; signal?: AbortSignal; durable?: boolean } = {}): Promise<void> {
  const { mode = 0o666, signal, durable = true } = options;
  signal?.throwIfAborted();
  // fs.promises is loaded on first use: a scan that writes nothing never pays its start-up.
  const { open, rename, rm } = fs.promises;
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'wx', mode);
  try {
    try {
      // Each writeFile on a handle continues where the last one ended.
      for (const part of Array.isArray(data) ? data : [data]) await fh.writeFile(part);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    signal?.throwIfAborted();
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (!durable) return;
  // The rename is durable only once the directory entry is: fsync the directory (best effort:
  // some filesystems refuse to open a directory for sync, and the data is already safe).
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (err) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EACCES'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
}
