/**
 * Walks a tree and reports every regular file with the stat fields the cache is keyed on.
 *
 * Synchronous readdir + lstat in a tight loop: measured on 10,000 files in 200 directories, it
 * takes ~50 ms where the same walk through fs.promises (one libuv round trip per call) takes
 * 260–350 ms. The walk yields to the event loop after each directory, so that worker results,
 * progress and abort are handled while it runs.
 */
import fs from 'node:fs';
import { escapeRawName, isValidUtf8, mayBeMisdecoded, obviouslyRepresentable, unrepresentableReason } from './names.js';
import type { ExcludeMatcher } from './exclude.js';
import { followLink, type Dir, type SkippedLink, type SymlinkPolicy } from './links.js';
import { recordOf, statFile, statKey, type WalkedFile } from './stat.js';

export { changedNs, recordOf, statFile, statKey, type FileRecord, type UnstatFile, type WalkedFile } from './stat.js';

export type { SkippedLink, SkippedLinkReason, SymlinkPolicy } from './links.js';
export { MAX_LINK_DEPTH } from './links.js';

/** A path that could not be read, with the system error code. */
export interface UnreadablePath {
  relativePath: string;
  code: string;
}

export interface WalkOptions {
  /** @default 'follow' */
  symlinks?: SymlinkPolicy;
  /** Excludes files and whole directories. */
  isExcluded?: ExcludeMatcher;
  /** Files matching it are reported in `markers` instead of `onFile` (an update-in-progress marker). */
  isMarker?: ExcludeMatcher;
  /** Stat each directory as it is listed, into `dirs` (for the quiescence check in scan.ts). */
  statDirs?: boolean;
  /** Exact relative paths to leave out without counting them (PULP_MANIFEST, the output file). */
  omit?: ReadonlySet<string>;
  /**
   * Lstat each regular file (its stat in the FileRecord). Without, a file whose directory entry
   * says it is regular is reported as an UnstatFile: one system call less per file, for a scan
   * that has no cached stat to compare with. Symlinks and untyped entries are stat'ed either way.
   * @default true
   */
  statFiles?: boolean;
  /** Called for each regular file as soon as it is found; a returned promise pauses the walk (backpressure). */
  onFile: (file: WalkedFile) => void | Promise<void>;
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
  /** Files that matched `isMarker`. */
  markers: string[];
  /** Each directory listed, with its stat before the listing (only with `statDirs`). */
  dirs: { relativePath: string; abs: string; key: string; changeNs: bigint }[];
}

/**
 * Walk `root` (a real, absolute directory path). Symlinks per `symlinks`: under `follow` and
 * `strict`, a link whose target (resolved) lies inside the tree is listed at the link's own path,
 * a file with its target's content, a directory with its files below the link's path.
 */
export async function walkTree(root: string, options: WalkOptions): Promise<WalkResult> {
  const { isExcluded, isMarker, omit, onFile, signal, statDirs, statFiles = true, symlinks = 'follow' } = options;
  const result: WalkResult = {
    unrepresentable: [],
    skipped: { symlinks: 0, devices: 0, sockets: 0, fifos: 0, other: 0 },
    excluded: 0,
    unreadable: [],
    vanished: 0,
    links: { followed: 0, skipped: [] },
    markers: [],
    dirs: [],
  };
  const prefix = root.endsWith('/') ? root : root + '/';
  const stack: Dir[] = [{ rel: '', real: root, parent: undefined, linkDepth: 0 }];
  // Real paths of directories symlinks point into, for this walk (links.ts resolveDirect).
  const realDirs = new Map<string, string>();
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    signal?.throwIfAborted();
    const relDir = dir.rel;
    const absDir = dir.real;
    const absPrefix = absDir.endsWith('/') ? absDir : absDir + '/';
    // Files below a followed directory link are read at their real path (see FileRecord.source).
    const viaLink = dir.linkDepth > 0;
    let dirents: fs.Dirent[];
    try {
      if (statDirs) {
        // Before the listing: a change made while it is read moves the stat taken after the scan.
        const st = fs.statSync(absDir, { bigint: true });
        result.dirs.push({ relativePath: relDir || '.', abs: absDir, key: statKey(recordOf('', st)), changeNs: st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs });
      }
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
        const followed = followLink(root, prefix, dir, rel, absPrefix + name, result, realDirs);
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
        if (isMarker?.(rel)) {
          result.markers.push(rel);
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
      // Without statFiles, a file the directory entry calls regular goes out unstat'ed.
      if (st || statFiles) {
        st ??= lstatOrRecord(absPrefix + name, rel, result);
        if (!st) continue;
        if (!st.isFile()) {
          // Replaced by something else since readdir: treat it as what it is now (a link that
          // appeared here is counted, not followed: the next scan sees it as a link from the start).
          if (st.isDirectory()) subdirs.push(sub(rel, name));
          else countSkipped(st, result.skipped);
          continue;
        }
      }
      if (isMarker?.(rel)) {
        result.markers.push(rel);
        continue;
      }
      const file: WalkedFile = st ? recordOf(rel, st) : { relativePath: rel };
      if (viaLink) file.source = absPrefix + name;
      const wait = onFile(file);
      if (wait) await wait;
    }
    for (const s of subdirs) stack.push(s);
    // Not given the signal: an aborted timer rejects with a generic AbortError, while the check at
    // the top of the loop throws the caller's own reason.
    await yieldToLoop();
  }
  return result;
}

/** setImmediate as a promise (not node:timers/promises: one built-in module less to load at start-up). */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
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
