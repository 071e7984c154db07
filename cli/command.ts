/**
 * The shape of one CLI command. Each lives in cli/commands/NAME.ts and is loaded only when
 * run, so that a quick command (`manifest` on an unchanged tree) pays for no other module.
 */
import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  /** One line for `pulpdist --help`. */
  summary: string;
  /** The usage line(s), without the leading `usage: `. */
  usage: string;
  /** Options in node:util parseArgs form; `help` is added for every command. */
  options: OptionSpec;
  /** Text after the usage: what each option means, examples, exit codes. */
  help: string;
  /** Whether positional arguments are accepted. @default false */
  positionals?: boolean;
  /** Run with parsed arguments; resolves to the exit code. */
  run(args: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] }): Promise<number>;
}

/** Registry entry: the summary is known without loading the module. */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}
