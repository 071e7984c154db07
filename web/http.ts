/**
 * HTTP plumbing of the status endpoint: answers as plain data (`Body`), bytes served many times
 * kept with their ETag and gzip variant (`Payload`), conditional requests, compression, and
 * request bodies read up to a bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fresh from 'fresh';
import Negotiator from 'negotiator';

/** One answer, before it is written. */
export interface Body {
  status: number;
  type: string;
  /** Cached answers are Payloads, so a busy endpoint does not re-encode or re-compress them per request. */
  text: string | Payload;
  headers?: Record<string, string>;
  /** Bytes to send as they are (already encoded as the headers say). */
  raw?: Buffer;
}

/** Bytes served many times: their ETag, and a gzip variant made on first demand. */
export class Payload {
  readonly bytes: Buffer;
  readonly etag: string;
  private gz: Buffer | undefined;

  constructor(text: string) {
    this.bytes = Buffer.from(text);
    this.etag = etagOf(text);
  }

  /** Level 4: most of level 9's gain on JSON and HTML at a fraction of its time. */
  gzipped(): Buffer {
    return (this.gz ??= gzipSync(this.bytes, { level: 4 }));
  }
}

/** A weak ETag of a text. */
export function etagOf(text: string): string {
  return `W/"${createHash('sha1').update(text).digest('base64url').slice(0, 22)}"`;
}

/** Whether the client takes gzip (named or through `*`, and not refused with `q=0`): negotiator's reading of Accept-Encoding. */
export function acceptsGzip(req: IncomingMessage): boolean {
  return new Negotiator(req).encodings(['gzip']).length > 0;
}

/** Write an answer: ETag and 304, gzip when accepted and worth it, Content-Length always. */
export function send(req: IncomingMessage, res: ServerResponse, body: Body): void {
  const headers: Record<string, string | number> = {
    'Content-Type': body.type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...body.headers,
  };
  let bytes: Buffer;
  if (body.raw) {
    bytes = body.raw;
  } else if (typeof body.text === 'string') {
    bytes = Buffer.from(body.text, 'utf8');
  } else {
    const p = body.text;
    headers['ETag'] = p.etag;
    // `fresh` (express's): If-None-Match by weak comparison, `*`, and a no-cache reload always gets the body.
    if (fresh(req.headers, { etag: p.etag })) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    headers['Vary'] = 'Accept-Encoding';
    // Small answers are not worth a gzip header and a decompression at the other end.
    if (p.bytes.length > 1024 && acceptsGzip(req)) {
      bytes = p.gzipped();
      headers['Content-Encoding'] = 'gzip';
    } else {
      bytes = p.bytes;
    }
  }
  headers['Content-Length'] = bytes.length;
  res.writeHead(body.status, headers);
  // node:http sends no body for HEAD by itself; the headers match GET's.
  res.end(bytes);
}

/** The body, or null when it is larger than `limit` (reading stops there). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
    // A client gone mid-body: settle, so the handler does not wait forever (a settled promise ignores it).
    req.on('close', () => reject(new Error('the client closed the connection before the body ended')));
  });
}
