import type { HashPool } from './hash-pool.js';
import type { SkippedLink, SymlinkPolicy } from './walk.js';

export type { SkippedLink, SkippedLinkReason, SymlinkPolicy } from './walk.js';

/** A PULP_MANIFEST line: `relative_path,sha256,size`. */
export interface ManifestEntry {
  /** `/`-separated path relative to the tree root, matching `^[^/]+(/[^/]+)*$`. */
  relativePath: string;
  /** Lowercase hex sha256 of the file's bytes. */
  sha256: string;
  size: number;
}

/** What scanTree reports while it works (for a progress line). */
export interface ScanProgress {
  /** `walk` while directories are still being listed; `hash` once every file is known. */
  phase: 'walk' | 'hash';
  /** Regular files found so far. */
  filesSeen: number;
  /** Files that must be read (cache misses) found so far, and their bytes. */
  filesToHash: number;
  bytesToHash: number;
  /**
   * Of filesToHash, those whose size is not known yet (left out of bytesToHash): a scan with no
   * cache records learns sizes as it reads the files.
   */
  filesUnsized: number;
  /** Files and bytes read and hashed so far. */
  filesHashed: number;
  bytesHashed: number;
}

/** Options of scanTree. */
export interface ScanOptions {
  /**
   * Where the rescan cache lives: a file path, `false` for no cache, or undefined for the default
   * (`$XDG_CACHE_HOME/pulpdist/`, falling back to `~/.cache/pulpdist/`, keyed by the tree's real path).
   * @default undefined
   */
  cacheFile?: string | false;
  /**
   * Glob patterns (picomatch, dotfiles included) of files and directories to leave out. A pattern
   * without `/` matches a name at any depth; one with `/` matches the path from the tree root.
   * A directory that matches is left out with everything below it. @default []
   */
  exclude?: string[];
  /**
   * Symlinks. `follow`: a link whose target lies inside the tree is listed at the link's own path
   * (a file with the target's content; a directory with its files below the link's path, loops
   * and more than MAX_LINK_DEPTH nested directory links cut); a link that dangles, leaves the tree
   * or loops is left out and named in `stats.links.skipped`. `strict`: the same, but such a link
   * fails the scan (SymlinkError). `skip`: no link is followed (counted in `stats.skipped`).
   * @default 'follow'
   */
  symlinks?: SymlinkPolicy;
  /**
   * Refuse (TreeBusyError `changed`) a tree that changed while it was scanned: a directory whose
   * stat moved between its listing and the end of the scan (files created, removed, renamed), a
   * recently changed file whose stat moved likewise, or a file changed after the scan started.
   * The controller sets it; `pulpdist manifest` does not. @default false
   */
  requireQuiet?: boolean;
  /** The tree must have been unchanged this long (newest mtime/ctime of its files and directories), else TreeBusyError `settling`. */
  settleMs?: number;
  /** A glob (exclude syntax): while a file matching it exists, TreeBusyError `marker`. Matching files are never listed. */
  inProgressMarker?: string;
  /** Exact relative paths to leave out (e.g. the output file when it lies inside the tree). @default [] */
  omit?: string[];
  /** Aborts the scan: workers are stopped and the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called at most a few times a second while the scan runs. */
  onProgress?: (progress: ScanProgress) => void;
  /** Hashing threads. @default os.availableParallelism() */
  workers?: number;
  /**
   * A pool shared with other scans (many small trees: one set of threads instead of a start-up per
   * tree). The scan neither closes it nor sizes it (`workers` then only bounds the batches it
   * queues). @default a pool of `workers` threads for this scan, closed at its end
   */
  pool?: HashPool;
  /** Environment used for the default cache location. @default process.env */
  env?: Record<string, string | undefined>;
  /**
   * A file whose mtime or ctime is less than this old when the scan starts is hashed but not
   * cached: a rewrite within the same timestamp tick would leave its stat unchanged (git's
   * "racy clean" problem). By default it fits the file (manifest/racy.ts): 100 ms on a local
   * filesystem stamped from this host's clock (ext4, xfs, btrfs, tmpfs, overlayfs, zfs, f2fs)
   * for a file with sub-second stamps on the root's device; 2 s otherwise (1 s and 2 s timestamp
   * granularity, file servers whose clock is behind this host's). Tests pass a negative window
   * to cache files written a moment ago. @default per file: 100 or 2000
   */
  racyWindowMs?: number;
}

/** What scanTree found besides the entries: counts, what was left out and why, cache use. */
export interface ScanStats {
  /** Regular files listed in the manifest, and their total size. */
  files: number;
  bytes: number;
  /** Files read and hashed in this scan (cache misses). */
  hashedFiles: number;
  hashedBytes: number;
  /** Files whose sha256 came from the cache. */
  cachedFiles: number;
  cachedBytes: number;
  /**
   * Files (or whole directories) whose names a PULP_MANIFEST cannot carry, as relative paths:
   * a line break anywhere, leading or trailing whitespace, a top-level name starting with `#`,
   * or bytes that are not UTF-8 (shown with `\xNN` escapes). Left out of the manifest.
   */
  unrepresentable: string[];
  /** Entries not listed because they are not regular files or followed links (Pulp can only serve files). */
  skipped: { symlinks: number; devices: number; sockets: number; fifos: number; other: number };
  /** Files and directories left out by `exclude` / `omit` (a directory counts once). */
  excluded: number;
  /**
   * Symlinks followed, and those left out under `follow` (sorted by path; each is also counted in
   * `skipped.symlinks`, as is every link under `skip`).
   */
  links: { followed: number; skipped: SkippedLink[] };
  /** Files that disappeared between listing and reading: the manifest describes the tree without them. */
  vanished: number;
  /** Wall time of the scan in milliseconds. */
  durationMs: number;
  /** The cache used: its path (null when disabled), whether a valid one was loaded, whether it was rewritten. */
  cache: {
    file: string | null;
    state: 'disabled' | 'missing' | 'loaded' | 'corrupt';
    written: boolean;
    /** Why the cache could not be read or written (the scan itself is still right without it). */
    error?: string;
  };
}
