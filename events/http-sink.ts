/**
 * The webhook sink: one POST per event, in order, CloudEvents HTTP binding in binary or structured
 * mode (the SDK builds both), signed with HMAC-SHA256 over the exact body bytes. Retries with
 * exponential backoff and jitter on a network error, 5xx, 408 and 429 (the receiver may recover);
 * any other answer outside 2xx is final, since sending the same event again would get the same answer.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { HTTP } from 'cloudevents';
import type { Logger } from '../core/logger.js';
import { redactUrl } from '../core/redact.js';
import { parseRetryAfter, retryDelayMs, sleep } from '../pulp/backoff.js';
import type { HttpSinkSpec } from '../spec/event-sink.js';
import type { PulpdistEvent } from './build.js';
import { QueuedSink } from './sink.js';

/** The signature header: `sha256=` + lowercase hex HMAC-SHA256 of the body with the sink's key. */
export const SIGNATURE_HEADER = 'x-pulpdist-signature-256';

/** Retry delays of the HTTP sink. */
export interface RetryTiming {
  /** First delay; doubles per attempt. @default 500 */
  baseMs: number;
  /** Longest delay, also the cap on a receiver's Retry-After. @default 30_000 */
  maxMs: number;
  /** @default Math.random */
  random?: () => number;
}

export const RETRY_DEFAULTS: RetryTiming = { baseMs: 500, maxMs: 30_000 };

/** The body and headers of one event, as the receiver will see them. */
export function httpMessage(event: PulpdistEvent, mode: 'binary' | 'structured', key: string | undefined): { headers: Record<string, string>; body: string } {
  const msg = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  const body = typeof msg.body === 'string' ? msg.body : JSON.stringify(msg.body);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k.toLowerCase()] = String(v);
  if (key !== undefined) headers[SIGNATURE_HEADER] = `sha256=${createHmac('sha256', key).update(body, 'utf8').digest('hex')}`;
  return { headers, body };
}

function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export class HttpSink extends QueuedSink {
  private running = false;
  private sending = 0;
  private readonly stop = new AbortController();
  private readonly where: string;
  private readonly url: URL;
  private readonly tls: boolean;
  private readonly agent: http.Agent;

  constructor(
    name: string,
    queueSize: number,
    private readonly spec: HttpSinkSpec,
    private readonly key: string | undefined,
    log: Logger,
    private readonly timing: RetryTiming = RETRY_DEFAULTS,
  ) {
    super(name, 'http', queueSize, log);
    this.where = redactUrl(spec.url);
    this.url = new URL(spec.url);
    this.tls = this.url.protocol === 'https:';
    // One connection: deliveries are sequential, and a receiver sees one client.
    this.agent = new (this.tls ? https : http).Agent({ keepAlive: true, maxSockets: 1 });
  }

  protected pump(): void {
    if (this.running) return;
    this.running = true;
    // One delivery at a time keeps the receiver's order the emit order.
    void this.drain().finally(() => {
      this.running = false;
      this.settled();
    });
  }

  protected inFlight(): number {
    return this.sending;
  }

  protected async teardown(): Promise<number> {
    this.stop.abort(new Error('event bus closed'));
    this.agent.destroy();
    return this.sending;
  }

  private async drain(): Promise<void> {
    for (let event = this.queue.shift(); event && !this.stop.signal.aborted; event = this.queue.shift()) {
      this.sending = 1;
      const outcome = await this.deliver(event);
      this.sending = 0;
      if (outcome === 'delivered') this.counts.delivered++;
      else if (outcome !== 'aborted') this.dropped[outcome]++;
    }
  }

  /**
   * One POST on the sink's keep-alive agent. node:http rather than fetch: a third of the CPU per
   * event on loopback (docs/benchmarks.md), and no redirect is ever followed (a 3xx is an answer).
   */
  private post(headers: Record<string, string>, body: string, signal: AbortSignal): Promise<{ status: number; retryAfter: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = (this.tls ? https : http).request(
        this.url,
        { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: this.agent, signal },
        (res) => {
          // Read the answer to the end so that the connection goes back to the pool.
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  private async deliver(event: PulpdistEvent): Promise<'delivered' | 'failed' | 'rejected' | 'aborted'> {
    const { headers, body } = httpMessage(event, this.spec.mode, this.key);
    const all = { ...this.spec.headers, ...headers, 'user-agent': 'pulpdist-events' };
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | null = null;
      // One controller per attempt rather than AbortSignal.any([stop, timeout]): on Node 20 every
      // any() stays attached to the long-lived stop signal, and a sink that sent 1,000 events spent
      // most of its CPU walking them (36 events/s before, see docs/benchmarks.md).
      const attempt$ = new AbortController();
      const onStop = () => attempt$.abort(this.stop.signal.reason);
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      const timer = setTimeout(() => attempt$.abort(new DOMException('timed out', 'TimeoutError')), this.spec.timeoutMs);
      try {
        const res = await this.post(all, body, attempt$.signal);
        this.up = true;
        if (res.status >= 200 && res.status < 300) {
          this.working();
          return 'delivered';
        }
        this.failing(new Error(`POST ${this.where}: HTTP ${res.status}`));
        if (!retryableStatus(res.status)) return 'rejected';
        retryAfterMs = parseRetryAfter(res.retryAfter);
      } catch (err) {
        if (this.stop.signal.aborted) return 'aborted';
        this.up = false;
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const timedOut = attempt$.signal.aborted;
        const why = timedOut ? `no answer within ${this.spec.timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
        this.failing(new Error(`POST ${this.where}: ${why}`));
      } finally {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', onStop);
      }
      if (attempt >= this.spec.maxAttempts) return 'failed';
      this.counts.retries++;
      try {
        await sleep(retryDelayMs(attempt, { ...this.timing, retryAfterMs }), this.stop.signal);
      } catch {
        return 'aborted';
      }
    }
  }
}
