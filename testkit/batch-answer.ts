/** Ask a content app for a batch of files by hand (site/batch-protocol.ts) and read its answer frame by frame. */
import { FrameReader } from '../site/batch-protocol.js';

export interface BatchAnswer {
  status: number;
  type: string | null;
  /** The `Pulpdist-Batch` header of the answer. */
  echo: string | null;
  frames: { status: number; bytes: Buffer }[];
  /** The answer ended between frames. */
  done: boolean;
  text: string;
}

/** POST `paths` to the manifest URL `url` (with the batch header unless `header` is false). */
export async function askBatch(url: string, paths: string[], header = true): Promise<BatchAnswer> {
  const res = await fetch(url, { method: 'POST', body: paths.join('\n'), headers: header ? { 'Pulpdist-Batch': '1' } : {} });
  const body = Buffer.from(await res.arrayBuffer());
  const frames: { status: number; bytes: Buffer }[] = [];
  let done = false;
  if (res.status === 200) {
    let parts: Buffer[] = [];
    const reader = new FrameReader({
      start: (status) => void frames.push({ status, bytes: Buffer.alloc(0) }),
      data: (piece) => void parts.push(Buffer.from(piece)),
      end: () => {
        frames.at(-1)!.bytes = Buffer.concat(parts);
        parts = [];
      },
    });
    // Fed in small pieces: frame lines and files split across reads.
    for (let at = 0; at < body.length; at += 777) await reader.push(body.subarray(at, at + 777));
    done = reader.done;
  }
  return { status: res.status, type: res.headers.get('content-type'), echo: res.headers.get('pulpdist-batch'), frames, done, text: body.toString('utf8') };
}
