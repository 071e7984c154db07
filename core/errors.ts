/**
 * The error classes every module throws. `code` equals the class name so that callers, tests and
 * JSON output can match on it; `retryable` says whether trying again later can help (Flux's
 * Waiting versus Stalling). `toJSON` fixes the serialized shape: no stack, no request or headers,
 * so that logs and status can print an error as it is.
 */
export class PulpdistError extends Error {
  /** Stable machine-readable name, equal to the class name. */
  readonly code: string;
  /** True when the same operation may succeed later without a human acting. */
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = new.target.name;
    this.retryable = options.retryable ?? false;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message, retryable: this.retryable };
    for (const [k, v] of Object.entries(this)) {
      if (k !== 'code' && k !== 'retryable' && k !== 'cause' && typeof v !== 'function') out[k] = v;
    }
    return out;
  }
}

/** Bad command-line use: the CLI prints it with the command's usage and exits 2. */
export class UsageError extends PulpdistError {}

/**
 * The operator stopped a command (Ctrl-C, SIGTERM): not a failure of pulpdist. The CLI prints
 * `interrupted` and exits 128 + the signal's number, as a shell does (130 for SIGINT).
 */
export class InterruptedError extends PulpdistError {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`);
  }

  /** The exit code a shell gives a process ended by this signal. */
  get exitCode(): number {
    return this.signal === 'SIGINT' ? 130 : 143;
  }
}

/** The InterruptedError behind `err` (itself, or along its causes), if the operator stopped the command. */
export function interruptionOf(err: unknown): InterruptedError | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof InterruptedError) return e;
  }
  return undefined;
}

/** A problem in a spec document, with the position of the offending YAML node. */
export class SpecError extends PulpdistError {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly path: string = '',
    options: { cause?: unknown } = {},
  ) {
    super(`${file}:${line}:${column}: ${path ? path + ': ' : ''}${message}`, options);
  }
}

/** The Git source could not be read, fetched or pushed. */
export class GitSourceError extends PulpdistError {
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, { retryable: true, ...options });
  }
}

/**
 * The spec branch does not exist in the repository. At start it is a usage error (a mistyped
 * `--branch`); once running, retryable: the branch may come back.
 */
export class BranchNotFoundError extends GitSourceError {
  constructor(message: string, readonly branch: string) {
    super(message);
  }
}

/** Something a human must fix in the environment (a missing env var, an unreadable file). */
export class ConfigError extends PulpdistError {}

/** This replica no longer holds the lease (controller/lease.ts): it may not write to Pulp or Git. */
export class FencedError extends PulpdistError {
  constructor(message = 'this replica no longer holds the lease; another one is active') {
    super(message, { retryable: false });
  }
}

/** Type guard usable on anything caught. */
export function isPulpdistError(err: unknown): err is PulpdistError {
  return err instanceof PulpdistError;
}

/** The message of anything thrown, for places that must turn it into text. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
