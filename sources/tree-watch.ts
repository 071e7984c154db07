/**
 * A watch on a local source tree (inotify through fs.watch, one per directory), so that a
 * long-lived source reader can tell that a tree has not changed since its last scan without
 * looking at every file: a rescan of 10,000 unchanged files is 10,000 lstats (≈ 0.13 s here) on
 * every pass.
 *
 * The watch is armed before the scan it vouches for, so a change during that scan is seen too.
 * It is only ever trusted to say "nothing changed"; anything it cannot vouch for ends it:
 * - a filesystem whose changes may come from elsewhere (NFS, FUSE, overlayfs's lower layers) or a
 *   directory on another device (a mount inside the tree): not watched at all;
 * - a tree with more directories than its caller allows (inotify watches are a per-user limit:
 *   sources/reader.ts gives each tree at most MAX_DIRS, and all its trees WATCH_BUDGET_DIRS): not
 *   watched;
 * - any event (a new directory among them), or a watcher error: dirty until the next scan. Reads
 *   are not events (an atime update is IN_ACCESS, which libuv does not ask for), so the scan
 *   itself and the origin's import reading the tree leave the watch alone;
 * - inotify drops events when its queue overflows, and libuv does not report the overflow: a
 *   watch is trusted for MAX_TRUST_MS at most, then the tree is scanned again.
 *
 * WatchedTrees keeps a source reader's watches with the scan each vouches for.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LOCAL_CLOCK_FS_TYPES, fsTypeOf } from '../manifest/racy.js';
import type { TreeSummary } from '../reconcilers/plan-types.js';
import type { MirrorSource } from '../spec/types.js';

/**
 * statfs types whose every change goes through this kernel's inotify: the local filesystems of
 * racy.ts, but for overlayfs (a change made in a lower layer directly is never reported).
 */
const OVERLAYFS = 0x794c7630;
const WATCHABLE_FS_TYPES: ReadonlySet<number> = new Set([...LOCAL_CLOCK_FS_TYPES.keys()].filter((t) => t !== OVERLAYFS));

/** Directories one watch covers at most. */
export const MAX_DIRS = 4096;
/**
 * Directories all of one reader's watches cover at most: well under the smallest common
 * `fs.inotify.max_user_watches` (8,192 on older kernels), which every program of the same user shares.
 */
export const WATCH_BUDGET_DIRS = 6000;
/** How long an event-free watch is believed: past this, the tree is scanned again whatever it says. */
export const MAX_TRUST_MS = 5 * 60_000;

/** The names the reader itself writes at a tree's root (PULP_MANIFEST, through a temp file): not changes. */
const OWN_ROOT_NAME = /^(?:PULP_MANIFEST|\.PULP_MANIFEST\.tmp-\d+-[0-9a-f]+)$/;

export class TreeWatch {
  private readonly watchers: fs.FSWatcher[] = [];
  private changed = false;
  private readonly armedAt = Date.now();

  private constructor(readonly root: string) {}

  /** Directories watched. */
  get dirs(): number {
    return this.watchers.length;
  }

  /**
   * Watch every directory under `root` (a real path), `maxDirs` at most. Null when the tree
   * cannot be watched reliably (see above) or a watcher could not be set up; the caller then
   * scans as always.
   */
  static arm(root: string, maxDirs = MAX_DIRS): TreeWatch | null {
    const type = fsTypeOf(root);
    if (type === undefined || !WATCHABLE_FS_TYPES.has(type)) return null;
    const w = new TreeWatch(root);
    try {
      const dev = fs.statSync(root).dev;
      const dirs = [root];
      for (let i = 0; i < dirs.length; i++) {
        if (dirs.length > maxDirs) throw new Error('too many directories');
        const dir = dirs[i]!;
        w.add(dir);
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
          if (!e.isDirectory()) continue;
          const sub = path.join(dir, e.name);
          if (fs.statSync(sub).dev !== dev) throw new Error('a mount point inside the tree');
          dirs.push(sub);
        }
      }
    } catch {
      w.close();
      return null;
    }
    return w;
  }

  private add(dir: string): void {
    const atRoot = dir === this.root;
    const watcher = fs.watch(dir, { persistent: false }, (_event, name) => {
      if (atRoot && typeof name === 'string' && OWN_ROOT_NAME.test(name)) return;
      this.changed = true;
    });
    watcher.on('error', () => (this.changed = true));
    this.watchers.push(watcher);
  }

  /**
   * True when nothing under the root changed since the watch was armed, as far as it can tell.
   * Yields to the event loop first: a change made just before this call has its event queued in
   * the kernel, and only the loop's poll phase delivers it. Two turns, so that one whole poll
   * phase runs after this call whichever phase it was made in.
   */
  async unchanged(now = Date.now()): Promise<boolean> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    return !this.changed && !this.expired(now);
  }

  /** Past MAX_TRUST_MS: no longer believed. */
  expired(now = Date.now()): boolean {
    return now - this.armedAt >= MAX_TRUST_MS;
  }

  close(): void {
    for (const watcher of this.watchers.splice(0)) watcher.close();
  }
}

type PathSource = Extract<MirrorSource, { kind: 'path' }>;

/** A path source's options that change what its scan gives: another set means another tree. */
function shapeOf(source: PathSource): string {
  return JSON.stringify([source.exclude ?? null, source.symlinks ?? null, source.settleMs ?? null, source.inProgressMarker ?? null]);
}

/** The real path of a tree, or null when it cannot be resolved (the scan then says why). */
function realRootOf(dir: string): string | null {
  try {
    return fs.realpathSync.native(dir);
  } catch {
    return null;
  }
}

/** A watch armed before a scan, at the tree's real root then. */
export interface Armed {
  root: string;
  watch: TreeWatch;
}

interface Kept extends Armed {
  shape: string;
  tree: TreeSummary;
}

/**
 * A source reader's watched trees (sources/reader.ts `watchTrees`): the last scan of each path,
 * reused while its watch says nothing changed, the source's options are the same and its path
 * still resolves to the same real root (a `current -> compose-N` link retargeted is a new tree).
 */
export class WatchedTrees {
  private readonly byPath = new Map<string, Kept>();

  /** The last scan's tree if nothing changed since; else forgets it (the caller scans). */
  async unchanged(source: PathSource): Promise<TreeSummary | null> {
    // Watches of trees no longer read (a deleted mirror) expire with the others.
    for (const [key, kept] of this.byPath) {
      if (!kept.watch.expired()) continue;
      kept.watch.close();
      this.byPath.delete(key);
    }
    const last = this.byPath.get(source.path);
    if (!last) return null;
    if (last.shape === shapeOf(source) && (await last.watch.unchanged()) && realRootOf(source.path) === last.root) return last.tree;
    last.watch.close();
    this.byPath.delete(source.path);
    return null;
  }

  /** A watch for the scan about to start, within WATCH_BUDGET_DIRS; null when none. */
  arm(source: PathSource): Armed | null {
    const root = realRootOf(source.path);
    if (root === null) return null;
    let budget = WATCH_BUDGET_DIRS;
    for (const kept of this.byPath.values()) budget -= kept.watch.dirs;
    const watch = budget > 0 ? TreeWatch.arm(root, Math.min(MAX_DIRS, budget)) : null;
    return watch ? { root, watch } : null;
  }

  /** The scan under `armed` gave `tree` at `scannedRoot`: kept if the root is the one watched. */
  keep(source: PathSource, armed: Armed, scannedRoot: string, tree: TreeSummary): void {
    if (scannedRoot !== armed.root) return armed.watch.close();
    // Two mirrors of one tree read in the same pass: the later scan's watch stays.
    this.byPath.get(source.path)?.watch.close();
    this.byPath.set(source.path, { ...armed, shape: shapeOf(source), tree });
  }

  close(): void {
    for (const kept of this.byPath.values()) kept.watch.close();
    this.byPath.clear();
  }
}
