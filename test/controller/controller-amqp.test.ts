/**
 * The controller's events on the bus, end to end (issue 19): `pulpdist run` (a child process) with
 * an AMQP EventSink in the spec repository (a real Git server) sending to a real RabbitMQ started
 * by the test, over two real embedded sites, and a consumer on the broker. A pushed mirror gives
 * the consumer, in order: sync.started and sync.succeeded at the origin, then at the leaf, then
 * tree.propagated. With the broker stopped, a pushed mirror still converges (the pass never waits
 * for a sink), its events wait in the sink's queue (/metrics says so) and reach the consumer, in
 * order, once the broker is back. A second sink, an HTTP receiver that answers 500 to everything,
 * is retried and then counted as dropped in /metrics, and slows nothing. An invalid commit is
 * announced once as spec.rejected with its problems' positions.
 * Skipped, with a message, where RabbitMQ is not installed (.ci/run installs it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { startEventReceiver, type EventReceiver } from '../../testkit/event-receiver.js';
import { commitAndPush, makeRepo, startGitServer, writeFiles, type RunningGitServer } from '../../testkit/git-server.js';
import { consumeEvents, rabbitmqMissing, startRabbitMQ, type Broker, type EventConsumer } from '../../testkit/rabbitmq.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

const ADDRESS = '/queue/pulpdist-controller-events';
const missing = rabbitmqMissing();
let cleanup: () => Promise<void> = async () => {};
let git: RunningGitServer | undefined;
let broker: Broker | undefined;
let consumer: EventConsumer | undefined;
let failing: EventReceiver | undefined;
const sites: RunningSite[] = [];
let ctl: ControllerProcess | undefined;
let work = '';
let trees = '';

test.before(async () => {
  if (missing) {
    console.log(`skipping the controller's AMQP events test: ${missing}`);
    return;
  }
  const t = await tempDir('pulpdist-ctl-amqp-');
  cleanup = t.cleanup;
  trees = path.join(t.dir, 'trees');
  broker = await startRabbitMQ();
  consumer = consumeEvents(broker.url, ADDRESS);
  failing = await startEventReceiver({ answer: () => 500 });
  sites.push(await startSite({ dataDir: path.join(t.dir, 'origin'), allowedImportPaths: [trees] }));
  sites.push(await startSite({ dataDir: path.join(t.dir, 'leaf') }));
  ({ work } = makeRepo(t.dir, 'specs', {
    'sites.yaml': `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: origin}\nspec:\n  pulp: {url: "${sites[0]!.url}"}\n---\napiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: leaf}\nspec:\n  pulp: {url: "${sites[1]!.url}"}\n  upstream: origin\n`,
    'sinks.yaml': [
      'apiVersion: pulpdist/v1', 'kind: EventSink', 'metadata: {name: bus}', 'spec:', '  queueSize: 50',
      `  amqp: {url: "${broker.url}", address: "${ADDRESS}", username: guest, passwordEnv: AMQP_PASSWORD}`, '---',
      'apiVersion: pulpdist/v1', 'kind: EventSink', 'metadata: {name: broken}', 'spec:', '  events: {types: [org.pulpdist.sync.started]}',
      `  http: {url: "${failing.url}/", maxAttempts: 2}`, '',
    ].join('\n'),
  }));
  git = await startGitServer(t.dir);
  ctl = await startControllerProcess(['--repo', `${git.url}/specs.git`, '--interval', '2s', '--state-dir', path.join(t.dir, 'state')], { env: { AMQP_PASSWORD: 'guest' } });
});

test.after(async () => {
  consumer?.close();
  await ctl?.kill().catch(() => undefined);
  await git?.close();
  await failing?.close();
  for (const s of sites) await s.stop().catch(() => undefined);
  await broker?.close();
  await cleanup();
});

async function status(): Promise<StatusDocument> {
  return (await (await fetch(`${ctl!.url}/api/v1/status`)).json()) as StatusDocument;
}

async function metrics(): Promise<string> {
  return (await fetch(`${ctl!.url}/metrics`)).text();
}

/** The value of one series in /metrics, or undefined when absent. */
function series(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out: ${what}\nconsumer: ${JSON.stringify(seen())}\n${ctl!.log().split('\n').filter((l) => !l.startsWith('INFO  pass ')).join('\n').slice(-3000)}`);
}

/** The consumer's events, repeats (same id: at least once) dropped, as `type subject`. */
function seen(): string[] {
  const ids = new Set<unknown>();
  return consumer!.events.filter((e) => !ids.has(e.id) && ids.add(e.id)).map((e) => `${String(e.type).replace('org.pulpdist.', '')} ${String(e.subject ?? '')}`);
}
const about = (mirror: string) => seen().filter((t) => t.endsWith(` ${mirror}`) || t.includes(` ${mirror}@`));
const inOrder = (m: string) => [`sync.started ${m}@origin`, `sync.succeeded ${m}@origin`, `sync.started ${m}@leaf`, `sync.succeeded ${m}@leaf`, `tree.propagated ${m}`];

function pushMirror(name: string): string {
  const tree = path.join(trees, name);
  mkdirSync(tree, { recursive: true });
  for (let i = 0; i < 3; i++) writeFileSync(path.join(tree, `f${i}.txt`), `${name} file ${i}\n`.repeat(40));
  writeFiles(work, { [`mirrors/${name}.yaml`]: `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: ${name}}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, leaf]\n` });
  return commitAndPush(work, `add ${name}`);
}

const converged = (name: string, commit: string) => async (): Promise<true | undefined> => {
  const d = await status();
  const m = d.mirrors.find((x) => x.name === name);
  return d.controller.observedCommit === commit && m?.sites.length === 2 && m.sites.every((c) => c.state === 'Synced') ? true : undefined;
};

test('a pushed mirror: the consumer on the bus gets started/succeeded at each site in order, then propagated; the failing webhook is retried, then counted as dropped', async () => {
  if (!broker) return;
  await until('the first pass', async () => ((await status()).controller.observedCommit ? true : undefined));
  const commit = pushMirror('tools');
  await until('tools propagated on the bus', async () => (about('tools').length >= 5 ? true : undefined));
  assert.equal(about('tools'), inOrder('tools'));
  await until('tools Synced at both sites', converged('tools', commit));
  const syncs = consumer!.events.filter((e) => e.type === 'org.pulpdist.sync.succeeded');
  for (const e of syncs) assert.match(String((e.data as { task?: string }).task), /^\/pulp\/api\/v3\/tasks\//);
  // The HTTP sink got only sync.started (its filter), answered 500, tried twice each, dropped both.
  const m = await until('the webhook\'s drops counted', async () => {
    const text = await metrics();
    return (series(text, 'pulpdist_events_dropped_total', 'sink="broken",kind="http",reason="failed"') ?? 0) >= 2 ? text : undefined;
  });
  assert.is(series(m, 'pulpdist_events_dropped_total', 'sink="broken",kind="http",reason="failed"'), 2);
  assert.is(series(m, 'pulpdist_events_retries_total', 'sink="broken",kind="http"'), 2);
  assert.is(series(m, 'pulpdist_events_delivered_total', 'sink="broken",kind="http"'), 0);
  assert.is(failing!.requests, 4, 'two sync.started events, two attempts each');
  assert.ok((series(m, 'pulpdist_events_delivered_total', 'sink="bus",kind="amqp"') ?? 0) >= 5);
  assert.is(series(m, 'pulpdist_event_sink_up', 'sink="bus",kind="amqp"'), 1);
});

test('the broker stopped: a pushed mirror converges all the same, its events wait in the queue and arrive in order after the restart', async () => {
  if (!broker) return;
  await broker.stop();
  await until('the sink noticed the broker is gone', async () => (series(await metrics(), 'pulpdist_event_sink_up', 'sink="bus",kind="amqp"') === 0 ? true : undefined));
  const commit = pushMirror('more');
  // The pass does not wait for the bus: the mirror is Synced everywhere while the broker is down.
  await until('more Synced at both sites with the broker down', converged('more', commit));
  await until('the propagated event queued', async () => ((series(await metrics(), 'pulpdist_event_sink_queued', 'sink="bus",kind="amqp"') ?? 0) >= 5 ? true : undefined));
  assert.equal(about('more'), [], 'nothing reached the consumer while the broker was down');
  const down = await metrics();
  assert.is(series(down, 'pulpdist_events_dropped_total', 'sink="bus",kind="amqp",reason="overflow"'), 0, 'within the bound: nothing dropped');
  await broker.start();
  await until('more on the bus after the restart', async () => (about('more').length >= 5 ? true : undefined));
  assert.equal(about('more'), inOrder('more'));
  const up = await until('the sink up again, its queue empty', async () => {
    const text = await metrics();
    return series(text, 'pulpdist_event_sink_up', 'sink="bus",kind="amqp"') === 1 && series(text, 'pulpdist_event_sink_queued', 'sink="bus",kind="amqp"') === 0 ? text : undefined;
  });
  assert.ok((series(up, 'pulpdist_events_delivered_total', 'sink="bus",kind="amqp"') ?? 0) >= 10);
});

test('an invalid commit: spec.rejected on the bus, each problem at file:line:column; the commit in force stays', async () => {
  if (!broker) return;
  const before = (await status()).controller.observedCommit;
  writeFiles(work, { 'mirrors/bad.yaml': `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: bad}\nspec:\n  source: {path: ${trees}}\n  origin: origin\n  sites: [origin, nowhere]\n` });
  const bad = commitAndPush(work, 'a mirror at a site that does not exist');
  await until('spec.rejected on the bus', async () => (consumer!.events.some((e) => e.type === 'org.pulpdist.spec.rejected') ? true : undefined));
  const rejected = consumer!.events.filter((e) => e.type === 'org.pulpdist.spec.rejected');
  assert.is(rejected.length, 1);
  const e = rejected[0]!;
  assert.equal([e.subject, e.severity], [bad, 'error']);
  const data = e.data as { commit: string; appliedCommit?: string; problems: { file: string; line: number; column: number; severity: string; rule: string; message: string }[] };
  assert.equal([data.commit, data.appliedCommit], [bad, before]);
  // Every problem of the commit, with its severity: the error, and the unsigned webhook's warning.
  assert.equal(data.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.severity} ${p.rule}`), ['mirrors/bad.yaml:7:19 error unknown-site', 'sinks.yaml:13:3 warning unsigned-events']);
  assert.match(data.problems[0]!.message, /nowhere/);
  // Not applied: the last valid commit stays in force, and later passes do not announce it again.
  const passed = (await status()).controller.lastPass?.finishedAt;
  await until('another pass', async () => ((await status()).controller.lastPass?.finishedAt !== passed ? true : undefined));
  assert.is((await status()).controller.observedCommit, before);
  assert.is(consumer!.events.filter((x) => x.type === 'org.pulpdist.spec.rejected').length, 1);
});

test.run();
