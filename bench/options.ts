/** Command-line options shared by the benchmarks. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../core/errors.js';

/** `--name N` as an integer ≥ 1, `dflt` when absent; anything else is a UsageError naming the option. */
export function intOption(name: string, text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be an integer ≥ 1, got ${text}`);
  return n;
}

/**
 * A top-level benchmark script's options: `--help` prints `usage` and exits 0; an unknown or
 * malformed option prints the error and `usage` and exits 2.
 */
export function benchArgs<const O extends NonNullable<ParseArgsConfig['options']> & { help: { type: 'boolean' } }>(options: O, usage: string) {
  try {
    const { values } = parseArgs({ options, strict: true });
    if ((values as { help?: boolean }).help) {
      console.log(usage);
      process.exit(0);
    }
    return values;
  } catch (err) {
    return refuse((err as Error).message, usage);
  }
}

/** A benchmark's bad command line: the error and the usage on stderr, exit 2. */
export function refuse(message: string, usage: string): never {
  console.error(`error: ${message}\n${usage}`);
  process.exit(2);
}
