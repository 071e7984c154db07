/** Option parsers shared by the commands: each throws a UsageError that names the option. */
import { checkControllerId, CONTROLLER_ID_PATTERN, defaultControllerId } from '../core/controller-id.js';
import { ConfigError, UsageError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import { parseDuration } from '../core/units.js';
import type { SpecSet } from '../spec/types.js';

/**
 * A duration option (`30s`, `5m`, `1h`, `500ms`) in milliseconds, `fallback` when it is absent
 * (undefined when there is no fallback either).
 */
export function durationOption(name: string, value: unknown, fallback: string): number;
export function durationOption(name: string, value: unknown): number | undefined;
export function durationOption(name: string, value: unknown, fallback?: string): number | undefined {
  if (value === undefined && fallback === undefined) return undefined;
  const text = typeof value === 'string' ? value : String(value ?? fallback);
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    ms = NaN;
  }
  if (!(ms > 0)) throw new UsageError(`--${name} must be a duration such as 500ms, 30s, 5m or 1h, got "${text}"`);
  return ms;
}

/** `--request-timeout`: the Pulp client's per-request timeout. */
export function requestTimeoutOption(value: unknown): { requestTimeoutMs?: number } {
  const ms = durationOption('request-timeout', value);
  return ms === undefined ? {} : { requestTimeoutMs: ms };
}

/** `--site` values checked against the specs. */
export function selectedSites(values: unknown, specs: SpecSet): string[] | undefined {
  const list = (Array.isArray(values) ? values : values === undefined ? [] : [values]).map(String);
  if (list.length === 0) return undefined;
  const known = specs.sites.map((s) => s.name);
  for (const s of list) if (!known.includes(s)) throw new UsageError(`unknown site "${s}" (known: ${known.join(', ')})`);
  return list;
}

/** `--listen HOST:PORT` (IPv6 in brackets); port 0 picks a free one. */
export function listenOption(value: unknown, fallback: string): { host: string; port: number } {
  const text = typeof value === 'string' ? value : fallback;
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (!m || !m[1] || Number(m[2]) > 65535) throw new UsageError(`--listen must be HOST:PORT, got "${text}"`);
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

/** Why a server could not listen, for the errors listen() gives on a bad --listen; null for others. */
const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: 'is already in use (choose another port, or 0 for a free one)',
  EADDRNOTAVAIL: 'is not an address of this machine',
  EACCES: 'is not allowed (a port below 1024 needs privileges)',
};

/**
 * A usage error (exit 2, no stack) for a `--listen` address a server could not bind, or null when
 * `err` is not about the address (then it is a real internal error).
 */
export function listenUsageError(err: unknown, host: string, port: number): UsageError | null {
  const reason = LISTEN_REASONS[(err as { code?: string } | null)?.code ?? ''];
  return reason ? new UsageError(`--listen ${host.includes(':') ? `[${host}]` : host}:${port} ${reason}`) : null;
}

/**
 * `--username U --password-env VAR`: Basic credentials a server of ours requires, the password
 * read from the environment (never from argv, which other users can see) and registered for
 * redaction. Undefined when neither is given.
 */
export function basicAuthOption(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): { username: string; password: string } | undefined {
  if (values.username === undefined && values['password-env'] === undefined) return undefined;
  if (!values.username || !values['password-env']) throw new UsageError('--username and --password-env go together');
  const envName = String(values['password-env']);
  const password = env[envName];
  if (!password) throw new ConfigError(`environment variable ${envName} (named by --password-env) is not set or empty`);
  registerSecret(password);
  return { username: String(values.username), password };
}

/** Resolves once SIGTERM or SIGINT arrives (the handlers are removed then), after `onStop` settles. */
export function untilSignalled(onStop: (signal: NodeJS.Signals) => Promise<unknown>): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (sig: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void onStop(sig).then(() => resolve(), () => resolve());
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** `PULPDIST_CONTROLLER_ID`, checked, when set: what `--controller-id` says, for every command of a machine or job. */
export function envControllerId(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.PULPDIST_CONTROLLER_ID;
  if (v === undefined || v === '') return undefined;
  if (!CONTROLLER_ID_PATTERN.test(v)) throw new UsageError(`PULPDIST_CONTROLLER_ID must be 1 to 63 letters, digits, '.', '_' or '-' (starting with a letter or digit), got "${v}"`);
  return v;
}

/**
 * `--controller-id ID` for `plan` and `apply`, else `PULPDIST_CONTROLLER_ID`, else the default derived from the checkout that
 * holds the specs (its origin, `main`, the spec path): the same one `pulpdist run` derives for
 * that repository, branch and path, so that a plan in a merge request sees what the controller owns.
 */
export async function controllerIdOption(value: unknown, specsPath: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (typeof value === 'string' && value !== '') return checkControllerId(value);
  if (value !== undefined) throw new UsageError('--controller-id needs a value');
  const fromEnv = envControllerId(env);
  if (fromEnv) return fromEnv;
  const { specSourceOf } = await import('../gitsource/identity.js');
  return defaultControllerId({ ...(await specSourceOf(specsPath)), branch: 'main' });
}
