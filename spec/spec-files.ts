/**
 * Finding and reading spec files on disk for `pulpdist validate`: recursive, `*.yaml` / `*.yml`,
 * hidden entries (`.git`, `.gitlab-ci.yml`) and node_modules skipped, each file read at most
 * MAX_FILE_BYTES + 1 bytes so that a huge or endless file cannot exhaust memory.
 */
import { open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { MAX_FILE_BYTES } from './source-file.js';
import type { Problem } from './types.js';

export interface FoundSpecFile {
  /** The path as the user gave it joined with the relative path, with `/` separators. */
  path: string;
  content: Uint8Array;
}

const SPEC_FILE = /\.ya?ml$/i;

/** Rule id of the problem for a directory without spec files (it names a directory, not a file). */
export const NO_SPEC_FILES = 'no-spec-files';

function skipped(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

function shown(p: string): string {
  return p.split(path.sep).join('/');
}

/** Read up to the cap plus one byte: enough for the loader to say "too large" without reading it all. */
async function readCapped(file: string, signal?: AbortSignal): Promise<Uint8Array> {
  signal?.throwIfAborted();
  const handle = await open(file, 'r');
  try {
    // Sized by the file (which may still grow: the loop stops at the cap either way).
    const { size } = await handle.stat();
    const buf = Buffer.alloc(Math.min(size, MAX_FILE_BYTES) + 1);
    let total = 0;
    while (total < buf.length) {
      const { bytesRead } = await handle.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return buf.subarray(0, total);
  } finally {
    await handle.close();
  }
}

export interface CollectOptions {
  signal?: AbortSignal;
  /** A directory without spec files is only a warning, not an error. @default false */
  allowEmpty?: boolean;
}

/**
 * Every spec file under `paths`, in path order, each real file once. A path that does not exist
 * is a usage error; a file that cannot be read is a problem at its line 1.
 */
export async function collectSpecFiles(paths: string[], options: CollectOptions = {}): Promise<{ files: FoundSpecFile[]; problems: Problem[] }> {
  const { signal, allowEmpty = false } = options;
  const found: { shown: string; abs: string }[] = [];
  const seenReal = new Set<string>();
  const empty: string[] = [];
  let matched = 0;
  const add = async (abs: string, display: string) => {
    let real: string;
    try {
      real = await realpath(abs);
    } catch {
      real = abs;
    }
    if (seenReal.has(real)) return;
    seenReal.add(real);
    found.push({ shown: shown(display), abs });
  };

  const walk = async (dir: string, display: string, visited: Set<string>) => {
    signal?.throwIfAborted();
    const real = await realpath(dir);
    // A symlink back up the tree would loop forever.
    if (visited.has(real)) return;
    visited.add(real);
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (skipped(e.name)) continue;
      const abs = path.join(dir, e.name);
      const disp = path.join(display, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const st = await stat(abs).catch(() => undefined);
        isDir = st?.isDirectory() ?? false;
        isFile = st?.isFile() ?? false;
      }
      if (isDir) await walk(abs, disp, visited);
      else if (isFile && SPEC_FILE.test(e.name)) {
        matched++;
        await add(abs, disp);
      }
    }
  };

  for (const p of paths) {
    const st = await stat(p).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      if (st.code === 'ENOENT' || st.code === 'ENOTDIR') throw new UsageError(`path "${p}" does not exist`);
      throw new UsageError(`path "${p}" cannot be read: ${st.code ?? st.message}`);
    }
    if (st.isDirectory()) {
      const before = matched;
      await walk(p, path.normalize(p), new Set());
      // A typo in a CI job's path must not pass as "ok: 0 files".
      if (matched === before) empty.push(shown(path.normalize(p)));
    }
    else if (st.isFile()) await add(p, p);
    // A FIFO or a device would block or never end.
    else throw new UsageError(`path "${p}" is not a file or a directory`);
  }

  const files: FoundSpecFile[] = [];
  const problems: Problem[] = empty.map((dir) => ({
    file: dir,
    line: 1,
    column: 1,
    // An error by default: a CI job pointed at the wrong path must fail, not pass on nothing.
    severity: allowEmpty ? ('warning' as const) : ('error' as const),
    rule: NO_SPEC_FILES,
    message: `no *.yaml or *.yml file under this directory (hidden entries and node_modules are skipped)${allowEmpty ? '' : '; check the path'}`,
  }));
  for (const f of found) {
    try {
      files.push({ path: f.shown, content: await readCapped(f.abs, signal) });
    } catch (err) {
      signal?.throwIfAborted();
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
      problems.push({ file: f.shown, line: 1, column: 1, severity: 'error', rule: 'file-read', message: `file cannot be read (${code}); check its permissions` });
    }
  }
  return { files, problems };
}
