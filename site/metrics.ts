/**
 * The site's own counters at `/pulpdist/metrics`, in Prometheus text through prom-client (as the
 * controller's metrics are): benchmarks and tests read "bytes the origin served" here.
 *
 * The hot paths count into plain numbers (`SiteMetrics`, a field increment per chunk); the
 * counters copy them at scrape time, so serving a file never touches prom-client.
 */
import { Counter, Registry } from 'prom-client';
import type { BlobReads } from './blob-reads.js';
import { majorGcCount } from './gc.js';
import type { SiteMetrics } from './sync.js';

/** A registry of the site's counters, read from `metrics` (and the GC count) on every scrape. */
export function siteRegistry(metrics: SiteMetrics, reads: BlobReads): Registry {
  const registry = new Registry();
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // The value lives in `metrics`; a counter here is its snapshot, never its own tally.
        this.reset();
        this.inc(read());
      },
    });
  };
  counter('pulpdist_site_content_bytes_served_total', 'Bytes of file bodies the content app sent.', () => metrics.contentBytesServed);
  counter('pulpdist_site_content_requests_total', 'Requests to the content app.', () => metrics.contentRequests);
  counter('pulpdist_site_sync_bytes_downloaded_total', 'Bytes syncs received (manifests and files).', () => metrics.syncBytesDownloaded);
  counter('pulpdist_site_sync_files_downloaded_total', 'Files syncs downloaded.', () => metrics.syncFilesDownloaded);
  counter('pulpdist_site_content_slow_reads_total', 'Blob opens and reads that waited for the disk (2 ms or more, with block input); each sends its kind of call to the thread pool for a while.', () => reads.slow);
  counter('pulpdist_site_gc_major_total', 'Full (mark-compact) garbage collections of the site process.', majorGcCount);
  return registry;
}
