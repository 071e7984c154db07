/**
 * `pulpdist`: dispatches to one command. Exit codes follow DESIGN.md's table; usage errors exit 2.
 * Known errors print `error: …` (and `reason: …`); anything else is a bug and prints
 * `internal error: …`, with the stack only under --debug. The commands are passed in: cli/main.ts
 * gives every command, cli/manifest-main.ts (the bundled `pulpdist manifest`) only its own.
 */
import { parseArgs } from 'node:util';
import { UsageError, interruptionOf, isPulpdistError, messageOf } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { Command, CommandEntry } from './command.js';
import { nearest } from './suggest.js';
import { VERSION } from '../core/version.js';

function topHelp(commands: readonly CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'pulpdist: declarative, content-addressed mirroring on Pulp 3, driven from Git',
    '',
    'usage: pulpdist COMMAND [OPTIONS]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `pulpdist COMMAND --help` for the options of a command.',
    'Global options: --help, --version, --debug (stack traces for internal errors)',
  ].join('\n');
}

export function commandHelp(cmd: Command): string {
  return `usage: ${cmd.usage}\n\n${cmd.summary}\n\n${cmd.help.trim()}\n`;
}

export async function main(argv: string[], commands: readonly CommandEntry[]): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const [name, ...rest] = args;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topHelp(commands) + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`pulpdist ${VERSION}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(unknownCommand(name, commands));
    return 2;
  }
  let cmd: Command | undefined;
  try {
    cmd = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(commandHelp(cmd));
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: cmd.positionals ?? false, strict: true });
    } catch (err) {
      throw new UsageError(optionError(messageOf(err), cmd));
    }
    return await cmd.run(parsed as Parameters<Command['run']>[0]);
  } catch (err) {
    return report(err, debug, cmd);
  }
}

/** An unknown command, with the nearest one; an option before any command says where options go. */
function unknownCommand(name: string, commands: readonly CommandEntry[]): string {
  const names = commands.map((c) => c.name);
  if (name.startsWith('-')) {
    return `error: unknown option "${name}"\nreason: options come after the command (\`pulpdist COMMAND ${name}\`); the global ones are --help, --version and --debug\n`;
  }
  const near = nearest(name, names);
  return `error: unknown command "${name}"${near ? `; did you mean "${near}"?` : ''}\nreason: run \`pulpdist --help\` for the list\n`;
}

/** parseArgs' message, shortened, with the nearest option of this command when one was mistyped. */
function optionError(message: string, cmd: Command): string {
  const text = message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '');
  const unknown = /^Unknown option '(--?[^']+)'/.exec(text);
  if (!unknown) return text;
  const typed = unknown[1].replace(/=.*$/, '');
  const longs = [...Object.keys(cmd.options), 'help'].map((o) => `--${o}`);
  const near = typed.startsWith('--') ? nearest(typed, longs) : undefined;
  return `unknown option '${typed}'${near ? `; did you mean ${near}?` : ''}`;
}

function report(err: unknown, debug: boolean, cmd: Command | undefined): number {
  // Ctrl-C is the operator's choice, not a bug: however deep the abort surfaced, say so plainly.
  const interrupted = interruptionOf(err);
  if (interrupted) {
    process.stderr.write(`interrupted (${interrupted.signal}); running Pulp tasks were asked to cancel\n`);
    return interrupted.exitCode;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${redact(err.message)}\n`);
    if (cmd) process.stderr.write(`usage: ${cmd.usage}\nRun \`pulpdist ${cmd.name} --help\` for details.\n`);
    return 2;
  }
  if (isPulpdistError(err)) {
    process.stderr.write(`error: ${redact(err.message)}\n`);
    const cause = (err as Error).cause;
    if (cause) process.stderr.write(`reason: ${redact(messageOf(cause))}\n`);
    if (debug && err.stack) process.stderr.write(redact(err.stack) + '\n');
    return 1;
  }
  process.stderr.write(`internal error: ${redact(messageOf(err))}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(redact(err.stack) + '\n');
  else process.stderr.write('Run again with --debug for the stack trace, and please report it.\n');
  return 1;
}

/** Run the command line of this process and set its exit code. */
export function runMain(commands: readonly CommandEntry[]): void {
  main(process.argv.slice(2), commands).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`internal error: ${redact(messageOf(err))}\n`);
      process.exitCode = 1;
    },
  );
}
