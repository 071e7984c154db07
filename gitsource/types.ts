/** The Git source's contract: where spec commits come from and where status commits go. */
import type { Logger } from '../core/logger.js';
import type { GitFs, GitRepo, TreeFile } from './tree.js';

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
  /** `statusHead` for another branch of pulpdist's own (the lease: controller/lease.ts). */
  branchHead(branch: string, opts: { signal: AbortSignal }): Promise<string | null>;
  /** `publishStatus` for another branch of pulpdist's own: a compare-and-swap from `expected`. */
  publishBranch(branch: string, commit: string, expected: string | null, opts: { signal: AbortSignal }): Promise<'ok' | 'rejected'>;
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

/** Options of a source kept as a bare clone in the state dir (http(s) and SSH alike). */
export interface ClonedSourceOptions {
  url: string;
  branch: string;
  specPath: string;
  statusBranch: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  /** The fs isomorphic-git works through; the state dir itself is made with node:fs. */
  fs: GitFs;
  log: Logger;
}
