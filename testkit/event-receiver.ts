/**
 * A real CloudEvents webhook receiver on 127.0.0.1 for tests and benchmarks: it checks the
 * HMAC-SHA256 signature as docs/events.md tells users to (constant-time, over the raw body),
 * parses the event with the cloudevents SDK (binary or structured), and records it. `answer`
 * scripts the status of each request (e.g. 500 twice, then 204).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTP } from 'cloudevents';

export interface ReceivedEvent {
  /** The event as structured JSON (what `HTTP.toEvent` parsed). */
  event: Record<string, unknown>;
  /** `binary` when the attributes came as ce-* headers. */
  mode: 'binary' | 'structured';
  /** The signature header was present and right. */
  signed: boolean;
  at: number;
}

export interface EventReceiver {
  url: string;
  /** Events answered with 2xx, in arrival order. */
  events: ReceivedEvent[];
  /** Every request, whatever its answer. */
  requests: number;
  /** Requests whose signature was missing or wrong (answered 401 when a key is set). */
  badSignatures: number;
  /** Resolves when `events.length >= n`; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** The HMAC key; when set, unsigned or badly signed requests get 401. */
  key?: string;
  /** Status for request number `n` (1-based). @default () => 204 */
  answer?: (n: number) => number;
  /** Called with each recorded event (benchmarks measure delay here). */
  onEvent?: (e: ReceivedEvent) => void;
}

export function verifySignature(body: Buffer, header: string | undefined, key: string): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const want = createHmac('sha256', key).update(body).digest();
  const got = Buffer.from(header.slice(7), 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

export async function startEventReceiver(options: ReceiverOptions = {}): Promise<EventReceiver> {
  const { key, answer = () => 204, onEvent } = options;
  const waiters: { n: number; resolve: () => void }[] = [];
  const state = { requests: 0, badSignatures: 0 };
  const events: ReceivedEvent[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = ++state.requests;
      const body = Buffer.concat(chunks);
      const signed = key !== undefined && verifySignature(body, req.headers['x-pulpdist-signature-256'] as string | undefined, key);
      if (key !== undefined && !signed) {
        state.badSignatures++;
        res.writeHead(401).end();
        return;
      }
      const status = answer(n);
      if (status >= 200 && status < 300) {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const parsed = HTTP.toEvent({ headers, body: body.toString('utf8') });
        const one = Array.isArray(parsed) ? parsed[0] : parsed;
        const rec: ReceivedEvent = { event: JSON.parse(JSON.stringify(one)) as Record<string, unknown>, mode: headers['ce-id'] ? 'binary' : 'structured', signed, at: performance.now() };
        events.push(rec);
        onEvent?.(rec);
        for (const w of [...waiters]) if (events.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    events,
    get requests() {
      return state.requests;
    },
    get badSignatures() {
      return state.badSignatures;
    },
    waitFor(n, timeoutMs = 10_000) {
      if (events.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`received ${events.length} of ${n} events within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
