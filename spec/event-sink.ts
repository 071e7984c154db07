/**
 * The `EventSink` kind (docs/events.md): where events go and which ones. Its schema is
 * schemas/eventsink.schema.json; this module adds what a schema cannot say (one of two secret
 * sources, an Authorization header pasted into Git, a filter naming a mirror that does not
 * exist), normalization into `EventSinkSpec`, and its cross-document rules.
 */
import picomatch from 'picomatch';
import { parseDuration } from '../core/units.js';
import { positionOf } from './node-position.js';
import type { PathSegment } from './node-position.js';
import { problemAt, quote } from './problem.js';
import type { SourceDocument } from './source-file.js';
import type { Problem, SourcePosition } from './types.js';

export type EventSeverityName = 'info' | 'warning' | 'error';
export type EventMode = 'binary' | 'structured';

/** Where a secret is: an environment variable or a file; never its value. */
export type SecretRef = { env: string } | { file: string };

export interface EventFilterSpec {
  /** Globs over event types; undefined = every type. */
  types?: string[];
  /** Globs over mirror names; undefined = every mirror. */
  mirrors?: string[];
  sites?: string[];
  /** @default 'info' */
  minSeverity: EventSeverityName;
}

export interface HttpSinkSpec {
  url: string;
  /** @default 'binary' */
  mode: EventMode;
  /** The HMAC-SHA256 key; undefined = requests are not signed (a warning). */
  secret?: SecretRef;
  headers: Record<string, string>;
  /** @default 10_000 */
  timeoutMs: number;
  /** @default 5 */
  maxAttempts: number;
}

export interface AmqpSinkSpec {
  url: string;
  address: string;
  /** @default 'binary' */
  mode: EventMode;
  /** SASL PLAIN user: given inline (not a secret) or from env/file; undefined = SASL ANONYMOUS. */
  username?: string | SecretRef;
  password?: SecretRef;
  caFile?: string;
}

export interface EventSinkSpec {
  name: string;
  labels: Record<string, string>;
  events: EventFilterSpec;
  /** @default 1000 */
  queueSize: number;
  http?: HttpSinkSpec;
  amqp?: AmqpSinkSpec;
  position: SourcePosition;
}

/** Defaults of the EventSink kind (docs/events.md lists them for users). */
export const EVENT_SINK_DEFAULTS = { queueSize: 1000, mode: 'binary', timeoutMs: 10_000, maxAttempts: 5, minSeverity: 'info' } as const;

/** Headers that carry credentials: in Git they would be inline secrets. */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie)$/i;

/** The advice of an inline-secret problem in an EventSink (document-check.ts uses it). */
export const EVENT_SINK_SECRET_ADVICE =
  'secrets never live in Git: remove it (and rotate it, since Git history keeps it), and give the HMAC key through spec.http.secretEnv or spec.http.secretFile, the broker password through spec.amqp.passwordEnv or spec.amqp.passwordFile';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(data: unknown, path: readonly string[]): unknown {
  let cur = data;
  for (const seg of path) cur = isRecord(cur) ? cur[seg] : undefined;
  return cur;
}

/** At most one of `keys` under `at`: the later one written is the one to remove. */
function atMostOne(source: SourceDocument, at: string[], keys: string[], out: Problem[]): void {
  const obj = get(source.data, at);
  if (!isRecord(obj)) return;
  const given = Object.keys(obj).filter((k) => keys.includes(k));
  if (given.length > 1) {
    out.push(problemAt(source, [...at, given[given.length - 1]], 'secret-source', `give at most one of ${keys.map((k) => `"${k}"`).join(', ')}, not ${given.map((k) => `"${k}"`).join(' and ')}`, { anchor: 'key' }));
  }
}

/** Values whose type and pattern are right but whose meaning is not. */
export function checkEventSinkValues(source: SourceDocument, out: Problem[]): void {
  atMostOne(source, ['spec', 'http'], ['secretEnv', 'secretFile'], out);
  atMostOne(source, ['spec', 'amqp'], ['username', 'usernameEnv', 'usernameFile'], out);
  atMostOne(source, ['spec', 'amqp'], ['passwordEnv', 'passwordFile'], out);
  const headers = get(source.data, ['spec', 'http', 'headers']);
  if (isRecord(headers)) {
    for (const name of Object.keys(headers)) {
      if (CREDENTIAL_HEADER.test(name)) out.push(problemAt(source, ['spec', 'http', 'headers', name], 'inline-secret', `inline secret: the ${name} header carries credentials; ${EVENT_SINK_SECRET_ADVICE}`, { anchor: 'key' }));
    }
  }
  const http = get(source.data, ['spec', 'http']);
  if (isRecord(http)) {
    if (typeof http.url === 'string' && /^http:/i.test(http.url) && !/^http:\/\/(localhost|127(\.[0-9]+){3}|\[::1\])(:|\/|$)/i.test(http.url)) {
      out.push(problemAt(source, ['spec', 'http', 'url'], 'plain-http-events', 'events would cross the network unencrypted over http; use https', { severity: 'warning' }));
    }
    // A key pasted inline already has an inline-secret error that names secretEnv: no second message.
    if (!Object.keys(http).some((k) => /secret|key/i.test(k))) {
      out.push(problemAt(source, ['spec', 'http'], 'unsigned-events', 'requests will not be signed: give an HMAC key through secretEnv or secretFile so that the receiver can tell them from forgeries', { severity: 'warning', anchor: 'key' }));
    }
    if (typeof http.timeout === 'string' && /^([0-9]+(ms|s|m|h|d))+$/.test(http.timeout) && parseDuration(http.timeout) === 0) {
      out.push(problemAt(source, ['spec', 'http', 'timeout'], 'timeout', 'must be longer than zero'));
    }
  }
  const amqp = get(source.data, ['spec', 'amqp']);
  if (isRecord(amqp) && typeof amqp.url === 'string') {
    const plain = /^amqp:/i.test(amqp.url);
    if (plain && ('passwordEnv' in amqp || 'passwordFile' in amqp) && !/^amqp:\/\/(localhost|127(\.[0-9]+){3}|\[::1\])(:|\/|$)/i.test(amqp.url)) {
      out.push(problemAt(source, ['spec', 'amqp', 'url'], 'plain-amqp-auth', 'the broker password would be sent unencrypted over amqp://; use amqps://', { severity: 'warning' }));
    }
    if (plain && 'caFile' in amqp) out.push(problemAt(source, ['spec', 'amqp', 'caFile'], 'ca-without-tls', 'caFile is used only with amqps:// URLs', { severity: 'warning' }));
  }
}

/** What the cross-document rules read of an EventSink, tolerantly (it may have schema errors). */
export interface EventSinkFacts {
  source: SourceDocument;
  name?: string;
}

export function eventSinkFacts(source: SourceDocument): EventSinkFacts {
  const name = get(source.data, ['metadata', 'name']);
  return typeof name === 'string' ? { source, name } : { source };
}

const NAME: PathSegment[] = ['metadata', 'name'];

/**
 * Unique names among EventSinks, and a warning for a filter entry that matches no mirror or site
 * of the same commit (a typo would silently starve the sink). Returns the later duplicates.
 */
export function checkEventSinkRules(sinks: EventSinkFacts[], known: { sites: string[]; mirrors: string[] }, out: Problem[]): Set<SourceDocument> {
  const ordered = [...sinks].sort((a, b) => (a.source.file < b.source.file ? -1 : a.source.file > b.source.file ? 1 : a.source.line - b.source.line));
  const first = new Map<string, EventSinkFacts>();
  const duplicates = new Set<SourceDocument>();
  for (const s of ordered) {
    if (s.name === undefined) continue;
    const prev = first.get(s.name);
    if (prev) {
      duplicates.add(s.source);
      const p = positionOf(prev.source, NAME);
      out.push(problemAt(s.source, NAME, 'duplicate-name', `duplicate EventSink name ${quote(s.name)}: already defined at ${p.file}:${p.line}:${p.column}`));
    } else first.set(s.name, s);
  }
  for (const s of ordered) {
    for (const [field, names] of [['mirrors', known.mirrors], ['sites', known.sites]] as const) {
      const list = get(s.source.data, ['spec', 'events', field]);
      if (!Array.isArray(list)) continue;
      list.forEach((entry, i) => {
        if (typeof entry !== 'string' || entry === '') return;
        const match = picomatch(entry, { dot: true });
        if (!names.some((n) => match(n))) {
          const what = field === 'mirrors' ? 'mirror' : 'site';
          out.push(problemAt(s.source, ['spec', 'events', field, i], `unknown-${what}`, `${quote(entry)} matches no ${what} of this commit, so this entry selects nothing`, { severity: 'warning' }));
        }
      });
    }
  }
  return duplicates;
}

/** The shape the schema guarantees. */
interface RawEventSink {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    events?: { types?: string[]; mirrors?: string[]; sites?: string[]; minSeverity?: EventSeverityName };
    queueSize?: number;
    http?: { url: string; mode?: EventMode; secretEnv?: string; secretFile?: string; headers?: Record<string, string>; timeout?: string; maxAttempts?: number };
    amqp?: { url: string; address: string; mode?: EventMode; username?: string; usernameEnv?: string; usernameFile?: string; passwordEnv?: string; passwordFile?: string; caFile?: string };
  };
}

function ref(env: string | undefined, file: string | undefined): SecretRef | undefined {
  if (env !== undefined) return { env };
  if (file !== undefined) return { file };
  return undefined;
}

/** A valid document to the spec model, every default filled in. Only called on documents the schema accepted. */
export function normalizeEventSink(data: unknown, position: SourcePosition): EventSinkSpec {
  const raw = data as RawEventSink;
  const { events = {}, http, amqp } = raw.spec;
  const filter: EventFilterSpec = { minSeverity: events.minSeverity ?? EVENT_SINK_DEFAULTS.minSeverity };
  if (events.types) filter.types = [...events.types];
  if (events.mirrors) filter.mirrors = [...events.mirrors];
  if (events.sites) filter.sites = [...events.sites];
  const sink: EventSinkSpec = {
    name: raw.metadata.name,
    labels: { ...(raw.metadata.labels ?? {}) },
    events: filter,
    queueSize: raw.spec.queueSize ?? EVENT_SINK_DEFAULTS.queueSize,
    position,
  };
  if (http) {
    const out: HttpSinkSpec = {
      url: http.url,
      mode: http.mode ?? EVENT_SINK_DEFAULTS.mode,
      headers: { ...(http.headers ?? {}) },
      timeoutMs: http.timeout === undefined ? EVENT_SINK_DEFAULTS.timeoutMs : parseDuration(http.timeout),
      maxAttempts: http.maxAttempts ?? EVENT_SINK_DEFAULTS.maxAttempts,
    };
    const secret = ref(http.secretEnv, http.secretFile);
    if (secret) out.secret = secret;
    sink.http = out;
  }
  if (amqp) {
    const out: AmqpSinkSpec = { url: amqp.url.replace(/\/+$/, ''), address: amqp.address, mode: amqp.mode ?? EVENT_SINK_DEFAULTS.mode };
    const username = amqp.username ?? ref(amqp.usernameEnv, amqp.usernameFile);
    if (username !== undefined) out.username = username;
    const password = ref(amqp.passwordEnv, amqp.passwordFile);
    if (password) out.password = password;
    if (amqp.caFile !== undefined) out.caFile = amqp.caFile;
    sink.amqp = out;
  }
  return sink;
}
