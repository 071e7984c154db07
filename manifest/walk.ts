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
  /**
   * The real absolute path to read when it is not root + relativePath: a file reached through a
   * symlink. Reading the resolved path keeps O_NOFOLLOW in the hash threads (a link retargeted
   * mid-scan cannot make them read outside the tree).
   */
  source?: string;
}

/** A path that could not be read, with the system error code. */
export interface UnreadablePath {
  relativePath: string;
  code: string;
}

/** What to do with symlinks (docs/manifest.md, "Symlinks"). */
export type SymlinkPolicy = 'follow' | 'strict' | 'skip';

/** Why a symlink was not followed. */
export type SkippedLinkReason = 'dangling' | 'outside' | 'cycle' | 'too-deep' | 'special';

/** A symlink that was not followed under `follow` or `strict`. */
export interface SkippedLink {
  relativePath: string;
  /** What the link says (readlink), for the message. */
  target: string;
  reason: SkippedLinkReason;
}

/**
 * Directory links followed one inside another on one path, at most. Cycles are caught exactly
 * (below); this bounds trees where links fan out without looping (each level linking twice to the
 * next would otherwise list 2^depth copies).
 */
export const MAX_LINK_DEPTH = 8;

export interface WalkOptions {
  /** @default 'follow' */
  symlinks?: SymlinkPolicy;
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
  /** Symlinks followed (to files and directories), and those that were not (none listed under `skip`). */
  links: { followed: number; skipped: SkippedLink[] };
}

/** A directory to list: its relative path, its real path, and how it was reached. */
interface Dir {
  rel: string;
  real: string;
  /** The directory above on the walked path (not on disk: a link's parent is where the link is). */
  parent: Dir | undefined;
  /** Directory links followed to get here. */
  linkDepth: number;
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

/**
 * Walk `root` (a real, absolute directory path). Symlinks per `symlinks`: under `follow` and
 * `strict`, a link whose target (resolved) lies inside the tree is listed at the link's own path,
 * a file with its target's content, a directory with its files below the link's path.
 */
export async function walkTree(root: string, options: WalkOptions): Promise<WalkResult> {
  const { isExcluded, omit, onFile, signal, symlinks = 'follow' } = options;
  const result: WalkResult = {
    unrepresentable: [],
    skipped: { symlinks: 0, devices: 0, sockets: 0, fifos: 0, other: 0 },
    excluded: 0,
    unreadable: [],
    vanished: 0,
    links: { followed: 0, skipped: [] },
  };
  const prefix = root.endsWith('/') ? root : root + '/';
  const stack: Dir[] = [{ rel: '', real: root, parent: undefined, linkDepth: 0 }];
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const dir = stack.pop()!;
    const relDir = dir.rel;
    const absDir = dir.real;
    const absPrefix = absDir.endsWith('/') ? absDir : absDir + '/';
    // Files below a followed directory link are read at their real path (see FileRecord.source).
    const viaLink = dir.linkDepth > 0;
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
    const subdirs: Dir[] = [];
    const sub = (rel: string, name: string): Dir => ({ rel, real: absPrefix + name, parent: dir, linkDepth: dir.linkDepth });
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
      let isLink = d.isSymbolicLink();
      let st: fs.BigIntStats | undefined;
      if (!isDir && !isFile && !isLink && !d.isBlockDevice() && !d.isCharacterDevice() && !d.isSocket() && !d.isFIFO()) {
        // DT_UNKNOWN (some network and older filesystems): only lstat knows the type.
        st = lstatOrRecord(absPrefix + name, rel, result);
        if (!st) continue;
        isDir = st.isDirectory();
        isFile = st.isFile();
        isLink = st.isSymbolicLink();
        if (!isDir && !isFile && !isLink) {
          countSkipped(st, result.skipped);
          continue;
        }
      }
      if (isLink && symlinks !== 'skip') {
        const followed = followLink(root, prefix, dir, rel, absPrefix + name, result);
        if (!followed) continue;
        if ('dir' in followed) {
          if (unrepresentableReason(rel + '/x')) result.unrepresentable.push(rel + '/');
          else subdirs.push(followed.dir);
          continue;
        }
        if (!obviouslyRepresentable(name) && unrepresentableReason(rel)) {
          result.unrepresentable.push(rel);
          continue;
        }
        const wait = onFile(followed.file);
        if (wait) await wait;
        continue;
      }
      if (isDir) {
        // Every path below carries this prefix; its own trailing whitespace is not at an edge.
        if (unrepresentableReason(rel + '/x')) result.unrepresentable.push(rel + '/');
        else subdirs.push(sub(rel, name));
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
        // Replaced by something else since readdir: treat it as what it is now (a link that
        // appeared here is counted, not followed: the next scan sees it as a link from the start).
        if (st.isDirectory()) subdirs.push(sub(rel, name));
        else countSkipped(st, result.skipped);
        continue;
      }
      const record = recordOf(rel, st);
      if (viaLink) record.source = absPrefix + name;
      const wait = onFile(record);
      if (wait) await wait;
    }
    for (const s of subdirs) stack.push(s);
    // Not given the signal: an aborted timer rejects with a generic AbortError, while the check at
    // the top of the loop throws the caller's own reason.
    await yieldToLoop();
  }
  return result;
}

/**
 * Resolve a symlink met by the walk: a file record or a directory to list when its target lies
 * inside the tree, otherwise undefined with the link recorded in `result.links.skipped`.
 */
function followLink(root: string, prefix: string, dir: Dir, rel: string, abs: string, result: WalkResult): { file: FileRecord } | { dir: Dir } | undefined {
  const skip = (reason: SkippedLinkReason) => {
    let target = '';
    try {
      target = fs.readlinkSync(abs);
    } catch {
      // Gone or replaced since readdir: the reason still says what the walk saw.
    }
    result.skipped.symlinks += 1;
    result.links.skipped.push({ relativePath: rel, target, reason });
    return undefined;
  };
  let real: string;
  try {
    real = fs.realpathSync.native(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return skip('dangling');
    if (code === 'ELOOP') return skip('cycle');
    result.unreadable.push({ relativePath: rel, code: code ?? 'EIO' });
    return undefined;
  }
  if (real !== root && !real.startsWith(prefix)) return skip('outside');
  let st: fs.BigIntStats | undefined;
  try {
    st = fs.statSync(real, { bigint: true, throwIfNoEntry: false });
  } catch (err) {
    result.unreadable.push({ relativePath: rel, code: (err as NodeJS.ErrnoException).code ?? 'EIO' });
    return undefined;
  }
  if (!st) return skip('dangling');
  if (st.isFile()) {
    result.links.followed += 1;
    return { file: { ...recordOf(rel, st), source: real } };
  }
  if (!st.isDirectory()) return skip('special');
  // A link to a directory that holds (or is) a directory on the walked path would list that
  // directory again below itself, forever: `latest -> .`, `a/up -> ..`, or two links pointing at
  // each other's directories.
  const realSlash = real + '/';
  for (let d: Dir | undefined = dir; d; d = d.parent) {
    if (d.real === real || d.real.startsWith(realSlash)) return skip('cycle');
  }
  if (dir.linkDepth >= MAX_LINK_DEPTH) return skip('too-deep');
  result.links.followed += 1;
  return { dir: { rel, real, parent: dir, linkDepth: dir.linkDepth + 1 } };
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
