/**
 * The CloudEvents AMQP protocol binding (v1.0): an event to an AMQP 1.0 message and back.
 * Binary mode: attributes as application properties named `cloudEvents_<attr>`, the data as one
 * data section, `datacontenttype` as the message's content-type. Structured mode: the whole event
 * as JSON, content-type `application/cloudevents+json`. The binding allows `cloudEvents:` and
 * `cloudEvents_`; it prefers `_`, which JMS selectors (ActiveMQ, Artemis) can name, and receivers
 * must accept both, as `fromAmqpMessage` does.
 */
import rhea from 'rhea';
import type { Message } from 'rhea';
import type { PulpdistEvent } from './build.js';

export const AMQP_PREFIX = 'cloudEvents_';
const STRUCTURED = 'application/cloudevents+json; charset=utf-8';

/** The AMQP message of one event. */
export function toAmqpMessage(event: PulpdistEvent, mode: 'binary' | 'structured'): Message {
  const json = event.toJSON() as Record<string, unknown>;
  // Durable: a broker that restarts keeps what it accepted (the queue must be durable too).
  const base = { message_id: event.id, durable: true };
  if (mode === 'structured') {
    return { ...base, content_type: STRUCTURED, body: rhea.message.data_section(Buffer.from(JSON.stringify(event), 'utf8')) };
  }
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (v === undefined || k === 'data' || k === 'data_base64' || k === 'datacontenttype') continue;
    // time is a timestamp in AMQP's type system; rhea encodes a Date as one.
    props[AMQP_PREFIX + k] = k === 'time' ? new Date(String(v)) : v;
  }
  return {
    ...base,
    content_type: String(json.datacontenttype ?? 'application/json'),
    application_properties: props,
    body: rhea.message.data_section(Buffer.from(JSON.stringify(event.data), 'utf8')),
  };
}

function bodyText(body: unknown): string {
  const b = body as { typecode?: number; content?: unknown } | Buffer | string;
  if (typeof b === 'string') return b;
  if (Buffer.isBuffer(b)) return b.toString('utf8');
  if (b && typeof b === 'object' && 'content' in b) return bodyText(b.content);
  return JSON.stringify(b);
}

/**
 * A received message as the structured JSON form of its event (for consumers and tests).
 * Accepts both prefixes and both modes; throws on a message that is not a CloudEvent.
 */
export function fromAmqpMessage(message: Message): Record<string, unknown> {
  const type = String(message.content_type ?? '');
  if (type.startsWith('application/cloudevents+json')) return JSON.parse(bodyText(message.body)) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(message.application_properties ?? {})) {
    const m = /^cloudEvents[_:](.+)$/.exec(k);
    if (m) out[m[1]!] = v instanceof Date ? v.toISOString() : v;
  }
  if (out.specversion === undefined) throw new Error('not a CloudEvent: no cloudEvents_specversion application property');
  if (type) out.datacontenttype = type;
  out.data = JSON.parse(bodyText(message.body));
  return out;
}
