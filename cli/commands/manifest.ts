/**
 * `pulpdist manifest TREE`: content-address a tree. Imports only manifest/ and core/ (no ajv, got,
 * yaml…), because an unchanged rescan must finish, start-up included, in well under a second.
 */
import { fstatSync, realpathSync, writeSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import type { Command } from '../command.js';
import { UsageError } from '../../core/errors.js';
import { ScanOptionError, TreeNotFoundError } from '../../manifest/errors.js';
import { formatProgress, formatSkippedLink, formatSummary, unrepresentableWhy } from '../../manifest/report.js';
import { scanTree, writeManifest, type ScanOptions } from '../../manifest/scan.js';

/** Exit code when the manifest was written but some files had to be left out for their names. */
export const EXIT_UNREPRESENTABLE = 3;
/** Exit code when stdout was closed before the manifest was written out (128 + SIGPIPE, as a shell shows it). */
export const EXIT_STDOUT_CLOSED = 141;

export const command: Command = {
  name: 'manifest',
  summary: 'content-address a tree: write its PULP_MANIFEST',
  usage: 'pulpdist manifest TREE [-o FILE] [--cache FILE | --no-cache] [--exclude GLOB]… [--symlinks follow|strict|skip] [--workers N] [--json]',
  positionals: true,
  options: {
    output: { type: 'string', short: 'o' },
    cache: { type: 'string' },
    'no-cache': { type: 'boolean' },
    exclude: { type: 'string', multiple: true },
    symlinks: { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: `
Writes TREE's PULP_MANIFEST: one line \`relative_path,sha256,size\` per regular file, \`/\`
separators, sorted bytewise, the file named PULP_MANIFEST at the root left out. Files whose
size, mtime, ctime and inode are unchanged since the last run are not read again.

options:
  -o, --output FILE   write the manifest to FILE (atomically: temp file + rename) instead of stdout;
                      a FILE inside TREE is left out of the manifest
  --cache FILE        the rescan cache to use (default: $XDG_CACHE_HOME/pulpdist/, else
                      ~/.cache/pulpdist/, one file per tree, named by a hash of its real path)
  --no-cache          read and hash every file; write no cache
  --exclude GLOB      leave out matching files and directories (repeatable). As in .gitignore, a
                      GLOB without \`/\` matches a name at any depth (\`*.tmp\`, \`.git\`); one with
                      a \`/\` inside or in front matches the path from TREE (\`repodata/*.xml\`,
                      \`/top\`); a trailing \`/\` is ignored
  --symlinks POLICY   follow (default): a link to a file or directory inside TREE is listed at the
                      link's path with its target's content; a link that dangles, leaves TREE or
                      loops is left out with a warning. strict: such a link is an error (exit 1).
                      skip: no link is followed
  --workers N         hashing threads (default: the number of CPUs)
  --json              print a JSON report on stdout (digest, stats, and the entries unless -o)

Not listed: devices, sockets and fifos (Pulp serves only files); they are counted in the summary.
Names Pulp cannot carry are left out and named on stderr: a line break anywhere, leading or
trailing whitespace, \`?\`, \`#\`, \`%\`, a backslash, control characters, \`;\` in the last
segment, bytes that are not UTF-8 (docs/manifest.md says why each breaks a real Pulp).
A progress line is shown on stderr when it is a terminal; a summary is always printed there.

exit codes:
  0  the manifest was written
  1  error: a file or directory could not be read (each is named; no manifest is written)
  2  bad arguments (TREE missing or not a directory, unknown option)
  3  the manifest was written, but files whose names Pulp cannot carry were left out
  130  interrupted (SIGINT or SIGTERM): nothing written
  141  stdout was closed before the whole manifest was written (e.g. \`| head\`)

examples:
  pulpdist manifest /srv/trees/fedora/40 -o /srv/trees/fedora/40/PULP_MANIFEST
  pulpdist manifest . --exclude '*.part' --exclude .snapshot > /tmp/PULP_MANIFEST
`,
  async run({ values, positionals }) {
    // This process lives well under a second, most of it in system calls and native hashing:
    // TurboFan's compilations of the walk's hot functions cost more than they save (an unchanged
    // rescan of 10,048 files: ~23% less CPU and ~2,900 fewer page faults without it; docs/manifest.md).
    // Only here, never in a long-lived process (the controller scans through manifest/ directly).
    v8.setFlagsFromString('--no-opt');
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length === 0 ? 'TREE is missing' : `one TREE expected, got ${positionals.length}`);
    }
    const tree = positionals[0];
    const output = values['output'] as string | undefined;
    const json = values['json'] === true;
    if (values['no-cache'] === true && values['cache'] !== undefined) throw new UsageError('--cache and --no-cache exclude each other');
    const workersText = values['workers'] as string | undefined;
    let workers: number | undefined;
    if (workersText !== undefined) {
      workers = Number(workersText);
      if (!/^[0-9]+$/.test(workersText) || workers < 1 || workers > 256) {
        throw new UsageError(`--workers must be an integer from 1 to 256, got "${workersText}"`);
      }
    }
    const exclude = (values['exclude'] as string[] | undefined) ?? [];
    const symlinks = (values['symlinks'] as string | undefined) ?? 'follow';
    if (symlinks !== 'follow' && symlinks !== 'strict' && symlinks !== 'skip') throw new UsageError(`--symlinks must be follow, strict or skip, got "${symlinks}"`);

    const omit = output === undefined ? [] : outputInsideTree(tree, output);
    const controller = new AbortController();
    const onSignal = () => controller.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);

    const tty = stderrIsTerminal();
    const started = Date.now();
    let progressShown = false;
    const options: ScanOptions = {
      exclude,
      omit,
      symlinks,
      signal: controller.signal,
      ...(values['no-cache'] === true ? { cacheFile: false as const } : values['cache'] !== undefined ? { cacheFile: values['cache'] as string } : {}),
      ...(workers !== undefined ? { workers } : {}),
      ...(tty
        ? {
            onProgress: (p) => {
              progressShown = true;
              process.stderr.write(`\r\x1b[K${formatProgress(p, Date.now() - started)}`);
            },
          }
        : {}),
    };

    let result;
    try {
      result = await scanTree(tree, options);
    } catch (err) {
      if (controller.signal.aborted) {
        writeStderr(`${progressShown ? '\r\x1b[K' : ''}interrupted: no manifest written\n`);
        return 130;
      }
      if (err instanceof TreeNotFoundError) throw new UsageError(`${err.message}; pass the directory whose PULP_MANIFEST to write`);
      if (err instanceof ScanOptionError) throw new UsageError(err.message);
      throw err;
    } finally {
      if (progressShown) writeStderr('\r\x1b[K');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const { digest, stats } = result;

    // The entries are read only if the file must be written (an unchanged rescan never builds them).
    if (output !== undefined) await writeManifest(output, () => result.entries, { signal: controller.signal, digest });
    let delivered = true;
    if (json) {
      const report = { tree: path.resolve(tree), output: output ?? null, digest, stats, ...(output === undefined ? { entries: result.entries } : {}) };
      delivered = await writeStdout(JSON.stringify(report, null, 2) + '\n');
    } else if (output === undefined) {
      delivered = await writeStdout(result.manifest);
    }

    for (const l of stats.links.skipped) writeStderr(formatSkippedLink(l) + '\n');
    for (const p of stats.unrepresentable) {
      writeStderr(`warning: left out ${JSON.stringify(p)}: ${unrepresentableWhy(p)}\n`);
    }
    writeStderr(formatSummary(stats, digest) + '\n');
    // The reader went away (`| head`): no error message, but the status a SIGPIPE death would give.
    if (!delivered) return EXIT_STDOUT_CLOSED;
    return stats.unrepresentable.length > 0 ? EXIT_UNREPRESENTABLE : 0;
  },
};

/**
 * Whether stderr is a terminal (progress is shown then). Only a character device can be one: for
 * a pipe or a file, process.stderr is never made (see writeStderr).
 */
function stderrIsTerminal(): boolean {
  try {
    if (!fstatSync(2).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return process.stderr.isTTY === true;
}

let stderrStream = false;

/**
 * Write to stderr. Straight to file descriptor 2: when it is a pipe (a script or a benchmark reading
 * the summary), making process.stderr loads \`net\` and Node's streams, ~6 ms of an unchanged rescan
 * (docs/manifest.md). A pipe left non-blocking by the reader that is full (EAGAIN) makes this and
 * every later line go through process.stderr, which waits, so that lines keep their order. A
 * reader that went away (EPIPE) loses the line, as it would through the stream.
 */
function writeStderr(text: string): void {
  if (stderrStream) {
    process.stderr.write(text);
    return;
  }
  const bytes = Buffer.from(text, 'utf8');
  for (let off = 0; off < bytes.length; ) {
    try {
      off += writeSync(2, bytes, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return;
      if (code !== 'EAGAIN') throw err;
      stderrStream = true;
      process.stderr.write(bytes.subarray(off));
      return;
    }
  }
}

/** Write to stdout; false when the reader has closed the pipe (EPIPE), which is not an error here. */
function writeStdout(text: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    // The stream also emits the error as an event after the callback, and an unhandled 'error'
    // event would crash with a stack trace: this listener stays for the rest of the process.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    process.stdout.write(text, (err) => {
      if (!err) resolve(true);
      else if ((err as NodeJS.ErrnoException).code === 'EPIPE') resolve(false);
      else reject(err);
    });
  });
}

/**
 * The output file's path relative to the tree, when it lies inside it: it must not list itself
 * (with the digest of its previous version).
 */
function outputInsideTree(tree: string, output: string): string[] {
  let realTree: string;
  let realDir: string;
  try {
    realTree = realpathSync(tree);
    realDir = realpathSync(path.dirname(path.resolve(output)));
  } catch {
    return []; // scanTree or writeManifest reports the missing directory with a better message
  }
  const rel = path.relative(realTree, path.join(realDir, path.basename(output)));
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return [];
  return [rel.split(path.sep).join('/')];
}
