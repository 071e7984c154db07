/**
 * The Git source of the controller: where the spec commits come from and where status commits go.
 * `--repo PATH` reads a local repository's object store directly (never its work tree) and
 * watches its refs; `--repo http(s)://…` keeps a bare clone in the state dir and fetches;
 * `--repo ssh://…` or `git@host:path` does the same through the system git (gitsource/ssh.ts).
 * Either way the spec branch's head is simply the desired state, so a force-push needs no care.
 */
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import { GitSourceError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { readYamlFiles, type GitFs, type GitRepo } from './tree.js';
import { resolveBranch, updateRefLocked } from './ref.js';
import type { GitSource, GitSourceOptions } from './types.js';
import { watchRefs } from './watch.js';
import { openRemoteSource } from './remote.js';
import { isSshUrl, openSshSource } from './ssh.js';

/** Open the repository named by `--repo`. */
export async function openGitSource(options: GitSourceOptions): Promise<GitSource> {
  const { repo, branch = 'main', path: specPath = '', statusBranch = 'pulpdist/status' } = options;
  if (/^https?:\/\//i.test(repo)) {
    if (!options.stateDir) throw new GitSourceError('a remote repository needs a state directory (--state-dir)', { retryable: false });
    return openRemoteSource({ url: repo, branch, specPath, statusBranch, stateDir: options.stateDir, env: options.env ?? process.env, fs: options.fs ?? fs, log: options.log });
  }
  if (isSshUrl(repo)) {
    if (!options.stateDir) throw new GitSourceError('a remote repository needs a state directory (--state-dir)', { retryable: false });
    return openSshSource({ url: repo, branch, specPath, statusBranch, stateDir: options.stateDir, env: options.env ?? process.env, fs: options.fs ?? fs, log: options.log });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^:]+:/.test(repo)) {
    throw new GitSourceError(`unsupported repository URL "${repo}": use an http(s) or ssh URL, or a local path`, { retryable: false });
  }
  return openLocalSource({ dir: path.resolve(repo), branch, specPath, statusBranch, fs: options.fs ?? fs, log: options.log });
}

/** Find the gitdir of a work tree (`.git` dir or `gitdir:` file) or a bare repository. */
export function findGitdir(dir: string): string {
  const dotGit = path.join(dir, '.git');
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dotGit);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) return dotGit;
  if (st?.isFile()) {
    const target = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'))?.[1];
    if (target) return path.resolve(dir, target.trim());
  }
  if (fs.existsSync(path.join(dir, 'HEAD')) && fs.existsSync(path.join(dir, 'objects'))) return dir;
  if (!fs.existsSync(dir)) throw new GitSourceError(`repository ${dir} does not exist (--repo)`, { retryable: false });
  throw new GitSourceError(`${dir} is not a Git repository (no .git, HEAD or objects/) (--repo)`, { retryable: false });
}

function openLocalSource(o: { dir: string; branch: string; specPath: string; statusBranch: string; fs: GitFs; log: Logger }): GitSource {
  const repo: GitRepo = { fs: o.fs, gitdir: findGitdir(o.dir), cache: {} };
  let lastHead: string | null = null;
  const specRef = `refs/heads/${o.branch}`;
  const statusRef = `refs/heads/${o.statusBranch}`;
  async function branchHead(ref: string, { signal }: { signal: AbortSignal }): Promise<string | null> {
    signal.throwIfAborted();
    return resolveBranch(repo, ref);
  }
  async function publishBranch(ref: string, commit: string, expected: string | null, { signal }: { signal: AbortSignal }): Promise<'ok' | 'rejected'> {
    signal.throwIfAborted();
    // Compare-and-set under git's own ref lock: a writer that moved the branch since we read it
    // wins; we re-apply on top.
    return updateRefLocked(repo.gitdir, ref, commit, expected, () => resolveBranch(repo, ref));
  }
  return {
    kind: 'local',
    description: o.dir,
    repo,
    async refresh({ signal }) {
      signal.throwIfAborted();
      const head = await resolveBranch(repo, specRef);
      if (!head) {
        const branches = await git.listBranches({ fs: repo.fs, gitdir: repo.gitdir });
        throw new GitSourceError(`branch "${o.branch}" not found in ${o.dir} (branches: ${branches.join(', ') || 'none'}) (--branch)`);
      }
      if (head !== lastHead) repo.cache = {};
      lastHead = head;
      return head;
    },
    readSpecFiles: (commit, opts) => readYamlFiles(repo, commit, o.specPath, opts),
    async watch(onChange) {
      let last = await resolveBranch(repo, specRef);
      // Every ref event is re-checked against the spec branch, so our own status commits (or any
      // other branch moving) never start a pass.
      return watchRefs(repo.gitdir, async () => {
        const now = await resolveBranch(repo, specRef).catch(() => last);
        if (now !== last) {
          last = now;
          onChange();
        }
      });
    },
    statusHead: (opts) => branchHead(statusRef, opts),
    publishStatus: (commit, expected, opts) => publishBranch(statusRef, commit, expected, opts),
    branchHead: (branch, opts) => branchHead(`refs/heads/${branch}`, opts),
    publishBranch: (branch, commit, expected, opts) => publishBranch(`refs/heads/${branch}`, commit, expected, opts),
  };
}
