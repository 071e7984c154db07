/**
 * For raw TCP test servers that answer hand-written bytes: call `onPath` with the request target
 * of every request head that arrives on `sock` (bodies are not expected; GETs only), in order,
 * however the bytes are split across reads.
 */
import type { Socket } from 'node:net';

export function onRequestPaths(sock: Socket, onPath: (path: string) => void): void {
  let buffered = '';
  sock.on('data', (d: Buffer) => {
    buffered += d.toString('latin1');
    let at;
    while ((at = buffered.indexOf('\r\n\r\n')) >= 0) {
      const path = buffered.slice(0, at).split(' ')[1] ?? '';
      buffered = buffered.slice(at + 4);
      onPath(path);
    }
  });
}
