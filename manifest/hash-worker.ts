/**
 * A hashing thread: receives batches of absolute paths, answers with each file's sha256, the
 * byte count read and the file's stat taken after the read (so the caller can tell whether the
 * file changed under it). One reusable buffer per thread bounds memory whatever the file sizes.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { HashReply, HashRequest, HashResult } from './hash-protocol.js';
import { CHUNK_BYTES, DEFER_BYTES, PROGRESS_EVERY_BYTES } from './hash-protocol.js';

const port = parentPort;
if (!port) throw new Error('hash-worker.js must run as a worker thread');

const buf = Buffer.allocUnsafe(CHUNK_BYTES);
// The path was a regular file when the walk saw it; if it has since become a symlink, O_NOFOLLOW
// fails (ELOOP) instead of reading outside the tree, and if it became a fifo, O_NONBLOCK keeps
// open() from waiting for a writer. Either way the caller looks again (ELOOP, or ENOTREG from the
// stat after the read). O_NONBLOCK changes nothing for regular files.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

port.on('message', (req: HashRequest) => {
  const unsized = req.unsized === true;
  const results = req.paths.map((p) => hashFile(p, req.id, unsized));
  port.postMessage({ type: 'done', id: req.id, results } satisfies HashReply);
});

function hashFile(file: string, id: number, unsized: boolean): HashResult {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  }
  try {
    // Unsized: no stat from the walk, and none taken before the read either (a system call per
    // file, ~3% of a cold scan's CPU): the first read asks for DEFER_BYTES, and a file that fills it is
    // large, answered unread with its stat. Whether a file read whole changed meanwhile is judged by
    // the scan from the stamps of the stat below (HashRequest.unsized).
    let n = readSync(fd, buf, 0, unsized ? DEFER_BYTES : CHUNK_BYTES, null);
    if (unsized && n === DEFER_BYTES) {
      const st = fstatSync(fd, { bigint: true });
      return st.isFile() ? { deferred: true, ...statFields(st) } : { error: 'ENOTREG' };
    }
    const hash = createHash('sha256');
    let bytes = 0;
    let reported = 0;
    for (;;) {
      if (n === 0) break;
      hash.update(n === CHUNK_BYTES ? buf : buf.subarray(0, n));
      bytes += n;
      // A short read of a regular file is its end, which saves a read per small file. Should the
      // file grow meanwhile, the size in the stat below no longer equals \`bytes\`: read again.
      if (n < CHUNK_BYTES) break;
      // Large files report as they go, so that the progress line moves during a 100 GB file.
      if (bytes - reported >= PROGRESS_EVERY_BYTES) {
        port!.postMessage({ type: 'progress', id, bytes: bytes - reported } satisfies HashReply);
        reported = bytes;
      }
      n = readSync(fd, buf, 0, CHUNK_BYTES, null);
    }
    const st = fstatSync(fd, { bigint: true });
    // A path the walk saw as a regular file that is now a fifo (read at its end) or a device.
    if (!st.isFile()) return { error: 'ENOTREG' };
    return { sha256: hash.digest('hex'), bytes, reported, ...statFields(st), dev: st.dev.toString() };
  } catch (err) {
    // A directory now (EISDIR), or a fifo with a writer and no data yet (EAGAIN): not a file.
    if (!isRegular(fd)) return { error: 'ENOTREG' };
    return { error: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  } finally {
    closeSync(fd);
  }
}

function isRegular(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

function statFields(st: BigIntStats): { size: number; mtimeNs: string; ctimeNs: string; ino: string } {
  return { size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ino: st.ino.toString() };
}
