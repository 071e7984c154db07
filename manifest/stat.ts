/** The stat fields a scan keys its cache on, read the same way by the walk, links and quiescence. */
import fs from 'node:fs';

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

/**
 * A regular file the walk listed without a stat (a scan with no cache records: nothing to compare
 * a stat with). The hash thread stats the file it opens instead (HashRequest.unsized).
 */
export interface UnstatFile {
  relativePath: string;
  size?: undefined;
  /** As FileRecord.source. */
  source?: string;
}

/** What the walk reports per file: with its stat, or (statFiles: false) without. */
export type WalkedFile = FileRecord | UnstatFile;

/** The cache key of a stat: size, mtime ns, ctime ns, inode. */
export function statKey(f: Pick<FileRecord, 'size' | 'mtimeNs' | 'ctimeNs' | 'ino'>): string {
  return `${f.size}\0${f.mtimeNs}\0${f.ctimeNs}\0${f.ino}`;
}

/** When a file last changed: the later of its mtime and ctime, in nanoseconds. */
export function changedNs(f: Pick<FileRecord, 'mtimeNs' | 'ctimeNs'>): bigint {
  const m = BigInt(f.mtimeNs);
  const c = BigInt(f.ctimeNs);
  return m > c ? m : c;
}

/** Lstat one path; undefined when it no longer exists. Throws other errors. */
export function statFile(abs: string): fs.BigIntStats | undefined {
  return fs.lstatSync(abs, { bigint: true, throwIfNoEntry: false });
}

/** A FileRecord from a bigint stat. */
export function recordOf(relativePath: string, st: fs.BigIntStats): FileRecord {
  return { relativePath, size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ino: st.ino.toString() };
}

