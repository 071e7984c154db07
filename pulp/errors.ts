/**
 * What can go wrong talking to one Pulp server. Every class carries the site and the where as
 * fields, says whether a retry can help, and never holds a credential: URLs are redacted, Pulp's
 * error bodies pass through `redact`, and no request, response or header is ever stored, so
 * `toJSON` (what logs and status print) has nothing to leak.
 */
import { PulpdistError } from '../core/errors.js';
import { redact, redactUrl as redactUrlEncoded } from '../core/redact.js';
import { formatDuration } from '../core/units.js';
import type { Href, TaskState } from './types.js';

/** Longest piece of an error body quoted in a message; the whole body stays in `body`. */
const BODY_IN_MESSAGE = 300;

/** A non-2xx answer of the Pulp API or content app. Retryable for 429 and 5xx. */
export class PulpHttpError extends PulpdistError {
  /** The site name from the spec. */
  readonly site: string;
  readonly method: string;
  /** The URL, without userinfo or query string. */
  readonly url: string;
  readonly status: number;
  /** Pulp's error body, parsed if it was JSON (e.g. `{"name":["This field must be unique."]}`). */
  readonly body: unknown;

  constructor(
    fields: { site: string; method: string; url: string; status: number; statusText?: string; body: unknown },
    options: { message?: string; cause?: unknown } = {},
  ) {
    const url = displayUrl(fields.url);
    const body = redactBody(fields.body);
    const reason = fields.statusText ? ` ${fields.statusText}` : '';
    const detail = describeBody(body);
    super(
      options.message ?? `${fields.site}: ${fields.method} ${url} answered ${fields.status}${reason}${detail ? `: ${detail}` : ''}`,
      { cause: options.cause, retryable: fields.status === 429 || fields.status >= 500 },
    );
    this.site = fields.site;
    this.method = fields.method;
    this.url = url;
    this.status = fields.status;
    this.body = body;
  }
}

/**
 * 401 or 403 from the API: the credentials pulpdist sent were missing, wrong or lack a permission.
 * The message names the environment variable or file the password came from (never its value).
 */
export class PulpAuthError extends PulpHttpError {
  constructor(
    fields: { site: string; method: string; url: string; status: number; statusText?: string; body: unknown },
    hint: string,
  ) {
    const url = displayUrl(fields.url);
    const detail = describeBody(redactBody(fields.body));
    const what = fields.status === 401 ? 'rejected the credentials' : 'refused access';
    super(fields, {
      message: `${fields.site}: ${fields.method} ${url} answered ${fields.status} (Pulp ${what}${detail ? `: ${detail}` : ''}); ${hint}`,
    });
  }
}

/** A Pulp task that ended `failed` or `canceled`. Not retryable as such: the next pass re-observes. */
export class PulpTaskError extends PulpdistError {
  readonly site: string;
  /** The task's href, as Pulp gave it. */
  readonly task: Href;
  readonly state: TaskState;
  /** The task's `error.description` (or `error.reason` for tasks killed outside their code). */
  readonly description: string | null;
  /** The task function, e.g. `pulp_file.app.tasks.synchronizing.synchronize`. */
  readonly taskName: string;

  constructor(fields: { site: string; task: Href; state: TaskState; description: string | null; taskName: string }) {
    const description = fields.description === null ? null : redact(fields.description);
    const what = fields.state === 'canceled' ? 'was canceled' : 'failed';
    super(
      `${fields.site}: task ${fields.task} (${shortTaskName(fields.taskName)}) ${what}${description ? `: ${description}` : ''}`,
    );
    this.site = fields.site;
    this.task = fields.task;
    this.state = fields.state;
    this.description = description;
    this.taskName = fields.taskName;
  }
}

/**
 * A task did not reach a final state within its deadline. pulpdist asked Pulp to cancel it;
 * retrying later can help (the server may just have been busy).
 */
export class PulpTaskTimeoutError extends PulpdistError {
  readonly site: string;
  readonly task: Href;
  /** The last state seen before giving up. */
  readonly state: TaskState;
  readonly timeoutMs: number;

  constructor(fields: { site: string; task: Href; state: TaskState; timeoutMs: number; taskName: string }) {
    super(
      `${fields.site}: task ${fields.task} (${shortTaskName(fields.taskName)}) still ${fields.state} after ${fields.timeoutMs} ms; ` +
        'asked Pulp to cancel it; it will be retried on a later pass (raise the task timeout if the work is legitimately long)',
      { retryable: true },
    );
    this.site = fields.site;
    this.task = fields.task;
    this.state = fields.state;
    this.timeoutMs = fields.timeoutMs;
  }
}

/**
 * A worker's task waited with no worker while status/ listed no online worker: nothing would ever
 * run it. The task was asked to cancel (real Pulp keeps it `canceling` until a worker is back,
 * recordings extra4/119-125). Retryable: a later pass starts it again once a worker is online.
 */
export class PulpNoWorkerError extends PulpdistError {
  readonly site: string;
  readonly task: Href;
  /** How long the task had waited when status/ was found without a worker. */
  readonly waitedMs: number;

  constructor(fields: { site: string; task: Href; waitedMs: number; taskName: string }) {
    super(
      `${fields.site}: task ${fields.task} (${shortTaskName(fields.taskName)}) waited ${formatDuration(fields.waitedMs)} ` +
        'and status/ lists no online Pulp worker; asked Pulp to cancel it; it starts again once a worker is back',
      { retryable: true },
    );
    this.site = fields.site;
    this.task = fields.task;
    this.waitedMs = fields.waitedMs;
  }
}

/** The server could not be reached or did not answer in time (connection refused, reset, timeout, DNS). */
export class PulpUnreachableError extends PulpdistError {
  readonly site: string;
  readonly method: string;
  /** The URL, without userinfo or query string. */
  readonly url: string;
  /** The system or got error code: ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENOTFOUND, … */
  readonly causeCode: string;

  constructor(fields: { site: string; method: string; url: string; causeCode: string }, options: { cause?: unknown } = {}) {
    const url = displayUrl(fields.url);
    super(
      `${fields.site}: ${fields.method} ${url} failed: ${fields.causeCode}; check that Pulp is running and spec.pulp.url is right`,
      { cause: options.cause, retryable: true },
    );
    this.site = fields.site;
    this.method = fields.method;
    this.url = url;
    this.causeCode = fields.causeCode;
  }
}

/** A success answer that does not have the shape the API promises (a bug or a proxy in the way). */
export class PulpProtocolError extends PulpdistError {
  readonly site: string;
  readonly method: string;
  readonly url: string;

  constructor(fields: { site: string; method: string; url: string; problem: string }) {
    const url = displayUrl(fields.url);
    super(`${fields.site}: ${fields.method} ${url}: ${fields.problem}`, { retryable: true });
    this.site = fields.site;
    this.method = fields.method;
    this.url = url;
  }
}

/**
 * A URL for messages and logs: core's redactUrl, with the query dropped before it so that the `?…` marker stays readable
 * (URL serialization would percent-encode the ellipsis).
 */
export function displayUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? redactUrlEncoded(url) : redactUrlEncoded(url.slice(0, q)) + '?…';
}

function shortTaskName(name: string): string {
  return name.split('.').pop() || name || 'task';
}

/** Pulp's body, with any registered secret or URL userinfo inside it replaced. */
function redactBody(body: unknown): unknown {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return redact(body);
  try {
    return JSON.parse(redact(JSON.stringify(body)));
  } catch {
    return null;
  }
}

/** A short human rendering of a Pulp error body: `detail` alone, or the compact JSON. */
function describeBody(body: unknown): string {
  if (body === null || body === undefined || body === '') return '';
  let text: string;
  if (typeof body === 'string') text = body.trim();
  else if (typeof body === 'object' && !Array.isArray(body) && typeof (body as { detail?: unknown }).detail === 'string' && Object.keys(body).length === 1) {
    text = (body as { detail: string }).detail;
  } else text = JSON.stringify(body);
  return text.length > BODY_IN_MESSAGE ? text.slice(0, BODY_IN_MESSAGE) + '…' : text;
}

/** True for a 404 from the API: the object is gone (the client's deletes count that as done). */
export function isPulpNotFound(err: unknown): err is PulpHttpError {
  return err instanceof PulpHttpError && err.status === 404;
}

/** Pulp's words for a name or base path already taken (serializer validation, or a create task that lost a race). */
const CONFLICT = /must be unique|already exists/i;

/**
 * True when a create failed because the name (or base path) is taken: real Pulp answers 400
 * `{"name":["This field must be unique."]}` (recorded 06 and 27), and a distribution's create
 * task that lost a race fails with "already exists" (`pulpdist site`). Names are deterministic,
 * so the caller re-reads: it may be its own object, created meanwhile.
 */
export function isPulpConflict(err: unknown): err is PulpHttpError | PulpTaskError {
  if (err instanceof PulpHttpError) {
    return (err.status === 400 || err.status === 409) && CONFLICT.test(typeof err.body === 'string' ? err.body : JSON.stringify(err.body) ?? '');
  }
  return err instanceof PulpTaskError && CONFLICT.test(err.description ?? '');
}
