/**
 * Following symlinks during the walk (docs/manifest.md, "Symlinks"): a link is resolved with
 * realpath, kept only when its target lies inside the tree, and a link to a directory is cut
 * when it would loop or nest deeper than MAX_LINK_DEPTH.
 */
import fs from 'node:fs';
import { recordOf, type FileRecord } from './stat.js';
import type { WalkResult } from './walk.js';

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

/** A directory to list: its relative path, its real path, and how it was reached. */
export interface Dir {
  rel: string;
  real: string;
  /** The directory above on the walked path (not on disk: a link's parent is where the link is). */
  parent: Dir | undefined;
  /** Directory links followed to get here. */
  linkDepth: number;
}

/**
 * Resolve a symlink met by the walk: a file record or a directory to list when its target lies
 * inside the tree, otherwise undefined with the link recorded in `result.links.skipped`.
 */
export function followLink(
  root: string,
  prefix: string,
  dir: Dir,
  rel: string,
  abs: string,
  result: WalkResult,
  realDirs: Map<string, string> = new Map(),
): { file: FileRecord } | { dir: Dir } | undefined {
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
  const quick = resolveDirect(abs, dir.real, realDirs);
  let real: string;
  let st: fs.BigIntStats | undefined;
  if (quick) ({ real, st } = quick);
  else {
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
    try {
      st = fs.statSync(real, { bigint: true, throwIfNoEntry: false });
    } catch (err) {
      result.unreadable.push({ relativePath: rel, code: (err as NodeJS.ErrnoException).code ?? 'EIO' });
      return undefined;
    }
  }
  if (real !== root && !real.startsWith(prefix)) return skip('outside');
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


/**
 * The common link, resolved in two system calls instead of realpath's one per path component:
 * readlink, the real path of the target's directory (remembered in `realDirs` for the walk: the
 * links of a tree point into few directories), then lstat of the target there. realpath(p) is
 * realpath(dirname p) + '/' + basename p whenever that last name is not itself a link, `.` or
 * `..`; in those cases, a trailing `/`, or any error, undefined is returned and the caller
 * resolves the link with realpath as before (which also names the error).
 */
function resolveDirect(abs: string, dirReal: string, realDirs: Map<string, string>): { real: string; st: fs.BigIntStats } | undefined {
  let target: string;
  try {
    target = fs.readlinkSync(abs);
  } catch {
    return undefined;
  }
  if (target === '' || target.endsWith('/')) return undefined;
  // The link lives in the directory the walk is listing, whose real path it knows.
  const candidate = target.startsWith('/') ? target : dirReal + '/' + target;
  const slash = candidate.lastIndexOf('/');
  const base = candidate.slice(slash + 1);
  if (base === '.' || base === '..') return undefined;
  const parent = slash === 0 ? '/' : candidate.slice(0, slash);
  let parentReal = realDirs.get(parent);
  if (parentReal === undefined) {
    try {
      parentReal = fs.realpathSync.native(parent);
    } catch {
      return undefined;
    }
    realDirs.set(parent, parentReal);
  }
  const real = (parentReal === '/' ? '' : parentReal) + '/' + base;
  let st: fs.BigIntStats | undefined;
  try {
    st = fs.lstatSync(real, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (!st || st.isSymbolicLink()) return undefined;
  return { real, st };
}
