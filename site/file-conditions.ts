/**
 * The conditional and partial requests of the content app, read as pulpcore's content app reads
 * them: it answers files with aiohttp 3.8's FileResponse (recordings extra/41, extra4/58-59).
 *
 * Why not `fresh` and `range-parser` (express's, which web/http.ts does use for the status
 * server): they implement RFC 9110, and aiohttp differs from it where a client can tell. aiohttp
 * compares If-None-Match strongly (a W/ tag never matches) and ignores Cache-Control; a suffix
 * range longer than the file (`bytes=-100000` of 3060 bytes) is the whole file as a 206, where
 * range-parser says unsatisfiable; and only `bytes=N-M` with no spaces is a range at all.
 */

/** Whether If-None-Match names the file's ETag (strong comparison) or is `*`. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === etag || t === '*';
  });
}

/** What a Range header asks of a file of `size` bytes. `end` is inclusive. */
export type RangeAsk = { kind: 'whole' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * One `bytes=start-end`, `bytes=start-` or `bytes=-suffix` range; anything else (several ranges,
 * another unit, `bytes=-`) leaves the answer whole, as does an empty file.
 */
export function byteRange(header: string | undefined, size: number): RangeAsk {
  if (!header || size === 0) return { kind: 'whole' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const first = m?.[1] ?? '';
  const last = m?.[2] ?? '';
  if (!m || (first === '' && last === '')) return { kind: 'whole' };
  const start = first === '' ? Math.max(0, size - Number(last)) : Number(first);
  const end = first === '' || last === '' ? size - 1 : Math.min(size - 1, Number(last));
  if (start > end || start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}
