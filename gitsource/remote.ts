/**
 * A remote (http/https) Git source: a bare clone under the state dir, fetched on demand; status
 * commits are pushed. Credentials come from the environment, never from the command line:
 * PULPDIST_GIT_USERNAME (default `oauth2`, which GitLab and GitHub both accept with a token) and
 * PULPDIST_GIT_TOKEN (or PULPDIST_GIT_PASSWORD). They are registered with redact() and never logged.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import { BranchNotFoundError } from '../core/errors.js';
import { resolveBranch } from './ref.js';
import { RemoteConnection, remoteCredentials } from './remote-connection.js';
import type { ClonedSourceOptions, GitSource } from './types.js';
import { readYamlFiles, type GitRepo } from './tree.js';

export { GIT_ENV } from './remote-connection.js';

/** What the remote source needs (shared with the SSH source: both keep a bare clone in the state dir). */
export type RemoteSourceOptions = ClonedSourceOptions;

/** Open (and on first use create) the bare clone of `url` in the state dir. */
export async function openRemoteSource(o: RemoteSourceOptions): Promise<GitSource> {
  const cred = remoteCredentials(o.url, o.env);
  const gitdir = path.join(o.stateDir, 'repos', createHash('sha256').update(cred.url).digest('hex').slice(0, 16) + '.git');
  const repo: GitRepo = { fs: o.fs, gitdir, cache: {} };
  await ensureBareClone(repo, cred.url, o.branch);
  const conn = new RemoteConnection(repo, cred);
  const specRef = `refs/remotes/origin/${o.branch}`;
  const statusRef = `refs/heads/${o.statusBranch}`;
  let lastHead: string | null = null;
  return {
    kind: 'remote',
    description: cred.description,
    repo,
    refresh: ({ signal }) =>
      conn.exclusive(async () => {
        const head = await conn.fetch(o.branch, signal).catch((err: unknown) => {
          // isomorphic-git's answer to a ref the server does not have.
          if ((err as { code?: string }).code === 'NotFoundError') return null;
          return conn.fail('fetching', err);
        });
        // A force-push just moves the tracking ref: the new head is the desired state.
        if (!head) throw new BranchNotFoundError(`branch "${o.branch}" not found at ${cred.description} (--branch)`, o.branch);
        await git.writeRef({ fs: repo.fs, gitdir, ref: specRef, value: head, force: true });
        if (head !== lastHead) repo.cache = {};
        lastHead = head;
        return head;
      }),
    readSpecFiles: (commit, opts) => readYamlFiles(repo, commit, o.specPath, opts),
    async watch() {
      return async () => {};
    },
    statusHead: ({ signal }) => conn.exclusive(() => statusHead(conn, o.statusBranch, signal)),
    publishStatus: (commit, _expected, { signal }) => conn.exclusive(() => publishStatus(conn, statusRef, commit, signal)),
    branchHead: (branch, { signal }) => conn.exclusive(() => statusHead(conn, branch, signal)),
    publishBranch: (branch, commit, _expected, { signal }) => conn.exclusive(() => publishStatus(conn, `refs/heads/${branch}`, commit, signal)),
  };
}

async function ensureBareClone(repo: GitRepo, url: string, branch: string): Promise<void> {
  if (fs.existsSync(path.join(repo.gitdir, 'HEAD'))) return;
  await fs.promises.mkdir(repo.gitdir, { recursive: true });
  await git.init({ fs: repo.fs, gitdir: repo.gitdir, bare: true, defaultBranch: branch });
  await git.addRemote({ fs: repo.fs, gitdir: repo.gitdir, remote: 'origin', url, force: true });
}

/** The server's status branch head, fetched into the clone if we lack it; null when absent. */
async function statusHead(conn: RemoteConnection, branch: string, signal: AbortSignal): Promise<string | null> {
  const { repo } = conn;
  const oid = await conn.serverRef(`refs/heads/${branch}`, signal).catch((err: unknown) => conn.fail('listing refs of', err));
  if (!oid) return null;
  const have = await git.readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache }).then(() => true, () => false);
  if (!have) await conn.fetch(branch, signal).catch((err: unknown) => conn.fail('fetching the status branch of', err));
  return oid;
}

/**
 * Move the local status branch to `commit` and push it. The server's compare-and-swap decides: on
 * `rejected` the local branch goes back to where it was, and the writer re-reads and re-applies.
 */
async function publishStatus(conn: RemoteConnection, ref: string, commit: string, signal: AbortSignal): Promise<'ok' | 'rejected'> {
  const { repo } = conn;
  const previous = await resolveBranch(repo, ref);
  await git.writeRef({ fs: repo.fs, gitdir: repo.gitdir, ref, value: commit, force: true });
  const outcome = await conn.push(ref, signal);
  if (outcome === 'rejected' && previous) await git.writeRef({ fs: repo.fs, gitdir: repo.gitdir, ref, value: previous, force: true });
  return outcome;
}
