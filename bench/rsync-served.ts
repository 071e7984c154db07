/**
 * "Bytes the origin served": the embedded site's content-app counter, read from its
 * `/pulpdist/metrics` text endpoint (docs/site.md). It counts response bodies of the content app
 * (the files and PULP_MANIFESTs the leaves download), not HTTP headers or API JSON. Read with it:
 * the count of blob opens and reads that waited for the disk, which explains a costly run.
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

/** Opens and reads of blobs that waited for the disk (site/blob-reads.ts): a run's upstream whose data was not all in memory. */
export const SLOW_READS_METRIC = 'pulpdist_site_content_slow_reads_total';

/** The served-bytes sample in a metrics text, or null when there is none. */
export function parseServedBytes(text: string): number | null {
  return parseCounter(text, SERVED_BYTES_METRIC);
}

/** The sample of counter `metric` in a text of `name value` lines (metrics, /proc/vmstat), or null when there is none. */
export function parseCounter(text: string, metric: string): number | null {
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name === metric && value !== undefined && Number.isFinite(Number(value))) return Number(value);
  }
  return null;
}

/** The counters a run reads before and after: bytes served, and blob calls that waited for the disk (0 where the site has no such counter). */
export async function originCounters(siteUrl: string, opts: { signal: AbortSignal }): Promise<{ served: number; slowReads: number }> {
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
  return { served: n, slowReads: parseCounter(text, SLOW_READS_METRIC) ?? 0 };
}
