/**
 * `npm run bench:event-delay [-- --rounds N] [-- --quick] [-- --out FILE]`: the end-to-end delay
 * issue 19 asks for, from a sync finishing at a site to its `sync.succeeded` event reaching the
 * consumer, with a real `pulpdist run` (bench:events measures only emit() → consumer). A local spec
 * repository (the controller watches its refs), two embedded sites (origin → leaf), an HTTP webhook
 * receiver and a RabbitMQ consumer (Debian's rabbitmq-server, started here; skipped when missing).
 * Each round commits a new mirror, which syncs at both sites; for each `sync.succeeded`:
 * - finished → emit: the event's `time` (stamped at emit) minus the Pulp task's `finished_at`
 *   (read back from the site): how late the controller sees the task end (it polls tasks);
 * - emit → received: arrival at the receiver minus the event's `time`;
 * - finished → received: the sum, the figure with the target (p99 ≤ 1 s on loopback).
 * One machine, one clock: the site, the controller and the receivers read the same time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { messageOf } from '../core/errors.js';
import { tempDir } from '../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../testkit/controller-process.js';
import { startEventReceiver } from '../testkit/event-receiver.js';
import { commitAndPush, makeRepo, writeFiles } from '../testkit/git-server.js';
import { consumeEvents, rabbitmqMissing, startRabbitMQ, type Broker, type EventConsumer } from '../testkit/rabbitmq.js';
import { startSite, type RunningSite } from '../testkit/site.js';
import { benchArgs, intOption } from './options.js';

/** Issue 19's target: a sync finishing → its event at the consumer, on loopback. */
export const TARGET_MS = 1000;
const ADDRESS = '/queue/pulpdist-event-delay';
const USAGE = `usage: npm run bench:event-delay -- [--rounds N (20)] [--quick (5 rounds)] [--leaf-bandwidth RATE (none)] [--out FILE]
  --leaf-bandwidth RATE   the leaf's limits.bandwidth (e.g. 64KiB/s): longer syncs there, polled less often`;

interface Sample {
  sink: 'http' | 'amqp';
  subject: string;
  finishedToEmitMs: number;
  emitToReceivedMs: number;
  totalMs: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (n: number) => Math.round(n * 10) / 10;

async function until(what: string, fn: () => boolean | Promise<boolean>, ms: number, ctl: ControllerProcess): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}\n${ctl.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<number> {
  const values = benchArgs({ rounds: { type: 'string' }, quick: { type: 'boolean' }, 'leaf-bandwidth': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } }, USAGE);
  const leafLimit = values['leaf-bandwidth'] ? `  limits: {bandwidth: ${values['leaf-bandwidth']}}\n` : '';
  const rounds = intOption('rounds', values.rounds, values.quick ? 5 : 20);
  const { dir, cleanup } = await tempDir('pulpdist-bench-event-delay-');
  const sites: RunningSite[] = [];
  let broker: Broker | undefined;
  let consumer: EventConsumer | undefined;
  let ctl: ControllerProcess | undefined;
  const receiver = await startEventReceiver();
  try {
    const missing = rabbitmqMissing();
    if (missing) process.stderr.write(`bench:event-delay: no AMQP sink: ${missing}\n`);
    else {
      process.stderr.write('bench:event-delay: starting RabbitMQ…\n');
      broker = await startRabbitMQ();
      consumer = consumeEvents(broker.url, ADDRESS);
    }
    const trees = path.join(dir, 'trees');
    sites.push(await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [trees] }));
    sites.push(await startSite({ dataDir: path.join(dir, 'leaf') }));
    const sinks = [
      ['apiVersion: pulpdist/v1', 'kind: EventSink', 'metadata: {name: hook}', 'spec:', '  events: {types: [org.pulpdist.sync.succeeded]}', `  http: {url: "${receiver.url}/"}`].join('\n'),
      ...(broker ? [['apiVersion: pulpdist/v1', 'kind: EventSink', 'metadata: {name: bus}', 'spec:', '  events: {types: [org.pulpdist.sync.succeeded]}', `  amqp: {url: "${broker.url}", address: "${ADDRESS}", username: guest, passwordEnv: AMQP_PASSWORD}`].join('\n')] : []),
    ];
    const { bare, work } = makeRepo(dir, 'specs', {
      'sites.yaml': `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: origin}\nspec:\n  pulp: {url: "${sites[0]!.url}"}\n---\napiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: leaf}\nspec:\n  pulp: {url: "${sites[1]!.url}"}\n  upstream: origin\n${leafLimit}`,
      'sinks.yaml': sinks.join('\n---\n') + '\n',
    });
    ctl = await startControllerProcess(['--repo', bare, '--interval', '5m', '--status-branch', '', '--state-dir', path.join(dir, 'state')], { env: { AMQP_PASSWORD: 'guest' } });
    const c = ctl;
    for (let i = 1; i <= rounds; i++) {
      const name = `m${i}`;
      const tree = path.join(trees, name);
      mkdirSync(tree, { recursive: true });
      for (let f = 0; f < 5; f++) writeFileSync(path.join(tree, `f${f}.bin`), `${name} ${f} `.repeat(20_000));
      writeFiles(work, { [`mirrors/${name}.yaml`]: `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: ${name}}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, leaf]\n` });
      commitAndPush(work, `add ${name}`);
      // Two syncs a round (origin, leaf), one sync.succeeded each.
      await until(`round ${i}: both syncs announced`, () => receiver.events.length >= 2 * i && (!consumer || new Set(consumer.events.map((e) => e.id)).size >= 2 * i), 120_000, c);
      process.stderr.write(`bench:event-delay: round ${i}/${rounds}\n`);
    }
    // Task end times, read back from the sites once the rounds are over (not during them).
    const finished = new Map<string, number>();
    const finishedAt = async (e: Record<string, unknown>): Promise<number> => {
      const data = e.data as { site: string; task?: string };
      const key = `${data.site} ${data.task}`;
      if (!finished.has(key)) {
        const site = sites[data.site === 'origin' ? 0 : 1]!;
        const t = (await (await fetch(`${site.url}${data.task}`)).json()) as { finished_at: string };
        finished.set(key, Date.parse(t.finished_at));
      }
      return finished.get(key)!;
    };
    const samples: Sample[] = [];
    const add = async (sink: Sample['sink'], e: Record<string, unknown>, receivedAt: number) => {
      const end = await finishedAt(e);
      const emitted = Date.parse(String(e.time));
      samples.push({ sink, subject: String(e.subject), finishedToEmitMs: emitted - end, emitToReceivedMs: receivedAt - emitted, totalMs: receivedAt - end });
    };
    for (const r of receiver.events) await add('http', r.event, performance.timeOrigin + r.at);
    const ids = new Set<unknown>();
    for (let k = 0; consumer && k < consumer.events.length; k++) {
      const e = consumer.events[k]!;
      if (ids.has(e.id)) continue;
      ids.add(e.id);
      await add('amqp', e, consumer.at[k]!);
    }
    const rows = [['sink', 'samples', 'finished → emit p50 / p99 / max ms', 'emit → received p50 / p99 / max ms', 'finished → received p50 / p99 / max ms', `p99 ≤ ${TARGET_MS} ms`]];
    const summary: Record<string, unknown> = {};
    let met = true;
    for (const sink of ['http', 'amqp'] as const) {
      const of = samples.filter((s) => s.sink === sink);
      if (!of.length) continue;
      const stats = (k: 'finishedToEmitMs' | 'emitToReceivedMs' | 'totalMs') => {
        const sorted = of.map((s) => s[k]).sort((a, b) => a - b);
        return { p50: round(pct(sorted, 50)), p99: round(pct(sorted, 99)), max: round(sorted.at(-1)!) };
      };
      const [a, b, t] = [stats('finishedToEmitMs'), stats('emitToReceivedMs'), stats('totalMs')];
      met &&= t.p99 <= TARGET_MS;
      summary[sink] = { samples: of.length, finished_to_emit_ms: a, emit_to_received_ms: b, finished_to_received_ms: t };
      rows.push([sink, String(of.length), `${a.p50} / ${a.p99} / ${a.max}`, `${b.p50} / ${b.p99} / ${b.max}`, `${t.p50} / ${t.p99} / ${t.max}`, t.p99 <= TARGET_MS ? 'met' : 'NOT met']);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    process.stdout.write(rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
    if (values.out) await writeFile(values.out, JSON.stringify({ target_p99_ms: TARGET_MS, rounds, ...summary, samples }, null, 2) + '\n');
    return met ? 0 : 1;
  } finally {
    consumer?.close();
    await ctl?.stop().catch(() => undefined);
    await receiver.close();
    for (const s of sites) await s.stop().catch(() => undefined);
    await broker?.close();
    await cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench:event-delay: error: ${messageOf(err)}\n`);
      process.exitCode = 1;
    },
  );
}
