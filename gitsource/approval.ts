/**
 * Approving a mass delete through Git: the trailer `Pulpdist-Allow-Mass-Delete: yes` in the
 * message of the spec commit pulpdist applies (docs/plan-apply.md says why a trailer and not a
 * spec field: it belongs to the one commit that removes the mirrors, is reviewed with it, and
 * expires by itself with the next commit, so it can never be left switched on).
 */
import git from 'isomorphic-git';
import type { GitRepo } from './tree.js';

export const MASS_DELETE_TRAILER = 'Pulpdist-Allow-Mass-Delete';

/**
 * True when the message's trailer block (its last paragraph, as `git interpret-trailers` reads
 * it) says `Pulpdist-Allow-Mass-Delete: yes` (or `true`); the key is case-insensitive. A mention in
 * the body does not count: only a trailer is a deliberate approval.
 */
export function approvesMassDelete(message: string): boolean {
  const paragraphs = message.trim().split(/\n[ \t]*\n/);
  const last = paragraphs.length > 1 ? paragraphs[paragraphs.length - 1] ?? '' : '';
  const key = MASS_DELETE_TRAILER.toLowerCase();
  for (const line of last.split('\n')) {
    const m = /^([A-Za-z0-9-]+)\s*:\s*(.*?)\s*$/.exec(line);
    if (m && m[1]?.toLowerCase() === key && /^(yes|true)$/i.test(m[2] ?? '')) return true;
  }
  return false;
}

/** Whether `commit` of `repo` approves a mass delete. */
export async function commitApprovesMassDelete(repo: GitRepo, commit: string): Promise<boolean> {
  const { commit: c } = await git.readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid: commit, cache: repo.cache });
  return approvesMassDelete(c.message);
}

/**
 * For `plan`/`apply` on a checkout: the HEAD commit of the work tree that holds `dir`, and whether
 * it approves a mass delete; null when `dir` is not inside a Git work tree (or it has no commit).
 */
export async function headApproval(fs: GitRepo['fs'], dir: string): Promise<{ commit: string; approved: boolean } | null> {
  let root: string;
  try {
    root = await git.findRoot({ fs, filepath: dir });
  } catch {
    return null; // not a work tree: only --allow-mass-delete can approve
  }
  try {
    const commit = await git.resolveRef({ fs, dir: root, ref: 'HEAD' });
    const { commit: c } = await git.readCommit({ fs, dir: root, oid: commit });
    return { commit, approved: approvesMassDelete(c.message) };
  } catch {
    return null; // a repository with no commit yet approves nothing
  }
}
