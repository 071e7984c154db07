/**
 * HTTP plumbing of the API: the request context, JSON answers shaped like Pulp's (compact JSON,
 * `Content-Type: application/json`, `Vary`, `Allow`, `Correlation-ID`), body reading with a size
 * limit and DRF's parse errors, and `ApiError`, which any handler throws to answer an error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error answer: status and the exact JSON body Pulp gives. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/** 400 with a DRF validation body (field → messages). */
export function badRequest(body: unknown): ApiError {
  return new ApiError(400, body);
}

export const NOT_FOUND = (): ApiError => new ApiError(404, { detail: 'Not found.' });

/** The named segments of the route a request matched (site/routes.ts), still percent-encoded. */
export type Params = Readonly<Record<string, string | undefined>>;

/** The object a route names, or the 404 DRF answers when there is none. */
export function found<T>(value: T | undefined): T {
  if (value === undefined) throw NOT_FOUND();
  return value;
}

/** Everything a handler needs about one API request. */
export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  url: URL;
  /** `http://host:port` from the Host header, for absolute `next`/`previous` links. */
  origin: string;
  /** Correlation-ID of this request (also the `logging_cid` of tasks it starts). */
  cid: string;
  /** Allow header of the route matched (site/routes.ts; GET, HEAD, OPTIONS where none is). */
  allow: string;
  /** Abort when the site shuts down. */
  signal: AbortSignal;
}

/** Answer JSON the way Pulp does. HEAD gets the headers only. */
export function sendJson(ctx: Ctx, status: number, body: unknown, extra: Record<string, string> = {}): void {
  // `?fields=` / `?exclude_fields=` trim any object a GET returns (lists trim each result instead).
  const fields = ctx.url.searchParams.get('fields');
  const exclude = ctx.url.searchParams.get('exclude_fields');
  if (status === 200 && (fields || exclude) && body && typeof body === 'object' && !Array.isArray(body) && !('results' in body && 'count' in body)) {
    body = trimFields(body as Record<string, unknown>, fields, exclude);
  }
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    Vary: 'Accept',
    Allow: ctx.allow,
    'Correlation-ID': ctx.cid,
    'Access-Control-Expose-Headers': 'Correlation-ID',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(text),
    ...extra,
  };
  if (status === 204) {
    delete headers['Content-Type'];
    headers['Content-Length'] = 0;
  }
  ctx.res.writeHead(status, headers);
  ctx.res.end(ctx.method === 'HEAD' || status === 204 ? undefined : text);
}

/** Keep only `fields` (comma-separated) and drop `exclude` from an object. */
export function trimFields(row: Record<string, unknown>, fields: string | null, exclude: string | null): Record<string, unknown> {
  if (!fields && !exclude) return row;
  const keep = fields ? new Set(fields.split(',').map((s) => s.trim())) : null;
  const drop = new Set((exclude ?? '').split(',').map((s) => s.trim()));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if ((!keep || keep.has(k)) && !drop.has(k)) out[k] = v;
  return out;
}

/** Largest request body accepted. @default 1 MiB */
export const MAX_BODY = 1024 * 1024;

/** Read the whole body; 413 past `MAX_BODY`. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    throw new ApiError(413, { detail: `Request body larger than ${limit} bytes.` }, { Connection: 'close' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // Past the limit, keep reading (and dropping) a bounded amount: leaving the loop destroys the
    // socket at once, so a client still sending a chunked body got a reset instead of the 413.
    if (size > limit * DRAIN_FACTOR) break;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  if (size > limit) throw new ApiError(413, { detail: `Request body larger than ${limit} bytes.` }, { Connection: 'close' });
  return Buffer.concat(chunks);
}

/** How far past the limit an oversized body is drained so that its 413 can be read. */
const DRAIN_FACTOR = 16;

/**
 * The JSON body as an object. Empty → {}. Malformed → 400 `{"detail":"JSON parse error - …"}` as DRF
 * says; a non-object → DRF's `non_field_errors` message.
 */
export async function readJsonObject(ctx: Ctx): Promise<Record<string, unknown>> {
  const buf = await readBody(ctx.req);
  let text: string;
  try {
    // Strict, as DRF's JSONParser decodes: a lossy decode would store U+FFFD where a byte was.
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf).trim();
  } catch {
    throw badRequest({ detail: "JSON parse error - 'utf-8' codec can't decode the request body: invalid UTF-8" });
  }
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest({ detail: `JSON parse error - ${(err as Error).message}` });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const type = Array.isArray(value) ? 'list' : value === null ? 'NoneType' : typeof value === 'string' ? 'str' : typeof value === 'number' ? (Number.isInteger(value) ? 'int' : 'float') : 'bool';
    throw badRequest({ non_field_errors: [`Invalid data. Expected a dictionary, but got ${type}.`] });
  }
  return value as Record<string, unknown>;
}

/** A new Correlation-ID: 32 lowercase hex characters, like django-guid's. */
export function newCid(): string {
  return crypto.randomUUID().replace(/-/g, '');
}
