/**
 * The Git source of the controller: where the spec commits come from and where status commits go.
 * `--repo PATH` reads a local repository's object store directly (never its work tree) and
 * watches its refs; `--repo http(s)://…` keeps a bare clone in the state dir and fetches.
 * Either way the spec branch's head is simply the desired state, so a force-push needs no care.
 */
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import { GitSourceError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { readYamlFiles, type GitFs, type GitRepo, type TreeFile } from './git-tree.js';
import { updateRefLocked } from './git-ref.js';
import { watchRefs } from './git-watch.js';
import { openRemoteSource } from './git-remote.js';

export interface GitSource {
  /** `local` or `remote`; a remote source pushes status commits, a local one moves the ref. */
  readonly kind: 'local' | 'remote';
  /** The repository for people: a path, or the URL without credentials. */
  readonly description: string;
  readonly repo: GitRepo;
  /** Fetch (remote) and resolve the spec branch's head commit. */
  refresh(opts: { signal: AbortSignal }): Promise<string>;
  /** The `*.yaml`/`*.yml` files under the spec path in `commit`. */
  readSpecFiles(commit: string, opts: { signal: AbortSignal }): Promise<TreeFile[]>;
  /**
   * Call `onChange` soon after the spec branch moves (local: a ref watch; remote: nothing, the
   * loop polls and the webhook pokes). Returns a function that stops watching.
   */
  watch(onChange: () => void): Promise<() => Promise<void>>;
  /** The status branch's head (after a fetch for a remote), or null if it does not exist yet. */
  statusHead(opts: { signal: AbortSignal }): Promise<string | null>;
  /**
   * Move the status branch from `expected` to `commit`; `rejected` when the branch is no longer at
   * `expected` (someone else pushed): the caller re-reads the head, re-applies and retries.
   */
  publishStatus(commit: string, expected: string | null, opts: { signal: AbortSignal }): Promise<'ok' | 'rejected'>;
}

export interface GitSourceOptions {
  /** A local path, or an http(s) URL. */
  repo: string;
  /** @default 'main' */
  branch?: string;
  /** Spec directory inside the repository. @default '' (the whole tree) */
  path?: string;
  /** @default 'pulpdist/status' */
  statusBranch?: string;
  /** Where a remote repository is cloned. Required for a remote. */
  stateDir?: string;
  /** Credentials source (PULPDIST_GIT_USERNAME / PULPDIST_GIT_TOKEN). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The fs isomorphic-git reads and writes objects and refs through. @default node:fs */
  fs?: GitFs;
  log: Logger;
}

/** Open the repository named by `--repo`. */
export async function openGitSource(options: GitSourceOptions): Promise<GitSource> {
  const { repo, branch = 'main', path: specPath = '', statusBranch = 'pulpdist/status' } = options;
  if (/^https?:\/\//i.test(repo)) {
    if (!options.stateDir) throw new GitSourceError('a remote repository needs a state directory (--state-dir)', { retryable: false });
    return openRemoteSource({ url: repo, branch, specPath, statusBranch, stateDir: options.stateDir, env: options.env ?? process.env, fs: options.fs ?? fs, log: options.log });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^:]+:/.test(repo)) {
    throw new GitSourceError(`unsupported repository URL "${repo}": use an http(s) URL or a local path`, { retryable: false });
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
    const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'));
    if (m) return path.resolve(dir, m[1]!.trim());
  }
  if (fs.existsSync(path.join(dir, 'HEAD')) && fs.existsSync(path.join(dir, 'objects'))) return dir;
  if (!fs.existsSync(dir)) throw new GitSourceError(`repository ${dir} does not exist (--repo)`, { retryable: false });
  throw new GitSourceError(`${dir} is not a Git repository (no .git, HEAD or objects/) (--repo)`, { retryable: false });
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

function openLocalSource(o: { dir: string; branch: string; specPath: string; statusBranch: string; fs: GitFs; log: Logger }): GitSource {
  const repo: GitRepo = { fs: o.fs, gitdir: findGitdir(o.dir), cache: {} };
  let lastHead: string | null = null;
  const specRef = `refs/heads/${o.branch}`;
  const statusRef = `refs/heads/${o.statusBranch}`;
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
    async statusHead({ signal }) {
      signal.throwIfAborted();
      return resolveBranch(repo, statusRef);
    },
    async publishStatus(commit, expected, { signal }) {
      signal.throwIfAborted();
      // Compare-and-set under git's own ref lock: a writer that moved the branch since we read it
      // wins; we re-apply on top.
      return updateRefLocked(repo.gitdir, statusRef, commit, expected, () => resolveBranch(repo, statusRef));
    },
  };
}
