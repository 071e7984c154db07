/**
 * The content app at `/pulp/content/` (pulp-api.md §5): a distribution is found from the parent
 * prefixes of the path; it serves its publication (or its repository's newest publication) — every
 * file of the version by relative path, the manifest, and HTML directory listings in pulpcore's
 * format. Files stream from the blob store with aiohttp's headers (ETag `"<hex mtime_ns>-<hex size>"`,
 * Last-Modified, Content-Length, Accept-Ranges), Range → 206, If-None-Match → 304, HEAD.
 */
import { closeSync, fstatSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { ioBuffers } from '../core/buffer-pool.js';
import { html } from '../core/html.js';
import { byteRange, noneMatch } from './file-conditions.js';
import { BATCH_HEADER, BATCH_VERSION, offersBatch } from './batch-protocol.js';
import { serveBatch } from './batch-serve.js';
import { distributionOf, fileIndex, servedAt, servedBlob, type FileIndex } from './content-lookup.js';
import type { PublicationRecord, Tables } from './records.js';
import { handedOver } from './send-io.js';
import type { Site } from './site.js';

export const CONTENT_PREFIX = '/pulp/content/';

function notFound(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 14 });
  res.end(req.method === 'HEAD' ? undefined : '404: Not Found');
}

/** Answer one content-app request; `rawPath` is the URL path, still percent-encoded. */
export async function serveContent(site: Site, req: IncomingMessage, res: ServerResponse, rawPath: string): Promise<void> {
  site.metrics.contentRequests++;
  const batch = site.batch && req.method === 'POST' && offersBatch(req.headers[BATCH_HEADER]);
  if (req.method !== 'GET' && req.method !== 'HEAD' && !batch) {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('405: Method Not Allowed');
    return;
  }
  let rel: string;
  try {
    rel = decodeURIComponent(rawPath.slice(CONTENT_PREFIX.length));
  } catch {
    return notFound(req, res);
  }
  const t = site.store.t;
  const dist = distributionOf(t, rel);
  if (!dist) {
    if (!batch && (rel === '' || rel.endsWith('/'))) {
      const prefix = rel;
      const names = new Set<string>();
      for (const d of t.distributions.values()) if (d.base_path.startsWith(prefix)) names.add(firstSegment(d.base_path.slice(prefix.length)) + '/');
      if (names.size || rel === '') return sendHtml(req, res, listingHtml(CONTENT_PREFIX + rel, rel !== '', [...names].sort().map((n) => ({ name: n, date: '', size: '' }))));
    }
    return notFound(req, res);
  }
  const served = servedAt(t, dist, rel);
  if (!served) return notFound(req, res);
  const { pub, inner } = served;
  // A batch is asked of the manifest's URL, for files beside it.
  if (batch) return inner === pub.manifest ? serveBatch(site, req, res, pub, inner.slice(0, inner.lastIndexOf('/') + 1)) : notFound(req, res);
  if (inner === '' || inner.endsWith('/')) {
    const idx = fileIndex(t, pub);
    const index = idx.files.get(inner + 'index.html');
    if (index) return serveBlob(site, req, res, index.sha256, 'index.html');
    const entries = dirEntries(t, idx, pub, inner);
    if (!entries) return notFound(req, res);
    return sendHtml(req, res, listingHtml(CONTENT_PREFIX + rel, true, entries));
  }
  const blob = servedBlob(t, pub, inner);
  if (!blob) return notFound(req, res);
  // The manifest's answer offers batch fetches of its files (batch-protocol.ts).
  const offer = site.batch && inner === pub.manifest ? { [BATCH_HEADER]: BATCH_VERSION } : undefined;
  return serveBlob(site, req, res, blob.sha256, inner, offer);
}

/** `a/b/c` → `a`. */
function firstSegment(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? path : path.slice(0, slash);
}

interface Entry {
  name: string;
  date: string;
  size: string;
}

function dirEntries(t: Tables, idx: FileIndex, pub: PublicationRecord, dir: string): Entry[] | null {
  const out = new Map<string, Entry>();
  for (const [p, unit] of idx.sorted) {
    if (!p.startsWith(dir)) continue;
    const restPath = p.slice(dir.length);
    const slash = restPath.indexOf('/');
    const name = slash < 0 ? restPath : restPath.slice(0, slash + 1);
    if (out.has(name)) continue;
    // A directory shows the date and size of one file inside it, as pulpcore's listing does.
    out.set(name, { name, date: listDate(unit.pulp_created), size: sizeFormat(t.artifacts.get(unit.artifact_id)?.size ?? 0) });
  }
  if (dir === '' && pub.manifest !== null && pub.manifest_sha256) {
    out.set(pub.manifest, { name: pub.manifest, date: listDate(pub.pulp_created), size: sizeFormat(pub.manifest_size) });
  }
  if (out.size === 0 && dir !== '') return null;
  // Python sorts by code point: uppercase first.
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `%d-%b-%Y %H:%M` in UTC. */
function listDate(iso: string): string {
  const d = new Date(iso.slice(0, 23) + 'Z');
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

/** Jinja's `filesizeformat` (decimal units). */
export function sizeFormat(bytes: number): string {
  if (bytes === 1) return '1 Byte';
  if (bytes < 1000) return `${bytes} Bytes`;
  const prefixes = ['kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let unit = 1000;
  for (let i = 0; i < prefixes.length; i++) {
    unit = 1000 ** (i + 2);
    if (bytes < unit || i === prefixes.length - 1) return `${((1000 * bytes) / unit).toFixed(1)} ${prefixes[i]}`;
  }
  return `${bytes} Bytes`;
}

/** pulpcore's render_html template, byte for byte (no trailing newline). */
export function listingHtml(title: string, parentLink: boolean, entries: Entry[]): string {
  const rows = entries.map((e) => html`<a href="${e.name}">${e.name}</a>${' '.repeat(Math.max(0, 100 - e.name.length))}${e.date}  ${e.size}\n`);
  return html`
<html>
<head><title>Index of ${title}</title></head>
<body bgcolor="white">
<h1>Index of ${title}</h1>
<hr><pre>${parentLink ? html`<a href="../">../</a>\n` : '\n'}${rows}</pre><hr></body>
</html>`.text;
}

function sendHtml(req: IncomingMessage, res: ServerResponse, html: string): void {
  const body = Buffer.from(html, 'utf8');
  res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const TYPES: Record<string, string> = {
  '.txt': 'text/plain',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.csv': 'text/csv',
  '.md': 'text/markdown',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.tar': 'application/x-tar',
  '.iso': 'application/x-iso9660-image',
  '.rpm': 'application/x-rpm',
};

async function serveBlob(site: Site, req: IncomingMessage, res: ServerResponse, sha256: string, name: string, extra?: Record<string, string>): Promise<void> {
  const file = site.blobs.pathOf(sha256);
  let fd: number;
  try {
    fd = await site.reads.open(file);
  } catch {
    return notFound(req, res);
  }
  // Blobs are never rewritten in place: the descriptor's stat is the file's. fstat and close touch
  // no disk, so they run here rather than as thread-pool trips.
  try {
    const st = fstatSync(fd, { bigint: true });
    const size = Number(st.size);
    const etag = `"${st.mtimeNs.toString(16)}-${size.toString(16)}"`;
    const lastModified = new Date(Number(st.mtimeMs)).toUTCString();
    const base: Record<string, string | number> = {
      'Content-Type': TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream',
      Etag: etag,
      'Last-Modified': lastModified,
      'Accept-Ranges': 'bytes',
      ...extra,
    };
    if (noneMatch(req.headers['if-none-match'], etag)) {
      res.writeHead(304, { Etag: etag, 'Last-Modified': lastModified });
      return void res.end();
    }
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = byteRange(req.headers.range, size);
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Type': 'text/plain; charset=utf-8' });
      return void res.end(req.method === 'HEAD' ? undefined : '416: Range Not Satisfiable');
    }
    if (range.kind === 'partial') {
      ({ start, end } = range);
      status = 206;
      base['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    const length = size === 0 ? 0 : end - start + 1;
    if (req.method === 'HEAD' || length === 0) {
      res.writeHead(status, { ...base, 'Content-Length': length });
      return void res.end();
    }
    // Headers go out only once the first chunk is in hand, so a short read there is still a clean 404.
    const sent = await sendBody(res, fd, start, length, () => res.writeHead(status, { ...base, 'Content-Length': length }), site);
    if (sent === 'short') return notFound(req, res);
  } finally {
    closeSync(fd);
  }
}

/**
 * Send `length` bytes of `fd` from `start`, a chunk at a time through pooled buffers (a fresh
 * buffer per file or per chunk costs more in page faults than the read itself). Each chunk is read
 * once the previous one has been handed to the kernel, so its buffer can go back to the pool.
 * 'short' when the file ended before the first chunk, before anything was sent.
 */
async function sendBody(res: ServerResponse, fd: number, start: number, length: number, head: () => void, site: Site): Promise<'sent' | 'short'> {
  let sent = 0;
  while (sent < length) {
    const buf = ioBuffers.take();
    const want = Math.min(buf.length, length - sent);
    let got = 0;
    let failed: Error | undefined;
    try {
      while (got < want) {
        const n = await site.reads.read(fd, buf, got, want - got, start + sent + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      failed = err as Error;
    }
    if (failed || got < want) {
      ioBuffers.give(buf);
      if (sent === 0) return 'short';
      // Headers promised more than can be read now: all that is left is to cut the connection.
      res.destroy(failed);
      return 'sent';
    }
    if (sent === 0) head();
    sent += got;
    site.metrics.contentBytesServed += got;
    if (!(await handedOver(res, buf.subarray(0, got), sent === length))) return 'sent';
    ioBuffers.give(buf);
  }
  return 'sent';
}
