/**
 * "Bytes the origin served": the embedded site's content-app counter, read from its
 * `/pulpdist/metrics` text endpoint (docs/site.md). It counts response bodies of the content app
 * (the files and PULP_MANIFESTs the leaves download), not HTTP headers or API JSON.
 */
import { PulpdistError } from '../core/errors.js';

/** The metrics endpoint did not answer or had no served-bytes counter. */
export class ServedBytesError extends PulpdistError {
  constructor(
    message: string,
    readonly url: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** The counter's name in the site's Prometheus text (site/server.ts). */
export const SERVED_BYTES_METRIC = 'pulpdist_site_content_bytes_served_total';

/** The served-bytes sample in a metrics text, or null when there is none. */
export function parseServedBytes(text: string): number | null {
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name === SERVED_BYTES_METRIC && value !== undefined && Number.isFinite(Number(value))) return Number(value);
  }
  return null;
}

/** Bytes the site at `siteUrl` has served from its content app since it started. */
export async function servedBytes(siteUrl: string, opts: { signal: AbortSignal }): Promise<number> {
  const url = `${siteUrl.replace(/\/+$/, '')}/pulpdist/metrics`;
  let text: string;
  try {
    const res = await fetch(url, { signal: opts.signal });
    text = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    if (opts.signal.aborted) throw err;
    throw new ServedBytesError(`cannot read ${url}: ${(err as Error).message}`, url, { cause: err });
  }
  const n = parseServedBytes(text);
  if (n === null) throw new ServedBytesError(`${url} has no content bytes-served counter`, url);
  return n;
}
