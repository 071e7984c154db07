/**
 * The webhook sink: one POST per event, in order, CloudEvents HTTP binding in binary or structured
 * mode (the SDK builds both), signed with HMAC-SHA256 over the exact body bytes. Retries with
 * exponential backoff and jitter on a network error, 5xx, 408 and 429 (the receiver may recover);
 * any other answer outside 2xx is final, since sending the same event again would get the same answer.
 */
import { createHmac } from 'node:crypto';
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

  private async deliver(event: PulpdistEvent): Promise<'delivered' | 'failed' | 'rejected' | 'aborted'> {
    const { headers, body } = httpMessage(event, this.spec.mode, this.key);
    const all = { ...this.spec.headers, ...headers, 'user-agent': 'pulpdist-events' };
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | null = null;
      try {
        const res = await fetch(this.spec.url, {
          method: 'POST',
          headers: all,
          body,
          redirect: 'manual',
          signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.spec.timeoutMs)]),
        });
        // Read the answer to the end so that the connection goes back to the pool.
        await res.arrayBuffer();
        this.up = true;
        if (res.status >= 200 && res.status < 300) {
          this.working();
          return 'delivered';
        }
        this.failing(new Error(`POST ${this.where}: HTTP ${res.status}`));
        if (!retryableStatus(res.status)) return 'rejected';
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after') ?? undefined);
      } catch (err) {
        if (this.stop.signal.aborted) return 'aborted';
        this.up = false;
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const why = (err as Error).name === 'TimeoutError' ? `no answer within ${this.spec.timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
        this.failing(new Error(`POST ${this.where}: ${why}`));
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
