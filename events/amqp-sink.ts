/**
 * The AMQP 1.0 sink (rhea): one connection and one sender link to the address on the broker,
 * SASL PLAIN when a user is given, TLS for amqps://. rhea reconnects on its own (backoff from
 * 100 ms to 10 s, every error taken as non-fatal so a broker restart never ends the sink) and
 * re-attaches the link; events wait in the bounded queue meanwhile. An event leaves the queue when
 * sent and is done only when the broker settles it as accepted: deliveries unsettled when the
 * connection drops go back to the head of the queue, in order, and are sent again after the
 * reconnect (at least once: a receiver drops a repeated CloudEvents id).
 */
import { isIP } from 'node:net';
import rhea from 'rhea';
import type { Connection, ConnectionOptions, Delivery, EventContext, Sender } from 'rhea';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redactUrl } from '../core/redact.js';
import type { AmqpSinkSpec } from '../spec/event-sink.js';
import type { PulpdistEvent } from './build.js';
import { toAmqpMessage } from './amqp-binding.js';
import { QueuedSink } from './sink.js';

/** Unsettled deliveries at most; past that the queue holds the rest (bounds what a drop re-sends). */
const MAX_IN_FLIGHT = 256;
/** A message the broker releases (not refused, not taken) is offered again this many times. */
const MAX_RELEASES = 5;

export interface AmqpCredentials {
  username?: string;
  password?: string;
  /** PEM of the CAs for amqps://, from caFile. */
  ca?: Buffer;
}

/** Reconnect delays; tests shorten them. */
export interface ReconnectTiming {
  /** @default 100 */
  initialMs: number;
  /** @default 10_000 */
  maxMs: number;
}

export const RECONNECT_DEFAULTS: ReconnectTiming = { initialMs: 100, maxMs: 10_000 };

export class AmqpSink extends QueuedSink {
  private readonly connection: Connection;
  private readonly sender: Sender;
  private readonly pending = new Map<Delivery, { event: PulpdistEvent; releases: number }>();
  private releases = new Map<string, number>();
  private closed = false;
  private loginRefused = false;
  private readonly where: string;

  constructor(
    name: string,
    queueSize: number,
    private readonly spec: AmqpSinkSpec,
    credentials: AmqpCredentials,
    log: Logger,
    timing: ReconnectTiming = RECONNECT_DEFAULTS,
  ) {
    super(name, 'amqp', queueSize, log);
    this.where = redactUrl(spec.url);
    const url = new URL(spec.url);
    const tls = url.protocol === 'amqps:';
    const container = rhea.create_container({ id: `pulpdist-events-${name}` });
    const common = {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : tls ? 5671 : 5672,
      reconnect: true,
      initial_reconnect_delay: timing.initialMs,
      max_reconnect_delay: timing.maxMs,
      all_errors_non_fatal: true,
      idle_time_out: 30_000,
      ...(credentials.username === undefined ? {} : { username: credentials.username }),
      ...(credentials.password === undefined ? {} : { password: credentials.password }),
    };
    // No SNI for an IP address (RFC 6066; Node warns); the certificate is still checked against it.
    const servername = isIP(common.host) ? '' : common.host;
    const options: ConnectionOptions = tls ? { ...common, transport: 'tls', servername, ...(credentials.ca ? { ca: credentials.ca } : {}) } : { ...common, transport: 'tcp' };
    this.connection = container.connect(options);
    this.sender = this.connection.open_sender({ target: { address: spec.address }, name: `pulpdist-events-${name}` });

    this.connection.on('connection_open', () => {
      this.up = true;
      this.working();
    });
    this.connection.on('disconnected', (ctx: EventContext) => {
      this.up = false;
      if (this.closed) return;
      this.failing(ctx.error ?? new Error('connection lost'));
      this.requeuePending();
    });
    // Errors also arrive as disconnects (which reconnect); these handlers keep rhea from throwing them.
    this.connection.on('connection_error', (ctx: EventContext) => this.failing(ctx.error ?? ctx.connection.error ?? new Error('connection error')));
    this.connection.on('error', (err: unknown) => this.failing(err));
    this.sender.on('sender_error', (ctx: EventContext) => this.failing(ctx.sender?.error ?? new Error('sender link failed')));
    this.sender.on('sendable', () => this.pump());
    this.sender.on('accepted', (ctx: EventContext) => this.settle(ctx.delivery, 'accepted'));
    this.sender.on('rejected', (ctx: EventContext) => this.settle(ctx.delivery, 'rejected'));
    this.sender.on('released', (ctx: EventContext) => this.settle(ctx.delivery, 'released'));
    this.sender.on('modified', (ctx: EventContext) => this.settle(ctx.delivery, 'released'));
  }

  protected inFlight(): number {
    return this.pending.size;
  }

  /** rhea reports AMQP errors as `{condition, description}` objects or as Errors: one line with where. */
  protected override failing(err: unknown): void {
    // After a refused login the socket's own errors ("write after end") follow: keep the reason.
    if (this.loginRefused) return;
    const e = err as { condition?: unknown; description?: unknown; message?: unknown } | undefined;
    if (e && typeof e === 'object' && e.condition === 'amqp:unauthorized-access') {
      this.loginRefused = true;
      // rhea does not reconnect after a failed SASL exchange, and trying the same password again would not help.
      super.failing(new Error(`${this.where}: the broker refused the login (${String(e.description ?? 'unauthorized')}); fix the user or password (spec.amqp) and restart the controller`));
      return;
    }
    const what =
      e && typeof e === 'object' && (e.condition !== undefined || e.description !== undefined)
        ? [e.condition, e.description].filter((x) => x !== undefined && x !== '').join(': ')
        : messageOf(err);
    super.failing(new Error(`${this.where} ${this.spec.address}: ${what}`));
  }

  protected pump(): void {
    if (this.closed) return;
    while (this.queue.length > 0 && this.pending.size < MAX_IN_FLIGHT && this.sender.sendable()) {
      const event = this.queue.shift()!;
      const delivery = this.sender.send(toAmqpMessage(event, this.spec.mode));
      this.pending.set(delivery, { event, releases: this.releases.get(event.id) ?? 0 });
    }
  }

  private settle(delivery: Delivery | undefined, outcome: 'accepted' | 'rejected' | 'released'): void {
    const entry = delivery && this.pending.get(delivery);
    if (!delivery || !entry) return;
    this.pending.delete(delivery);
    if (outcome === 'accepted') {
      this.counts.delivered++;
      this.releases.delete(entry.event.id);
      this.working();
    } else if (outcome === 'rejected') {
      this.dropped.rejected++;
      this.releases.delete(entry.event.id);
      this.failing(new Error('the broker rejected an event'));
    } else if (entry.releases + 1 >= MAX_RELEASES) {
      this.dropped.failed++;
      this.releases.delete(entry.event.id);
      this.failing(new Error(`the broker released an event ${MAX_RELEASES} times`));
    } else {
      this.releases.set(entry.event.id, entry.releases + 1);
      this.counts.retries++;
      this.dropped.overflow += this.queue.unshiftAll([entry.event]);
    }
    this.settled();
    this.pump();
  }

  /** The connection dropped: what was sent and not settled goes back to the head, in send order. */
  private requeuePending(): void {
    if (this.pending.size === 0) return;
    const events = [...this.pending.values()].map((p) => p.event);
    this.pending.clear();
    this.counts.retries += events.length;
    this.dropped.overflow += this.queue.unshiftAll(events);
  }

  protected async teardown(): Promise<number> {
    this.closed = true;
    const left = this.pending.size;
    this.pending.clear();
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      if (!this.connection.is_open()) {
        // Not connected (maybe between reconnect attempts): stop the attempts and the socket.
        this.connection.set_reconnect(false);
        this.connection.close();
        (this.connection as unknown as { socket?: { destroy(): void } }).socket?.destroy();
        return resolve();
      }
      this.connection.once('connection_close', done);
      this.connection.once('disconnected', done);
      this.connection.set_reconnect(false);
      this.connection.close();
      // A broker that never answers the close must not hold the caller past its deadline.
      setTimeout(() => {
        (this.connection as unknown as { socket?: { destroy(): void } }).socket?.destroy();
        resolve();
      }, 1000).unref();
    });
    return left;
  }
}
