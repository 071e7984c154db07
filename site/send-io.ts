/** The socket step of the content app's answers, as a promise (blob reads: blob-reads.ts). */
import type { ServerResponse } from 'node:http';

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
