/**
 * Walks a tree and reports every regular file with the stat fields the cache is keyed on.
 *
 * Synchronous readdir + lstat in a tight loop: measured on 10,000 files in 200 directories, it
 * takes ~50 ms where the same walk through fs.promises (one libuv round trip per call) takes
 * 260–350 ms. The walk yields to the event loop after each directory, so that worker results,
 * progress and abort are handled while it runs.
 */
import fs from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { escapeRawName, isValidUtf8, mayBeMisdecoded, obviouslyRepresentable, unrepresentableReason } from './names.js';
import type { ExcludeMatcher } from './exclude.js';

/** One regular file as the walk saw it. Stat fields are decimal strings (exact, cheap to compare). */
export interface FileRecord {
  relativePath: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

/** A path that could not be read, with the system error code. */
export interface UnreadablePath {
  relativePath: string;
  code: string;
}

export interface WalkOptions {
  /** Excludes files and whole directories. */
  isExcluded?: ExcludeMatcher;
  /** Exact relative paths to leave out without counting them (PULP_MANIFEST, the output file). */
  omit?: ReadonlySet<string>;
  /** Called for each regular file as soon as it is found; a returned promise pauses the walk (backpressure). */
  onFile: (file: FileRecord) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface WalkResult {
  unrepresentable: string[];
  skipped: { symlinks: number; devices: number; sockets: number; fifos: number; other: number };
  excluded: number;
  unreadable: UnreadablePath[];
  /** Files that vanished between readdir and lstat. */
  vanished: number;
}

/** The cache key of a stat: size, mtime ns, ctime ns, inode. */
export function statKey(f: Pick<FileRecord, 'size' | 'mtimeNs' | 'ctimeNs' | 'ino'>): string {
  return `${f.size}\0${f.mtimeNs}\0${f.ctimeNs}\0${f.ino}`;
}

/** Lstat one path; undefined when it no longer exists. Throws other errors. */
export function statFile(abs: string): fs.BigIntStats | undefined {
  return fs.lstatSync(abs, { bigint: true, throwIfNoEntry: false });
}

/** A FileRecord from a bigint stat. */
export function recordOf(relativePath: string, st: fs.BigIntStats): FileRecord {
  return { relativePath, size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ino: st.ino.toString() };
}

/** Walk `root` (a real, absolute directory path). Never follows symlinks. */
export async function walkTree(root: string, options: WalkOptions): Promise<WalkResult> {
  const { isExcluded, omit, onFile, signal } = options;
  const result: WalkResult = {
    unrepresentable: [],
    skipped: { symlinks: 0, devices: 0, sockets: 0, fifos: 0, other: 0 },
    excluded: 0,
    unreadable: [],
    vanished: 0,
  };
  const prefix = root.endsWith('/') ? root : root + '/';
  const stack: string[] = [''];
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const relDir = stack.pop()!;
    const absDir = relDir === '' ? root : prefix + relDir;
    const absPrefix = relDir === '' ? prefix : absDir + '/';
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(absDir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT') result.vanished += 1;
      else result.unreadable.push({ relativePath: relDir || '.', code });
      continue;
    }
    const misdecoded = dirents.some((d) => mayBeMisdecoded(d.name)) ? rawNameCheck(absDir, relDir, result) : undefined;
    const subdirs: string[] = [];
    for (const d of dirents) {
      const name = d.name;
      if (misdecoded && mayBeMisdecoded(name) && !misdecoded.has(name)) continue; // reported by rawNameCheck
      const rel = relDir === '' ? name : relDir + '/' + name;
      if (omit?.has(rel)) continue;
      if (isExcluded?.(rel)) {
        result.excluded += 1;
        continue;
      }
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      let st: fs.BigIntStats | undefined;
      if (!isDir && !isFile && !d.isSymbolicLink() && !d.isBlockDevice() && !d.isCharacterDevice() && !d.isSocket() && !d.isFIFO()) {
        // DT_UNKNOWN (some network and older filesystems): only lstat knows the type.
        st = lstatOrRecord(absPrefix + name, rel, result);
        if (!st) continue;
        isDir = st.isDirectory();
        isFile = st.isFile();
        if (!isDir && !isFile) {
          countSkipped(st, result.skipped);
          continue;
        }
      }
      if (isDir) {
        // Every path below carries this prefix; its own trailing whitespace is not at an edge.
        if (unrepresentableReason(rel + '/x')) result.unrepresentable.push(rel + '/');
        else subdirs.push(rel);
        continue;
      }
      if (!isFile) {
        countSkipped(d, result.skipped);
        continue;
      }
      if (!obviouslyRepresentable(name) && unrepresentableReason(rel)) {
        result.unrepresentable.push(rel);
        continue;
      }
      st ??= lstatOrRecord(absPrefix + name, rel, result);
      if (!st) continue;
      if (!st.isFile()) {
        // Replaced by something else since readdir: treat it as what it is now.
        if (st.isDirectory()) subdirs.push(rel);
        else countSkipped(st, result.skipped);
        continue;
      }
      const wait = onFile(recordOf(rel, st));
      if (wait) await wait;
    }
    for (const s of subdirs) stack.push(s);
    // Not given the signal: an aborted timer rejects with a generic AbortError, while the check at
    // the top of the loop throws the caller's own reason.
    await yieldToLoop();
  }
  return result;
}

function lstatOrRecord(abs: string, rel: string, result: WalkResult): fs.BigIntStats | undefined {
  try {
    const st = statFile(abs);
    if (!st) result.vanished += 1;
    return st;
  } catch (err) {
    result.unreadable.push({ relativePath: rel, code: (err as NodeJS.ErrnoException).code ?? 'EIO' });
    return undefined;
  }
}

/** Count an entry that is not a regular file or directory by its kind. */
export function countSkipped(
  d: { isSymbolicLink(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean; isSocket(): boolean; isFIFO(): boolean },
  skipped: WalkResult['skipped'],
): void {
  if (d.isSymbolicLink()) skipped.symlinks += 1;
  else if (d.isBlockDevice() || d.isCharacterDevice()) skipped.devices += 1;
  else if (d.isSocket()) skipped.sockets += 1;
  else if (d.isFIFO()) skipped.fifos += 1;
  else skipped.other += 1;
}

/**
 * Re-reads a directory's names as bytes. Names that are not UTF-8 are reported (escaped) as
 * unrepresentable: their decoded form would name no file. Returns the decoded names holding
 * U+FFFD that are genuine (valid UTF-8 that really contains U+FFFD).
 */
function rawNameCheck(absDir: string, relDir: string, result: WalkResult): Set<string> {
  const genuine = new Set<string>();
  let raw: Buffer[];
  try {
    raw = fs.readdirSync(absDir, { encoding: 'buffer' });
  } catch {
    return genuine;
  }
  for (const b of raw) {
    if (isValidUtf8(b)) genuine.add(b.toString('utf8'));
    else result.unrepresentable.push((relDir === '' ? '' : relDir + '/') + escapeRawName(b));
  }
  return genuine;
}
