/**
 * `GET /api/v1/mirrors/NAME/history` (issue 20): a mirror's published trees per site, read from
 * Pulp on demand (reconcilers/history.ts), since keeping every mirror's history in the status
 * document would cost requests per mirror per pass. A page polled by many clients must not turn
 * into as many Pulp reads, so an answer is reused for `maxAgeMs` and concurrent requests for one
 * mirror share a single read.
 */
import { messageOf } from '../core/errors.js';
import { redact, redactStrings } from '../core/redact.js';
import type { HistoryDocument } from '../reconcilers/history.js';
import { Payload, type Body } from './http.js';

/** Reads a mirror's history; null when no such mirror is in the specs the controller runs. */
export type HistorySource = (mirror: string, signal: AbortSignal) => Promise<HistoryDocument | null>;

const JSON_TYPE = 'application/json; charset=utf-8';

export interface HistoryRouteOptions {
  /** @default () => Date.now() */
  now?: () => number;
  /** How long an answer is reused. @default 10_000 */
  maxAgeMs?: number;
  /** Time allowed for one read of every site. @default 60_000 */
  timeoutMs?: number;
}

/** A handler for one mirror name (already percent-decoded). */
export function historyRoute(source: HistorySource, opts: HistoryRouteOptions = {}): (name: string) => Promise<Body> {
  const { now = () => Date.now(), maxAgeMs = 10_000, timeoutMs = 60_000 } = opts;
  const cache = new Map<string, { at: number; body: Promise<Body> }>();
  const read = async (name: string): Promise<Body> => {
    try {
      const doc = await source(name, AbortSignal.timeout(timeoutMs));
      if (doc === null) return { status: 404, type: JSON_TYPE, text: JSON.stringify({ error: 'not found', message: `no mirror named ${JSON.stringify(redact(name))}; GET /api/v1/mirrors lists them` }) };
      // Redact string by string, as the status document is.
      return { status: 200, type: JSON_TYPE, text: new Payload(JSON.stringify(doc, redactStrings)) };
    } catch (err) {
      return { status: 503, type: JSON_TYPE, text: JSON.stringify({ error: 'history unavailable', message: redact(messageOf(err)) }) };
    }
  };
  return (name) => {
    const t = now();
    for (const [k, v] of cache) if (t - v.at > maxAgeMs) cache.delete(k);
    let entry = cache.get(name);
    if (!entry) cache.set(name, (entry = { at: t, body: read(name) }));
    return entry.body;
  };
}
