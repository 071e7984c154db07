/**
 * Secrets of a sink (the HMAC key, the broker's user and password) from the environment variable
 * or the file its spec names. Read once, when the bus is made (a file read of a few bytes per sink
 * and spec commit), registered with the redactor, and never put in a message.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import type { SecretRef } from '../spec/event-sink.js';

/** The value `ref` points at; throws ConfigError naming the sink and the field, never the value. */
export function readSecret(ref: SecretRef, where: { sink: string; field: string }, env: NodeJS.ProcessEnv): string {
  const label = `EventSink "${where.sink}"`;
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new ConfigError(`${label}: environment variable ${ref.env} (${where.field}Env) is not set`);
    }
    registerSecret(value);
    return value;
  }
  let text: string;
  try {
    text = readFileSync(ref.file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${label}: cannot read ${ref.file} (${where.field}File): ${(err as NodeJS.ErrnoException).code ?? 'read error'}`, { cause: err });
  }
  // Mounted secrets usually end with a newline that is not part of the secret.
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new ConfigError(`${label}: ${ref.file} (${where.field}File) is empty`);
  registerSecret(value);
  return value;
}
