/**
 * The file calls that make a site's writes durable. Calls that only touch the page cache or the
 * dentry cache (open, write, close) run on the event loop; the ones that wait for the disk (fsync,
 * fdatasync) go to libuv's thread pool. Each trip to the pool costs a thread wake-up and a
 * callback, and on a virtual machine the wake-up of another CPU costs more than the call. An
 * fsync of a directory through a FileHandle was three trips (open, fsync, close), a journal commit
 * two; each is one now. Through one pass creating 300 mirrors, an origin made 87,610 futex calls
 * before and 60,730 after (`strace -c`; docs/pass-performance.md).
 */
import { closeSync, fdatasync, fsync, openSync, writeSync } from 'node:fs';

/**
 * Write all of `bytes`, however many calls it takes: at `position` in the file, or at its offset
 * (which then moves past them) when `position` is null.
 */
export function writeFully(fd: number, bytes: Uint8Array, position: number | null): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, position === null ? null : position + off);
}

/** fdatasync `fd` on the thread pool. */
export function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** fsync a directory so that renames and unlinks inside it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
  } catch (err) {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL' && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
  } finally {
    closeSync(fd);
  }
}
