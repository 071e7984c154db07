/**
 * The AMQP 1.0 sink against a real RabbitMQ (its AMQP 1.0 plugin) started by the test: a consumer
 * receives a push → sync → propagated sequence in order with the CloudEvents AMQP binding; SASL
 * PLAIN with the password from the environment (a wrong one is reported, never shown); the broker
 * stopped mid-run and restarted → emit() kept returning at once, events waited within the bound
 * and arrived after, the oldest past the bound counted as dropped.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../core/logger.js';
import { SCHEMA_DIR } from '../../core/paths.js';
import { createEventBus } from '../../events/bus.js';
import type { EventBus, EventBusOptions } from '../../events/bus.js';
import { syncStarted, syncSucceeded, treePropagated } from '../../events/build.js';
import type { EventSinkSpec } from '../../spec/event-sink.js';
import { consumeEvents as consume, rabbitmqMissing, startRabbitMQ } from '../../testkit/rabbitmq.js';
import { makeTestCertificate } from '../../testkit/tls-cert.js';
import type { Broker } from '../../testkit/rabbitmq.js';

const missing = rabbitmqMissing();
const validate = new Ajv({ strict: true, strictRequired: false }).compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'event.schema.json'), 'utf8')) as object);
let broker: Broker | undefined;

function sinkSpec(name: string, url: string, address: string, more: Partial<EventSinkSpec['amqp']> = {}, queueSize = 100): EventSinkSpec {
  return {
    name,
    labels: {},
    events: { minSeverity: 'info' },
    queueSize,
    amqp: { url, address, mode: 'binary', username: 'guest', password: { env: 'AMQP_PASSWORD' }, ...more },
    position: { file: 'sinks.yaml', line: 1, column: 1 },
  };
}

function options(lines: string[], password = 'guest'): EventBusOptions {
  return {
    log: createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l) }),
    source: 'pulpdist://amqp-test',
    env: { AMQP_PASSWORD: password },
    reconnect: { initialMs: 100, maxMs: 500 },
  };
}

const digest = 'c'.repeat(64);
const reasonOf = (e: Record<string, unknown>) => (e.data as { reason?: string }).reason;

let certDir: string | undefined;
let certFile = '';

test.before(async () => {
  if (missing) {
    console.log(`skipping the AMQP broker tests: ${missing}`);
    return;
  }
  certDir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-amqp-tls-'));
  certFile = makeTestCertificate(certDir).certFile;
  broker = await startRabbitMQ({ tls: { certFile, keyFile: path.join(certDir, 'tls-key.pem') } });
});

test.after(async () => {
  await broker?.close();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

test('amqps://: delivered over TLS with the CA from caFile; without it the certificate is refused', async () => {
  if (!broker?.tlsUrl) return;
  const address = '/queue/pulpdist-events-tls';
  const consumer = consume(broker.url, address);
  const trusted = createEventBus([sinkSpec('tls', broker.tlsUrl, address, { caFile: certFile })], options([]));
  const untrusted = createEventBus([sinkSpec('no-ca', broker.tlsUrl, '/queue/pulpdist-events-no-ca')], options([]));
  try {
    trusted.emit(syncStarted({ mirror: 'm1', site: 'hub', reason: 'over tls' }));
    untrusted.emit(syncStarted({ mirror: 'm1', site: 'hub', reason: 'never' }));
    await consumer.waitFor(() => consumer.events.length >= 1, 'the TLS event');
    assert.equal(consumer.events.map(reasonOf), ['over tls']);
    const until = Date.now() + 30_000;
    while (untrusted.stats()[0]!.lastError === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const s = untrusted.stats()[0]!;
    assert.equal({ up: s.up, delivered: s.delivered, queued: s.queued }, { up: false, delivered: 0, queued: 1 });
    assert.match(s.lastError!, /certificate/i);
  } finally {
    consumer.close();
    await trusted.close();
    await untrusted.close({ deadline: new Date(Date.now() + 200) });
  }
});

for (const mode of ['binary', 'structured'] as const) {
  test(`${mode}: a push → sync → propagated sequence arrives in order, CloudEvents AMQP binding`, async () => {
    if (!broker) return;
    const address = `/queue/pulpdist-events-${mode}`;
    const consumer = consume(broker.url, address);
    const lines: string[] = [];
    const bus = createEventBus([sinkSpec('bus', broker.url, address, { mode })], options(lines));
    try {
      bus.emit(syncStarted({ mirror: 'm1', site: 'origin', reason: 'new commit' }));
      bus.emit(syncSucceeded({ mirror: 'm1', site: 'origin', treeDigest: digest, bytes: 100, files: 2, durationMs: 40 }));
      bus.emit(syncStarted({ mirror: 'm1', site: 'hub', reason: 'upstream published a new tree' }));
      bus.emit(syncSucceeded({ mirror: 'm1', site: 'hub', treeDigest: digest, bytes: 100, files: 2, durationMs: 30 }));
      bus.emit(treePropagated({ mirror: 'm1', treeDigest: digest, sites: ['origin', 'hub'], propagationMs: 90, firstPublishedAt: '2026-12-05T08:00:00.000Z', completedAt: '2026-12-05T08:00:00.090Z' }));
      await consumer.waitFor(() => consumer.events.length >= 5, '5 events');
      assert.equal(
        consumer.events.map((e) => `${e.type} ${e.subject}`),
        ['org.pulpdist.sync.started m1@origin', 'org.pulpdist.sync.succeeded m1@origin', 'org.pulpdist.sync.started m1@hub', 'org.pulpdist.sync.succeeded m1@hub', 'org.pulpdist.tree.propagated m1'],
      );
      for (const e of consumer.events) assert.ok(validate(e), JSON.stringify(validate.errors));
      const first = consumer.raw[0]!;
      if (mode === 'binary') {
        assert.is(first.content_type, 'application/json');
        assert.is(first.application_properties?.cloudEvents_type, 'org.pulpdist.sync.started');
        assert.is(first.application_properties?.cloudEvents_specversion, '1.0');
        assert.ok(first.application_properties?.cloudEvents_time instanceof Date, 'time travels as an AMQP timestamp');
      } else {
        assert.ok(String(first.content_type).startsWith('application/cloudevents+json'));
        assert.is(first.application_properties, undefined);
      }
      await bus.close();
      const [s] = bus.stats();
      assert.equal({ delivered: s!.delivered, queued: s!.queued, inFlight: s!.inFlight }, { delivered: 5, queued: 0, inFlight: 0 });
    } finally {
      consumer.close();
      await bus.close();
    }
    assert.not.ok(lines.join('\n').includes('"guest"'), 'no credential in the log');
  });
}

test('a wrong password: the sink says the broker refused it, never shows it, and keeps the events queued', async () => {
  if (!broker) return;
  const lines: string[] = [];
  const bus: EventBus = createEventBus([sinkSpec('bus', broker.url, '/queue/pulpdist-wrong')], options(lines, 'not-the-password-123'));
  try {
    bus.emit(syncStarted({ mirror: 'm1', site: 'hub' }));
    const until = Date.now() + 30_000;
    while (bus.stats()[0]!.lastError === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const s = bus.stats()[0]!;
    assert.is(s.up, false);
    assert.ok(s.lastError?.startsWith(`${broker.url}: the broker refused the login`), s.lastError);
    assert.is(s.queued, 1);
    assert.not.ok(s.lastError!.includes('not-the-password-123'));
  } finally {
    const [report] = await bus.close({ deadline: new Date(Date.now() + 200) });
    assert.is(report!.abandoned, 1);
  }
  assert.not.ok(lines.join('\n').includes('not-the-password-123'), 'the password never appears in a log line');
});

test('the broker stopped mid-run: emit() never waits, events wait within the bound, arrive in order after the restart', async () => {
  if (!broker) return;
  const address = '/queue/pulpdist-events-restart';
  const consumer = consume(broker.url, address);
  const lines: string[] = [];
  const bus = createEventBus([sinkSpec('bus', broker.url, address, {}, 20)], options(lines));
  const emit = (i: number) => bus.emit(syncStarted({ mirror: 'm1', site: 'hub', reason: `n=${i}` }));
  try {
    for (let i = 1; i <= 3; i++) emit(i);
    await consumer.waitFor(() => consumer.events.length >= 3, 'the first 3 events');
    await broker.stop();
    const until = Date.now() + 30_000;
    while (bus.stats()[0]!.up && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.is(bus.stats()[0]!.up, false, 'the sink noticed the broker is gone');
    // 30 events into a bound of 20 while the broker is down: all emits return at once (emit is
    // synchronous, no I/O), the oldest 10 are dropped and counted.
    for (let i = 4; i <= 33; i++) emit(i);
    let s = bus.stats()[0]!;
    assert.equal({ queued: s.queued, inFlight: s.inFlight, overflow: s.dropped.overflow }, { queued: 20, inFlight: 0, overflow: 10 });
    await broker.start();
    await consumer.waitFor(() => new Set(consumer.events.map((e) => e.id)).size >= 23, 'the 20 buffered events after the restart', 90_000);
    // At least once: drop repeated ids (a delivery in flight at the stop may come twice), keep first arrival.
    const seen = new Set<unknown>();
    const unique = consumer.events.filter((e) => !seen.has(e.id) && seen.add(e.id));
    assert.equal(unique.map(reasonOf), [...[1, 2, 3], ...Array.from({ length: 20 }, (_, i) => 14 + i)].map((n) => `n=${n}`));
    await bus.close();
    s = bus.stats()[0]!;
    assert.equal({ delivered: s.delivered, overflow: s.dropped.overflow }, { delivered: 23, overflow: 10 });
    assert.ok(lines.some((l) => l.includes('event sink failing')), 'the outage was logged');
    assert.ok(lines.some((l) => l.includes('event sink delivering again')), 'so was the recovery');
  } finally {
    consumer.close();
    await bus.close();
  }
});

test.run();
