/**
 * `npm run bench:events [-- --quick] [-- --count N] [-- --out FILE]`: how fast events get out.
 * For each sink type, against real receivers on loopback (the signature-checking webhook receiver
 * of testkit/, a RabbitMQ started from Debian's package with a rhea consumer):
 * - throughput: N events emitted at once, events per second until the last one is received;
 * - delay: events emitted one every 10 ms, emit() to receipt, p50/p99/max; target p99 ≤ 1 s;
 * - emit() cost on the caller: µs per call and CPU seconds of this process, including a dead sink.
 * Receivers run in this process too, so CPU figures cover both ends.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import rhea from 'rhea';
import type { EventContext } from 'rhea';
import { UsageError, messageOf } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { fromAmqpMessage } from '../events/amqp-binding.js';
import { createEventBus } from '../events/bus.js';
import type { EventBus } from '../events/bus.js';
import { syncStarted } from '../events/build.js';
import type { EventSinkSpec } from '../spec/event-sink.js';
import { startEventReceiver } from '../testkit/event-receiver.js';
import { rabbitmqMissing, startRabbitMQ } from '../testkit/rabbitmq.js';
import { intOption } from './options.js';

/** The target for emit → consumer on loopback. */
export const TARGET_DELAY_P99_MS = 1000;
const KEY = 'bench-hmac-key';

interface Run {
  sink: string;
  count: number;
  events_per_s: number;
  throughput_cpu_s: number;
  delay_ms: { p50: number; p99: number; max: number; samples: number };
  dropped: number;
}

function spec(name: string, more: Partial<EventSinkSpec>, queueSize: number): EventSinkSpec {
  return { name, labels: {}, events: { minSeverity: 'info' }, queueSize, position: { file: 'bench', line: 1, column: 1 }, ...more };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const cpuS = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** A receiver of one sink type: records arrival times keyed by the `reason` each event carries. */
interface Receiver {
  arrivals: Map<string, number>;
  close(): Promise<void> | void;
}

/** Arrival times by key, and a wait that wakes on the arrival itself (no polling loop adding CPU). */
function arrivalLog(): { arrivals: Map<string, number>; arrived(key: string, at: number): void; waitFor(key: string, timeoutMs: number, what: string): Promise<void> } {
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  return {
    arrivals,
    arrived(key, at) {
      arrivals.set(key, at);
      waiters.get(key)?.();
    },
    waitFor(key, timeoutMs, what) {
      if (arrivals.has(key)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${what}: event ${key} not received within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(key, () => (clearTimeout(timer), resolve()));
      });
    },
  };
}

async function measure(name: string, bus: EventBus, rx: Receiver & { log: ReturnType<typeof arrivalLog> }, count: number, samples: number): Promise<Run> {
  const waitFor = (key: string, timeoutMs: number) => rx.log.waitFor(key, timeoutMs, name);
  // Warm-up: connections open, JIT warm.
  for (let i = 0; i < 50; i++) bus.emit(syncStarted({ mirror: 'm', site: 's', reason: `w${i}` }));
  await waitFor('w49', 60_000);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) bus.emit(syncStarted({ mirror: 'm', site: 's', reason: `t${i}` }));
  await waitFor(`t${count - 1}`, 300_000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuS(process.cpuUsage(cpu0));

  const emitted = new Map<string, number>();
  for (let i = 0; i < samples; i++) {
    const key = `d${i}`;
    emitted.set(key, performance.now());
    bus.emit(syncStarted({ mirror: 'm', site: 's', reason: key }));
    await new Promise((r) => setTimeout(r, 10));
  }
  await waitFor(`d${samples - 1}`, 60_000);
  const delays = [...emitted].map(([k, t]) => rx.arrivals.get(k)! - t).sort((a, b) => a - b);
  await bus.close({ deadline: new Date(Date.now() + 5000) });
  const s = bus.stats()[0]!;
  const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
  await rx.close();
  return {
    sink: name,
    count,
    events_per_s: Math.round(count / elapsed),
    throughput_cpu_s: round(cpu, 2),
    delay_ms: { p50: round(pct(delays, 50)), p99: round(pct(delays, 99)), max: round(delays[delays.length - 1]!), samples },
    dropped,
  };
}

async function httpRun(mode: 'binary' | 'structured', count: number, samples: number): Promise<Run> {
  const log = arrivalLog();
  const rx = await startEventReceiver({ key: KEY, onEvent: (e) => log.arrived(String((e.event.data as { reason: string }).reason), e.at) });
  const bus = createEventBus([spec('hook', { http: { url: rx.url, mode, headers: {}, timeoutMs: 10_000, maxAttempts: 5, secret: { env: 'K' } } }, count + 100)], { log: silentLogger, env: { K: KEY }, source: 'pulpdist://bench' });
  return measure(`http ${mode}`, bus, { arrivals: log.arrivals, log, close: () => rx.close() }, count, samples);
}

async function amqpRun(url: string, mode: 'binary' | 'structured', count: number, samples: number): Promise<Run> {
  const address = `/queue/pulpdist-bench-${mode}`;
  const log = arrivalLog();
  const u = new URL(url);
  const conn = rhea.create_container({ id: `bench-consumer-${mode}` }).connect({ host: u.hostname, port: Number(u.port), username: 'guest', password: 'guest', reconnect: false });
  // The broker may go before the consumer's close is answered: no unhandled 'error' then.
  for (const ev of ['error', 'connection_error', 'disconnected']) conn.on(ev, () => {});
  conn.open_receiver({ source: { address }, credit_window: 1000 });
  conn.on('message', (ctx: EventContext) => {
    const e = fromAmqpMessage(ctx.message!);
    log.arrived(String((e.data as { reason: string }).reason), performance.now());
  });
  const bus = createEventBus([spec('bus', { amqp: { url, address, mode, username: 'guest', password: { env: 'P' } } }, count + 100)], { log: silentLogger, env: { P: 'guest' }, source: 'pulpdist://bench' });
  return measure(`amqp ${mode}`, bus, { arrivals: log.arrivals, log, close: () => void conn.close() }, count, samples);
}

/** emit() as the controller sees it: µs per call into a matching but dead sink (connections refused). */
function emitCost(calls: number): { us_per_emit: number; cpu_s: number } {
  const bus = createEventBus([spec('dead', { http: { url: 'http://127.0.0.1:9/x', mode: 'binary', headers: {}, timeoutMs: 1000, maxAttempts: 3 } }, 1000)], { log: silentLogger, source: 'pulpdist://bench' });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) bus.emit(syncStarted({ mirror: 'm', site: 's', reason: `x${i}` }));
  const us = ((performance.now() - t0) * 1000) / calls;
  const cpu = cpuS(process.cpuUsage(cpu0));
  void bus.close({ deadline: new Date() });
  return { us_per_emit: round(us, 2), cpu_s: round(cpu, 2) };
}

const USAGE = `usage: npm run bench:events [-- --quick] [-- --count N] [-- --out FILE]
  --quick      1,000 events per sink instead of 10,000, 50 delay samples instead of 200
  --only KIND  http or amqp: one sink type only
  --count N    events per throughput run
  --out FILE   also write the figures as JSON`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, only: { type: 'string' }, count: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const quick = values.quick === true;
  const count = intOption('count', values.count, quick ? 1000 : 10_000);
  const samples = quick ? 50 : 200;
  if (values.only !== undefined && values.only !== 'http' && values.only !== 'amqp') throw new UsageError(`--only must be http or amqp, got ${values.only}`);
  const runs: Run[] = [];
  for (const mode of values.only === 'amqp' ? [] : (['binary', 'structured'] as const)) {
    process.stderr.write(`bench:events: http ${mode}, ${count} events…\n`);
    runs.push(await httpRun(mode, count, samples));
  }
  const missing = values.only === 'http' ? 'not asked for (--only http)' : rabbitmqMissing();
  if (missing) process.stderr.write(`bench:events: no AMQP runs: ${missing}\n`);
  else {
    process.stderr.write('bench:events: starting RabbitMQ…\n');
    const broker = await startRabbitMQ();
    try {
      for (const mode of ['binary', 'structured'] as const) {
        process.stderr.write(`bench:events: amqp ${mode}, ${count} events…\n`);
        runs.push(await amqpRun(broker.url, mode, count, samples));
      }
    } finally {
      await broker.close();
    }
  }
  const cost = emitCost(quick ? 20_000 : 100_000);
  const rows: string[][] = [
    ['sink', 'events/s', 'CPU s (both ends)', 'delay p50 / p99 / max ms', `p99 ≤ ${TARGET_DELAY_P99_MS} ms`, 'dropped'],
    ...runs.map((r) => [r.sink, String(r.events_per_s), String(r.throughput_cpu_s), `${r.delay_ms.p50} / ${r.delay_ms.p99} / ${r.delay_ms.max}`, r.delay_ms.p99 <= TARGET_DELAY_P99_MS ? 'met' : 'NOT met', String(r.dropped)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  process.stdout.write(rows.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
  process.stdout.write(`emit() into a dead sink: ${cost.us_per_emit} µs per call (${cost.cpu_s} CPU s for ${quick ? 20_000 : 100_000} calls)\n`);
  if (values.out) await writeFile(values.out, JSON.stringify({ target_delay_p99_ms: TARGET_DELAY_P99_MS, runs, emit: cost }, null, 2) + '\n');
  return runs.every((r) => r.delay_ms.p99 <= TARGET_DELAY_P99_MS && r.dropped === 0) ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench:events: error: ${messageOf(err)}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}
