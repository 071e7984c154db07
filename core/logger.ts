/**
 * The structured logger every module is given: one event per line, fields as JSON. Only
 * controller/ creates one; everything else takes it as a dependency, so tests can collect events.
 */
import { redact } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds these fields to every event. */
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** `json`: one JSON object a line; `text`: `LEVEL msg k=v…` for a terminal. @default 'text' */
  format?: 'json' | 'text';
  /** Where lines go. @default process.stderr */
  write?: (line: string) => void;
  /** Clock for the `time` field. @default () => new Date() */
  now?: () => Date;
}

/** A logger writing one redacted line per event. */
export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const { level = 'info', format = 'text', write = (l: string) => process.stderr.write(l + '\n'), now = () => new Date() } = options;
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields: LogFields = {}) => {
    if (ORDER[lvl] < min) return;
    const all = { ...base, ...fields };
    let line: string;
    if (format === 'json') {
      line = JSON.stringify({ time: now().toISOString(), level: lvl, msg, ...all }, errorReplacer);
    } else {
      const kv = Object.entries(all)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v, errorReplacer)}`)
        .join(' ');
      line = `${lvl.toUpperCase().padEnd(5)} ${msg}${kv ? ' ' + kv : ''}`;
    }
    write(redact(line));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => createLogger(options, { ...base, ...f }),
  };
}

/** A logger that drops everything (for library callers that pass none). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const withJson = value as Error & { toJSON?: () => unknown };
    return typeof withJson.toJSON === 'function' ? withJson.toJSON() : { code: value.name, message: value.message };
  }
  return value;
}
