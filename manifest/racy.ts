/**
 * The racy-clean window: how old a file's mtime and ctime must be, at the start of a scan, before
 * the scan may cache its digest (git's "racy clean" problem: a rewrite within the same timestamp
 * tick as the cached read leaves the stat unchanged). The window fits where the file lives:
 * small where the timestamps come from this host's clock at sub-second granularity, 2 s anywhere
 * else. Doubt always gives the long window: it costs a re-read, never a stale digest.
 */
import fs from 'node:fs';

/** Filesystems whose stamps may be whole seconds (FAT: 2 s) or set by a file server's clock. */
export const DEFAULT_RACY_WINDOW_MS = 2000;

/**
 * A local filesystem stamps files from this host's coarse kernel clock, which moves in ticks of at
 * most 10 ms (CONFIG_HZ ≥ 100) and lags the fine clock Date.now() reads by at most one tick. So a
 * write after the scan starts gets a stamp at least the scan's start minus one tick: a file stamped
 * 100 ms before the start cannot be rewritten unseen. 10× the tick leaves room for a slow tick.
 */
export const LOCAL_RACY_WINDOW_MS = 100;

/**
 * statfs(2) f_type of local filesystems that take their stamps from this host's clock (linux/magic.h).
 * Network filesystems (NFS, SMB, Ceph…), FUSE (its daemon sets the times) and anything not listed
 * keep the long window.
 */
export const LOCAL_CLOCK_FS_TYPES: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext2/ext3/ext4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x01021994, 'tmpfs'],
  [0x794c7630, 'overlayfs'],
  [0x2fc12fc1, 'zfs'],
  [0xf2f52010, 'f2fs'],
]);

/** The filesystem at a tree's root: its statfs type (undefined when statfs failed) and its st_dev. */
export interface RootFs {
  type: number | undefined;
  /** The root directory's st_dev, a decimal string like FileRecord's stat fields. */
  dev: string;
}

/** A file's stat as the scan reads it (decimal strings). */
export interface StampedFile {
  mtimeNs: string;
  ctimeNs: string;
  dev: string;
}

/**
 * The window for one file: LOCAL_RACY_WINDOW_MS when the root's filesystem stamps from this
 * host's clock, the file lies on that same device (a mount inside the tree may be NFS) and it
 * has a sub-second stamp (a 1 s or 2 s granularity filesystem, ext3 with small inodes among them,
 * stores whole seconds; ctime is always set by the kernel, so one of the two shows the
 * granularity); DEFAULT_RACY_WINDOW_MS otherwise.
 */
export function racyWindowFor(root: RootFs, file: StampedFile): number {
  if (root.type === undefined || !LOCAL_CLOCK_FS_TYPES.has(root.type)) return DEFAULT_RACY_WINDOW_MS;
  if (file.dev !== root.dev) return DEFAULT_RACY_WINDOW_MS;
  if (wholeSecond(file.mtimeNs) && wholeSecond(file.ctimeNs)) return DEFAULT_RACY_WINDOW_MS;
  return LOCAL_RACY_WINDOW_MS;
}

/** A nanosecond stamp (decimal string) that falls on a whole second. */
function wholeSecond(ns: string): boolean {
  // Decimal strings carry no leading zeros: below a second only 0 itself is whole.
  return ns.length <= 9 ? ns === '0' : ns.endsWith('000000000');
}

/** The statfs type of the filesystem holding `dir`, undefined when statfs fails (treated as unknown). */
export function fsTypeOf(dir: string): number | undefined {
  try {
    return fs.statfsSync(dir).type;
  } catch {
    return undefined;
  }
}
