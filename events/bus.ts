/**
 * The event bus: one per spec commit's EventSinks. `emit` stamps the event once, runs each sink's
 * filter and hands it to the sinks that want it, all synchronously and without I/O, so a pass
 * that emits is never slowed by a receiver. `close` lets the sinks deliver until a deadline.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError, messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { EventSinkSpec } from '../spec/event-sink.js';
import { AmqpSink, RECONNECT_DEFAULTS } from './amqp-sink.js';
import type { AmqpCredentials, ReconnectTiming } from './amqp-sink.js';
import { controllerSource, stamp } from './build.js';
import { compileFilter } from './filter.js';
import type { EventFilter } from './filter.js';
import { HttpSink, RETRY_DEFAULTS } from './http-sink.js';
import type { RetryTiming } from './http-sink.js';
import { noDrops } from './queue.js';
import { readSecret } from './secrets.js';
import type { Sink, SinkCloseReport, SinkStats } from './sink.js';
import type { EventInput } from './types.js';

export interface EventBusOptions {
  log: Logger;
  /** Clock for the events' `time`. @default () => new Date() */
  now?: () => Date;
  /** The CloudEvents `source`. @default pulpdist://<hostname> */
  source?: string;
  /** Where `secretEnv`, `usernameEnv` and `passwordEnv` are looked up. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** HTTP retry delays. @default RETRY_DEFAULTS (500 ms doubling to 30 s, jittered) */
  retry?: RetryTiming;
  /** AMQP reconnect delays. @default RECONNECT_DEFAULTS (100 ms to 10 s) */
  reconnect?: ReconnectTiming;
}

export interface EventBus {
  /** Stamp and queue the event for every sink whose filter matches; never waits, never throws. */
  emit(event: EventInput): void;
  /** Counters per sink, sorted by name, for /metrics and the status page. */
  stats(): SinkStats[];
  /** Deliver what is queued until `deadline` (default: 5 s from now), then drop the rest and disconnect. */
  close(options?: { deadline?: Date }): Promise<SinkCloseReport[]>;
  /** Sinks that could not be set up (a missing secret): their events are counted as dropped. */
  readonly problems: readonly string[];
}

/** A sink whose setup failed: it counts what it would have sent, so /metrics shows the loss. */
class UnconfiguredSink implements Sink {
  private readonly dropped = noDrops();
  constructor(
    readonly name: string,
    private readonly kind: 'http' | 'amqp',
    private readonly reason: string,
  ) {}
  enqueue(): void {
    this.dropped.unconfigured++;
  }
  stats(): SinkStats {
    return { sink: this.name, kind: this.kind, accepted: 0, delivered: 0, dropped: { ...this.dropped }, retries: 0, queued: 0, inFlight: 0, up: false, lastError: this.reason };
  }
  async close(): Promise<SinkCloseReport> {
    return { sink: this.name, delivered: 0, abandoned: 0 };
  }
}

function makeSink(spec: EventSinkSpec, options: Required<Omit<EventBusOptions, 'source' | 'now'>>): Sink {
  const { log, env, retry, reconnect } = options;
  const sinkLog = log.child({ sink: spec.name });
  if (spec.http) {
    const key = spec.http.secret ? readSecret(spec.http.secret, { sink: spec.name, field: 'spec.http.secret' }, env) : undefined;
    return new HttpSink(spec.name, spec.queueSize, spec.http, key, sinkLog, retry);
  }
  const amqp = spec.amqp!;
  const credentials: AmqpCredentials = {};
  if (typeof amqp.username === 'string') credentials.username = amqp.username;
  else if (amqp.username) credentials.username = readSecret(amqp.username, { sink: spec.name, field: 'spec.amqp.username' }, env);
  if (amqp.password) credentials.password = readSecret(amqp.password, { sink: spec.name, field: 'spec.amqp.password' }, env);
  if (amqp.caFile) {
    try {
      credentials.ca = readFileSync(amqp.caFile);
    } catch (err) {
      throw new ConfigError(`EventSink "${spec.name}": cannot read ${amqp.caFile} (spec.amqp.caFile): ${(err as NodeJS.ErrnoException).code ?? 'read error'}`, { cause: err });
    }
  }
  return new AmqpSink(spec.name, spec.queueSize, amqp, credentials, sinkLog, reconnect);
}

/** A bus for `sinks` (a spec commit's `eventSinks`, possibly none). Never throws: a bad sink is reported in `problems`. */
export function createEventBus(sinks: readonly EventSinkSpec[], options: EventBusOptions): EventBus {
  const { log, now = () => new Date(), source = controllerSource(hostname()), env = process.env, retry = RETRY_DEFAULTS, reconnect = RECONNECT_DEFAULTS } = options;
  const problems: string[] = [];
  const routes: { filter: EventFilter; sink: Sink }[] = [];
  for (const spec of [...sinks].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    let sink: Sink;
    try {
      sink = makeSink(spec, { log, env, retry, reconnect });
    } catch (err) {
      const reason = messageOf(err);
      problems.push(reason);
      log.error('event sink not started', { sink: spec.name, error: reason });
      sink = new UnconfiguredSink(spec.name, spec.http ? 'http' : 'amqp', reason);
    }
    routes.push({ filter: compileFilter(spec.events), sink });
  }
  let closed: Promise<SinkCloseReport[]> | undefined;
  return {
    problems,
    emit(input) {
      const wanted = routes.filter((r) => r.filter(input));
      if (wanted.length === 0) return;
      let event;
      try {
        event = stamp(input, { source, now });
      } catch (err) {
        // Only a bug gets here (an event the SDK refuses): say so, but never break the caller's pass.
        log.error('event not sent: invalid CloudEvent', { type: input.type, error: messageOf(err) });
        return;
      }
      for (const r of wanted) r.sink.enqueue(event);
    },
    stats: () => routes.map((r) => r.sink.stats()),
    close({ deadline } = {}) {
      const at = (deadline ?? new Date(Date.now() + 5000)).getTime();
      closed ??= Promise.all(routes.map((r) => r.sink.close(at)));
      return closed;
    },
  };
}
