/**
 * Moving a branch of a local repository the way git itself does: create `<ref>.lock` exclusively,
 * check the branch is still where we read it, write the new value into the lock file, rename it
 * over the ref. The rename makes the change atomic for readers (isomorphic-git's writeRef
 * truncates and rewrites the ref in place, so a `git log` running at that instant saw a broken,
 * empty ref), and the exclusive lock file is the one git, a push into the repository or another
 * controller also takes, so the compare-and-set holds against all of them.
 */
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import git from 'isomorphic-git';
import type { GitRepo } from './tree.js';

export type RefUpdate = 'ok' | 'rejected';

/**
 * A lock older than this was left by a writer that died between taking it and renaming it (the
 * update itself takes milliseconds); git leaves such a lock for a person to remove, but a
 * controller killed at that instant would otherwise never publish status again.
 */
export const STALE_LOCK_MS = 60_000;

/**
 * Set `ref` (e.g. `refs/heads/pulpdist/status`) to `value` if it is now `expected` (null: absent),
 * reading the current value with `current` while the lock is held. `rejected` when the ref moved
 * or someone else holds its lock: the caller re-reads and retries.
 */
export async function updateRefLocked(gitdir: string, ref: string, value: string, expected: string | null, current: () => Promise<string | null>): Promise<RefUpdate> {
  const file = path.join(gitdir, ref);
  const lock = `${file}.lock`;
  await mkdir(path.dirname(file), { recursive: true });
  let handle: FileHandle | null = await takeLock(lock);
  if (!handle) return 'rejected';
  let renamed = false;
  try {
    if ((await current()) !== expected) return 'rejected';
    await handle.writeFile(`${value}\n`);
    await handle.close();
    handle = null;
    await rename(lock, file);
    renamed = true;
    return 'ok';
  } finally {
    await handle?.close();
    if (!renamed) await rm(lock, { force: true });
  }
}

/** The lock file, opened for writing; null while someone else (not stale) holds it. */
async function takeLock(lock: string): Promise<FileHandle | null> {
  const exclusive = () =>
    open(lock, 'wx').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return null;
      throw err;
    });
  const handle = await exclusive();
  if (handle) return handle;
  const held = await stat(lock).catch(() => null);
  if (!held || Date.now() - held.mtimeMs < STALE_LOCK_MS) return null;
  await rm(lock, { force: true });
  return exclusive();
}

/** The branch's head oid, or null when the branch does not exist. */
export async function resolveBranch(repo: GitRepo, ref: string): Promise<string | null> {
  try {
    return await git.resolveRef({ fs: repo.fs, gitdir: repo.gitdir, ref });
  } catch (err) {
    if ((err as { code?: string }).code === 'NotFoundError') return null;
    throw err;
  }
}
