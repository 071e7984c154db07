/**
 * `npm run bench:status [-- --quick] [-- --out FILE]`: the status endpoint under load (issue 8
 * item 8). 200 keep-alive clients (autocannon, in a worker thread so that the load generator does
 * not share the server's event loop) poll a mix of routes for 10 s on loopback while the status
 * document is replaced every 100 ms, as it is while a pass runs; a scraper reads /metrics once a
 * second meanwhile. Reports latency (p50/p90/p99/max), requests per second and every non-200 or
 * error; the target is p99 ≤ 100 ms with no error.
 *
 * `runStatusLoad` is also what test/web/status-server-load.test.ts runs.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { UsageError, messageOf } from '../core/errors.js';
import { intOption } from './options.js';
import { silentLogger } from '../core/logger.js';
import type { StatusDocument } from '../core/status.js';
import { formatBytes } from '../core/units.js';
import { createMetrics } from '../web/metrics.js';
import { startStatusServer } from '../web/server.js';
import { largeStatus } from '../testkit/status-fixture.js';

/** The target. */
export const TARGET_P99_MS = 100;

export interface LoadOptions {
  /** Concurrent keep-alive clients. @default 200 */
  connections?: number;
  /** Seconds of load. @default 10 */
  durationS?: number;
  /** Mirrors in the document (× 3 sites each). @default 100 */
  mirrors?: number;
  /** How often the document is replaced. @default 100 */
  replaceEveryMs?: number;
  /** Ask for gzip, as browsers, Prometheus and `curl --compressed` do. @default true */
  gzip?: boolean;
  /** Seconds before a request counts as timed out. @default 10 */
  timeoutS?: number;
}

export interface LoadResult {
  gzip: boolean;
  connections: number;
  duration_s: number;
  mirrors: number;
  requests: number;
  req_per_s: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non_200: number;
  status_codes: Record<string, number>;
  doc_replacements: number;
  metrics_scrapes: number;
  metrics_failures: number;
  bytes_per_s: number;
  /** CPU time of the server's thread (requests, document replacements, scrapes), Linux only, else null. */
  server_cpu_s: number | null;
  /** Server CPU per request: what the server itself costs, however busy the machine is. */
  server_cpu_us_per_request: number | null;
  status_json_bytes: number;
  status_json_gzip_bytes: number;
  page_bytes: number;
}

/**
 * CPU seconds of this process's main thread (the server's; autocannon runs in a worker), from
 * /proc: wall-clock figures (latency, event-loop utilization) depend on what else the machine runs,
 * CPU time per request much less. Null where /proc is not there.
 */
function mainThreadCpuS(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is the 1st, utime the 12th, stime the 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/** The route mix each client cycles through: what dashboards, people and probes ask for. */
const PATHS = ['/api/v1/status', '/', '/api/v1/mirrors/mirror-0007', '/api/v1/sites', '/readyz', '/api/v1/mirrors', '/livez'];

/** Start a server, replace its document on a timer, load it, and stop everything. */
export async function runStatusLoad(options: LoadOptions = {}): Promise<LoadResult> {
  const { connections = 200, durationS = 10, mirrors = 100, replaceEveryMs = 100, gzip = true, timeoutS = 10 } = options;
  let pass = 0;
  // Times fixed at the start: what changes from one document to the next is what a pass changes
  // (states, versions, tasks of a tenth of the mirrors), not every timestamp.
  const base = new Date();
  let doc: StatusDocument = largeStatus(mirrors, base, pass);
  const metrics = createMetrics({ countSyncsSince: new Date(0) });
  const server = await startStatusServer({ listen: '127.0.0.1:0', getStatus: () => doc, isReady: () => true, metrics, log: silentLogger });
  // A pass in progress: a new document object every tick, with states moving on.
  const replacer = setInterval(() => {
    pass++;
    doc = largeStatus(mirrors, base, pass);
    metrics.recordStatus(doc);
  }, replaceEveryMs);
  let scrapes = 0;
  let scrapeFailures = 0;
  const scraper = setInterval(() => {
    fetch(server.url + '/metrics').then(
      async (r) => {
        await r.arrayBuffer();
        if (r.status === 200) scrapes++;
        else scrapeFailures++;
      },
      () => void scrapeFailures++,
    );
  }, 1000);
  try {
    const sizes = await Promise.all(['/api/v1/status', '/'].map(async (p) => Buffer.from(await (await fetch(server.url + p)).arrayBuffer())));
    const cpu0 = mainThreadCpuS();
    const result = await autocannon({
      url: server.url,
      connections,
      duration: durationS,
      workers: 1,
      timeout: timeoutS,
      requests: PATHS.map((path) => ({ method: 'GET', path })),
      headers: gzip ? { 'accept-encoding': 'gzip' } : {},
    });
    const cpu1 = mainThreadCpuS();
    const serverCpu = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
    const codes: Record<string, number> = {};
    for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) codes[code] = v.count ?? 0;
    const non200 = Object.entries(codes).reduce((n, [code, count]) => n + (code === '200' ? 0 : count), 0);
    return {
      gzip,
      connections,
      duration_s: result.duration,
      mirrors,
      requests: result.requests.total,
      req_per_s: result.requests.average,
      latency_ms: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
      errors: result.errors,
      timeouts: result.timeouts,
      non_200: non200,
      status_codes: codes,
      doc_replacements: pass,
      metrics_scrapes: scrapes,
      metrics_failures: scrapeFailures,
      bytes_per_s: result.throughput.average,
      server_cpu_s: serverCpu === null ? null : Math.round(serverCpu * 100) / 100,
      server_cpu_us_per_request: serverCpu === null ? null : Math.round((serverCpu * 1e6) / Math.max(1, result.requests.total)),
      status_json_bytes: sizes[0]!.length,
      status_json_gzip_bytes: gzipSync(sizes[0]!, { level: 4 }).length,
      page_bytes: sizes[1]!.length,
    };
  } finally {
    clearInterval(replacer);
    clearInterval(scraper);
    await server.close();
  }
}

const USAGE = `usage: npm run bench:status [-- --quick] [-- --out FILE] [-- --connections N] [-- --duration S] [-- --mirrors N]

  --quick          50 clients for 3 s (for development)
  --connections N  concurrent clients (default 200)
  --duration S     seconds of load (default 10)
  --mirrors N      mirrors in the status document, × 3 sites (default 100)
  --out FILE       also write the figures as JSON`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean' }, out: { type: 'string' }, connections: { type: 'string' }, duration: { type: 'string' }, mirrors: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const quick = values.quick === true;
  const opts = {
    connections: intOption('connections', values.connections, quick ? 50 : 200),
    durationS: intOption('duration', values.duration, quick ? 3 : 10),
    mirrors: intOption('mirrors', values.mirrors, 100),
  };
  const runs: LoadResult[] = [];
  for (const gzip of [true, false]) {
    process.stderr.write(`bench:status: ${opts.connections} clients for ${opts.durationS} s, ${opts.mirrors} mirrors × 3 sites, document replaced every 100 ms, ${gzip ? 'gzip' : 'no compression'}…\n`);
    runs.push(await runStatusLoad({ ...opts, gzip }));
  }
  const main = runs[0]!;
  const ok = runs.every((r) => r.errors === 0 && r.non_200 === 0 && r.metrics_failures === 0);
  const cols = runs.map((r) => (r.gzip ? 'gzip (browsers, Prometheus)' : 'identity (no Accept-Encoding)'));
  const rows: [string, ...string[]][] = [
    ['', ...cols],
    ['clients × duration', ...runs.map((r) => `${r.connections} × ${r.duration_s} s`)],
    ['requests', ...runs.map((r) => `${r.requests} (${Math.round(r.req_per_s)}/s)`)],
    ['bytes/s on the wire', ...runs.map((r) => `${formatBytes(r.bytes_per_s)}/s`)],
    ['server CPU (its thread), per request', ...runs.map((r) => (r.server_cpu_s === null ? 'n/a' : `${r.server_cpu_s} s, ${r.server_cpu_us_per_request} µs`))],
    ['latency p50 / p90 / p99 / max', ...runs.map((r) => `${r.latency_ms.p50} / ${r.latency_ms.p90} / ${r.latency_ms.p99} / ${r.latency_ms.max} ms`)],
    [`p99 ≤ ${TARGET_P99_MS} ms`, ...runs.map((r) => (r.latency_ms.p99 <= TARGET_P99_MS ? 'met' : 'NOT met'))],
    ['errors / timeouts / non-200', ...runs.map((r) => `${r.errors} / ${r.timeouts} / ${r.non_200}`)],
    ['document replacements', ...runs.map((r) => String(r.doc_replacements))],
    ['/metrics scrapes (1/s)', ...runs.map((r) => `${r.metrics_scrapes} ok, ${r.metrics_failures} failed`)],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  process.stdout.write(rows.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
  process.stdout.write(
    `document: ${main.mirrors} mirrors × 3 sites; /api/v1/status ${formatBytes(main.status_json_bytes)} (gzip ${formatBytes(main.status_json_gzip_bytes)}), page ${formatBytes(main.page_bytes)}; ` +
      `route mix ${PATHS.join(' ')}\n`,
  );
  if (values.out) await writeFile(values.out, JSON.stringify({ target_p99_ms: TARGET_P99_MS, paths: PATHS, runs }, null, 2) + '\n');
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench:status: error: ${messageOf(err)}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}
