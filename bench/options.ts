/** Command-line options shared by the benchmarks. */
import { UsageError } from '../core/errors.js';

/** `--name N` as an integer ≥ 1, `dflt` when absent; anything else is a UsageError naming the option. */
export function intOption(name: string, text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be an integer ≥ 1, got ${text}`);
  return n;
}
