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
import http from 'isomorphic-git/http/node';
import { GitSourceError, messageOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redactUrl, registerSecret } from '../core/redact.js';
import { resolveBranch } from './ref.js';
import type { GitSource } from './types.js';
import { readYamlFiles, type GitFs, type GitRepo } from './tree.js';

export interface RemoteSourceOptions {
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

/** The environment variables a remote source reads. */
export const GIT_ENV = { username: 'PULPDIST_GIT_USERNAME', token: 'PULPDIST_GIT_TOKEN', password: 'PULPDIST_GIT_PASSWORD' } as const;

/** Open (and on first use create) the bare clone of `url` in the state dir. */
export async function openRemoteSource(o: RemoteSourceOptions): Promise<GitSource> {
  const parsed = new URL(o.url);
  // userinfo in --repo works but is discouraged: it would sit in the process list. Strip it so it
  // never reaches the clone's config, logs or status.
  const urlUser = decodeURIComponent(parsed.username);
  const urlPass = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const url = parsed.toString();
  const username = o.env[GIT_ENV.username] || urlUser || 'oauth2';
  const password = o.env[GIT_ENV.token] || o.env[GIT_ENV.password] || urlPass || '';
  registerSecret(password);
  const description = redactUrl(url);

  const gitdir = path.join(o.stateDir, 'repos', createHash('sha256').update(url).digest('hex').slice(0, 16) + '.git');
  const repo: GitRepo = { fs: o.fs, gitdir, cache: {} };
  const gfs = o.fs;
  let lastHead: string | null = null;
  if (!fs.existsSync(path.join(gitdir, 'HEAD'))) {
    await fs.promises.mkdir(gitdir, { recursive: true });
    await git.init({ fs: gfs, gitdir, bare: true, defaultBranch: o.branch });
    await git.addRemote({ fs: gfs, gitdir, remote: 'origin', url, force: true });
  }

  let prompted = false;
  const auth = {
    onAuth: () => {
      if (!password || prompted) return { cancel: true };
      prompted = true;
      return { username, password };
    },
    onAuthFailure: () => ({ cancel: true }),
  };
  const wrap = (what: string) => (err: unknown): never => {
    const code = (err as { code?: string }).code;
    const hint =
      code === 'UserCanceledError' || (code === 'HttpError' && /401|403/.test(messageOf(err)))
        ? `authentication failed: set ${GIT_ENV.token} (and ${GIT_ENV.username}) for ${description}`
        : messageOf(err);
    throw new GitSourceError(`${what} ${description} failed: ${hint}`, { cause: err, retryable: code !== 'UserCanceledError' });
  };
  const lock = createMutex();
  const specRef = `refs/remotes/origin/${o.branch}`;
  const statusLocal = `refs/heads/${o.statusBranch}`;

  // An aborted caller stops waiting, but the network operation runs on; the next operation on
  // the repository waits for it so that two fetches never write the same refs and packs.
  let lingering: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => lock(async () => {
    await lingering;
    return fn();
  });
  const linger = <T>(p: Promise<T>): Promise<T> => {
    lingering = p.catch(() => undefined);
    return p;
  };

  const fetchBranch = async (branch: string, signal: AbortSignal): Promise<string | null> => {
    signal.throwIfAborted();
    prompted = false;
    const r = await raceAbort(
      linger(git.fetch({ fs: gfs, http, gitdir, url, remote: 'origin', ref: branch, remoteRef: branch, singleBranch: true, tags: false, cache: repo.cache, ...auth })),
      signal,
    );
    return r.fetchHead;
  };

  return {
    kind: 'remote',
    description,
    repo,
    refresh: ({ signal }) =>
      exclusive(async () => {
        const head = await fetchBranch(o.branch, signal).catch(wrap('fetching'));
        // A force-push just moves the tracking ref: the new head is the desired state.
        if (!head) throw new GitSourceError(`branch "${o.branch}" not found at ${description} (--branch)`);
        await git.writeRef({ fs: gfs, gitdir, ref: specRef, value: head, force: true });
        if (head !== lastHead) repo.cache = {};
        lastHead = head;
        return head;
      }),
    readSpecFiles: (commit, opts) => readYamlFiles(repo, commit, o.specPath, opts),
    async watch() {
      return async () => {};
    },
    statusHead: ({ signal }) =>
      exclusive(async () => {
        prompted = false;
        const refs = await raceAbort(linger(git.listServerRefs({ http, url, prefix: `refs/heads/${o.statusBranch}`, ...auth })), signal).catch(wrap('listing refs of'));
        const found = refs.find((r) => r.ref === `refs/heads/${o.statusBranch}`);
        if (!found) return null;
        const have = await git.readCommit({ fs: gfs, gitdir, oid: found.oid, cache: repo.cache }).then(() => true, () => false);
        if (!have) await fetchBranch(o.statusBranch, signal).catch(wrap('fetching the status branch of'));
        return found.oid;
      }),
    publishStatus: (commit, _expected, { signal }) =>
      exclusive(async () => {
        const previous = await resolveBranch(repo, statusLocal);
        await git.writeRef({ fs: gfs, gitdir, ref: statusLocal, value: commit, force: true });
        prompted = false;
        try {
          const r = await git.push({ fs: gfs, http, gitdir, url, ref: statusLocal, remoteRef: statusLocal, cache: repo.cache, signal, ...auth });
          if (r.ok && !r.error) return 'ok';
          const reason = Object.values(r.refs ?? {}).map((x) => x.error).filter(Boolean).join('; ') || r.error || 'unknown';
          if (REJECTED.test(reason)) return restore('rejected');
          throw new GitSourceError(`pushing the status branch to ${description} failed: ${reason}`);
        } catch (err) {
          const code = (err as { code?: string }).code;
          // Rejected client-side (our view is stale) or by the server (the ref moved while we
          // pushed: receive-pack's compare-and-swap says "failed to update ref").
          if (code === 'PushRejectedError' || (code === 'GitPushError' && REJECTED.test(messageOf(err)))) return restore('rejected');
          if (err instanceof GitSourceError) throw err;
          return wrap('pushing the status branch to')(err);
        }
        async function restore(v: 'rejected'): Promise<'rejected'> {
          if (previous) await git.writeRef({ fs: gfs, gitdir, ref: statusLocal, value: previous, force: true });
          return v;
        }
      }),
  };
}

/** Serialize async work on one repository. */
function createMutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

const REJECTED = /fast-forward|fetch first|stale|rejected|failed to update ref|failed to lock/i;

/**
 * isomorphic-git's fetch takes no signal: stop waiting when aborted (the operation itself
 * finishes in the background, see `linger`).
 */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
