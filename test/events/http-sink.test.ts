/**
 * The webhook sink against a real local receiver: signatures (binary and structured), order,
 * retries on 5xx/429 and none on other 4xx, the bounded queue dropping its oldest, a dead sink
 * that never holds up emit() and is abandoned at close's deadline, filters and fan-out.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Ajv } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../core/logger.js';
import { SCHEMA_DIR } from '../../core/paths.js';
import { createEventBus } from '../../events/bus.js';
import type { EventBusOptions } from '../../events/bus.js';
import { passFailed, siteHealth, syncStarted, syncSucceeded } from '../../events/build.js';
import type { EventSinkSpec, HttpSinkSpec } from '../../spec/event-sink.js';
import { startEventReceiver } from '../../testkit/event-receiver.js';

const KEY = 'k3y-for-the-webhook-test';
const validate = new Ajv({ strict: true, strictRequired: false }).compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'event.schema.json'), 'utf8')) as object);

function sink(name: string, http: Partial<HttpSinkSpec> & { url: string }, more: Partial<EventSinkSpec> = {}): EventSinkSpec {
  return {
    name,
    labels: {},
    events: { minSeverity: 'info' },
    queueSize: 100,
    http: { mode: 'binary', headers: {}, timeoutMs: 2000, maxAttempts: 3, secret: { env: 'HOOK_KEY' }, ...http },
    position: { file: 'sinks.yaml', line: 1, column: 1 },
    ...more,
  };
}

function options(lines: string[] = []): EventBusOptions {
  return {
    log: createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l) }),
    source: 'pulpdist://test-controller',
    env: { HOOK_KEY: KEY },
    retry: { baseMs: 5, maxMs: 20 },
  };
}

const started = (i: number) => syncStarted({ mirror: 'm1', site: 'hub', reason: `n=${i}` });
const reasonOf = (e: { event: Record<string, unknown> }) => (e.event.data as { reason?: string }).reason;

for (const mode of ['binary', 'structured'] as const) {
  test(`${mode}: signed events arrive in order, valid against the schema`, async () => {
    const rx = await startEventReceiver({ key: KEY });
    const lines: string[] = [];
    const bus = createEventBus([sink('hook', { url: rx.url, mode, headers: { 'X-Team': 'releng' } })], options(lines));
    try {
      for (let i = 1; i <= 5; i++) bus.emit(started(i));
      bus.emit(syncSucceeded({ mirror: 'm1', site: 'hub', treeDigest: 'a'.repeat(64), bytes: 10, files: 1, durationMs: 3 }));
      await rx.waitFor(6);
      assert.is(rx.badSignatures, 0);
      assert.equal(rx.events.map((e) => e.mode), Array(6).fill(mode));
      assert.ok(rx.events.every((e) => e.signed));
      assert.equal(rx.events.slice(0, 5).map(reasonOf), ['n=1', 'n=2', 'n=3', 'n=4', 'n=5']);
      const last = rx.events[5]!.event;
      assert.is(last.type, 'org.pulpdist.sync.succeeded');
      assert.is(last.subject, 'm1@hub');
      assert.is(last.source, 'pulpdist://test-controller');
      for (const e of rx.events) assert.ok(validate(e.event), JSON.stringify(validate.errors));
      await bus.close();
      const [s] = bus.stats();
      assert.equal({ accepted: s!.accepted, delivered: s!.delivered, retries: s!.retries, queued: s!.queued }, { accepted: 6, delivered: 6, retries: 0, queued: 0 });
    } finally {
      await bus.close();
      await rx.close();
    }
    assert.not.ok(lines.join('\n').includes(KEY), 'the key never appears in a log line');
  });
}

test('a wrong key is refused by the receiver (401): not retried, counted as rejected', async () => {
  const rx = await startEventReceiver({ key: 'another-key-entirely' });
  const bus = createEventBus([sink('hook', { url: rx.url })], options());
  try {
    bus.emit(started(1));
    await bus.close({ deadline: new Date(Date.now() + 5000) });
    assert.is(rx.requests, 1);
    assert.is(rx.badSignatures, 1);
    const [s] = bus.stats();
    assert.is(s!.dropped.rejected, 1);
    assert.is(s!.delivered, 0);
    assert.ok(s!.lastError?.includes('HTTP 401'), s!.lastError);
  } finally {
    await rx.close();
  }
});

test('500 on every attempt: retried maxAttempts times, then dropped as failed; the next event goes through', async () => {
  const rx = await startEventReceiver({ key: KEY, answer: (n) => (n <= 3 ? 500 : 204) });
  const bus = createEventBus([sink('hook', { url: rx.url, maxAttempts: 3 })], options());
  try {
    bus.emit(started(1));
    bus.emit(started(2));
    await rx.waitFor(1);
    assert.is(rx.requests, 4);
    assert.equal(rx.events.map(reasonOf), ['n=2']);
    await bus.close();
    const [s] = bus.stats();
    assert.equal({ delivered: s!.delivered, failed: s!.dropped.failed, retries: s!.retries }, { delivered: 1, failed: 1, retries: 2 });
    assert.is(s!.lastError, undefined, 'a success clears the last error');
  } finally {
    await rx.close();
  }
});

test('503 then 429 then 204: delivered after two retries; 404 is final at once', async () => {
  const answers = [503, 429, 204, 404, 204];
  const rx = await startEventReceiver({ key: KEY, answer: (n) => answers[n - 1] ?? 204 });
  const bus = createEventBus([sink('hook', { url: rx.url, maxAttempts: 5 })], options());
  try {
    bus.emit(started(1));
    bus.emit(started(2));
    bus.emit(started(3));
    await rx.waitFor(2);
    assert.equal(rx.events.map(reasonOf), ['n=1', 'n=3']);
    assert.is(rx.requests, 5);
    await bus.close();
    const [s] = bus.stats();
    assert.equal({ delivered: s!.delivered, rejected: s!.dropped.rejected, retries: s!.retries }, { delivered: 2, rejected: 1, retries: 2 });
  } finally {
    await rx.close();
  }
});

test('a full queue drops its oldest events and counts them', async () => {
  const rx = await startEventReceiver({ key: KEY });
  const bus = createEventBus([sink('hook', { url: rx.url }, { queueSize: 10 })], options());
  try {
    for (let i = 1; i <= 50; i++) bus.emit(started(i));
    // emit() is synchronous: the first event left the queue for the wire at once, the queue kept the newest ten.
    const [s] = bus.stats();
    assert.equal({ queued: s!.queued, inFlight: s!.inFlight, overflow: s!.dropped.overflow, accepted: s!.accepted }, { queued: 10, inFlight: 1, overflow: 39, accepted: 50 });
    await rx.waitFor(11);
    assert.equal(rx.events.map(reasonOf), ['n=1', ...Array.from({ length: 10 }, (_, i) => `n=${41 + i}`)]);
  } finally {
    await bus.close();
    await rx.close();
  }
});

test('a dead sink never holds up emit(); close gives up at its deadline and counts what is left', async () => {
  const rx = await startEventReceiver();
  const url = rx.url;
  await rx.close(); // nothing listens there any more: connections are refused
  const bus = createEventBus([sink('dead', { url, maxAttempts: 20 }, { queueSize: 500 })], { ...options(), retry: { baseMs: 50, maxMs: 200 } });
  for (let i = 1; i <= 1000; i++) bus.emit(started(i));
  let s = bus.stats()[0]!;
  // One event is on the wire (retrying), the queue holds the newest 500 behind it.
  assert.equal({ queued: s.queued, inFlight: s.inFlight, overflow: s.dropped.overflow }, { queued: 500, inFlight: 1, overflow: 499 });
  const reports = await bus.close({ deadline: new Date(Date.now() + 300) });
  assert.equal(reports, [{ sink: 'dead', delivered: 0, abandoned: 501 }]);
  s = bus.stats()[0]!;
  assert.is(s.dropped.closed, 501);
  assert.is(s.up, false);
  assert.ok(s.lastError?.includes('ECONNREFUSED'), s.lastError);
  bus.emit(started(1001));
  assert.is(bus.stats()[0]!.dropped.closed, 502, 'an event after close is counted, not sent');
});

test('a receiver that never answers: each attempt times out, then the event is dropped as failed', async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((sock) => sockets.add(sock)); // accepts, reads nothing, answers nothing
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  const bus = createEventBus([sink('slow', { url: `http://127.0.0.1:${port}/x`, timeoutMs: 100, maxAttempts: 2 })], options());
  try {
    bus.emit(started(1));
    await bus.close({ deadline: new Date(Date.now() + 10_000) });
    const [s] = bus.stats();
    assert.equal({ failed: s!.dropped.failed, retries: s!.retries, delivered: s!.delivered }, { failed: 1, retries: 1, delivered: 0 });
    assert.is(s!.lastError, `POST http://127.0.0.1:${port}/x: no answer within 100 ms`);
  } finally {
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('filters by type glob, mirror, site and severity; fan-out to every matching sink', async () => {
  const rxAll = await startEventReceiver({ key: KEY });
  const rxSome = await startEventReceiver({ key: KEY });
  const bus = createEventBus(
    [
      sink('all', { url: rxAll.url }),
      sink('some', { url: rxSome.url }, { events: { types: ['org.pulpdist.sync.*', 'org.pulpdist.pass.failed'], mirrors: ['fedora-*'], sites: ['hub'], minSeverity: 'info' } }),
    ],
    options(),
  );
  try {
    bus.emit(syncStarted({ mirror: 'fedora-40', site: 'hub' })); // both
    bus.emit(syncStarted({ mirror: 'centos-9', site: 'hub' })); // all: mirror filtered
    bus.emit(syncStarted({ mirror: 'fedora-40', site: 'leaf' })); // all: site filtered
    bus.emit(siteHealth('unreachable', { site: 'hub' })); // all: type filtered
    bus.emit(passFailed({ reason: 'boom' })); // both: names no mirror or site
    await rxAll.waitFor(5);
    await rxSome.waitFor(2);
    await bus.close();
    assert.equal(rxSome.events.map((e) => `${e.event.type} ${e.event.subject ?? ''}`), ['org.pulpdist.sync.started fedora-40@hub', 'org.pulpdist.pass.failed ']);
    assert.is(rxAll.events.length, 5);
    assert.is(rxAll.events[0]!.event.id, rxSome.events[0]!.event.id, 'one event, stamped once, to both sinks');
  } finally {
    await rxAll.close();
    await rxSome.close();
  }
});

test('minSeverity warning lets warnings and errors through only', async () => {
  const rx = await startEventReceiver({ key: KEY });
  const bus = createEventBus([sink('hook', { url: rx.url }, { events: { minSeverity: 'warning' } })], options());
  try {
    bus.emit(siteHealth('reachable', { site: 'hub' }));
    bus.emit(siteHealth('degraded', { site: 'hub' }));
    bus.emit(siteHealth('unreachable', { site: 'hub' }));
    await bus.close();
    assert.equal(rx.events.map((e) => e.event.type), ['org.pulpdist.site.degraded', 'org.pulpdist.site.unreachable']);
  } finally {
    await rx.close();
  }
});

test('a missing HMAC key: the sink is not started, says which variable, and counts its events as dropped', async () => {
  const lines: string[] = [];
  const bus = createEventBus([sink('hook', { url: 'http://127.0.0.1:9/x', secret: { env: 'NOT_SET_ANYWHERE' } })], { ...options(lines), env: {} });
  assert.equal(bus.problems, ['EventSink "hook": environment variable NOT_SET_ANYWHERE (spec.http.secretEnv) is not set']);
  bus.emit(started(1));
  const [s] = bus.stats();
  assert.equal({ unconfigured: s!.dropped.unconfigured, up: s!.up }, { unconfigured: 1, up: false });
  assert.ok(lines.some((l) => l.includes('event sink not started') && l.includes('NOT_SET_ANYWHERE')));
  await bus.close();
});

test.run();
