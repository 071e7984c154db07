/**
 * A count of the site's full garbage collections, for /pulpdist/metrics and the sync log line. It
 * is how a regression of the download path shows: when socket reads allocated a Buffer each
 * (node:http), a 1.1 GiB sync ran 113 full mark-compacts; on `http-get.ts` it runs 1 or 2.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';

let majors = 0;
let observer: PerformanceObserver | null = null;

/** Full (mark-compact) collections of this process since the first call. */
export function majorGcCount(): number {
  if (!observer) {
    observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  return majors;
}
