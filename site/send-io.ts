/**
 * The file and socket steps of the content app's answers, as promises: open and read a blob on the
 * thread pool (a cold read must not stall the event loop), and hand a chunk to the socket.
 */
import { open, read } from 'node:fs';
import type { ServerResponse } from 'node:http';

export function openFile(file: string): Promise<number> {
  return new Promise((resolve, reject) => open(file, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function readAt(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Write (or end with) `chunk`; true once the socket took it all, false when the client went away first. */
export function handedOver(res: ServerResponse, chunk: Buffer, last: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    // A buffer a failed write may still refer to is never given back: false leaves it to the GC.
    const gone = () => resolve(false);
    res.once('close', gone);
    const done = (err?: Error | null) => {
      res.off('close', gone);
      resolve(!err);
    };
    if (last) res.end(chunk, done);
    else res.write(chunk, done);
  });
}
