/**
 * The network side of a remote Git source: credentials, one operation at a time on the clone, and
 * errors that say what failed where without the credentials. isomorphic-git's fetch and
 * listServerRefs take no signal, so an aborted caller stops waiting while the operation runs on;
 * the next operation waits for it, so that two fetches never write the same refs and packs.
 */
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { GitSourceError, messageOf } from '../core/errors.js';
import { redactUrl, registerSecret } from '../core/redact.js';
import type { GitRepo } from './tree.js';

/** The environment variables a remote source reads. */
export const GIT_ENV = { username: 'PULPDIST_GIT_USERNAME', token: 'PULPDIST_GIT_TOKEN', password: 'PULPDIST_GIT_PASSWORD' } as const;

/** The repository URL without userinfo, and the credentials to use with it. */
export interface RemoteCredentials {
  url: string;
  /** The URL for people (redacted). */
  description: string;
  username: string;
  password: string;
}

/**
 * userinfo in --repo works but is discouraged: it would sit in the process list. It is stripped so
 * it never reaches the clone's config, logs or status; the environment's variables win over it.
 */
export function remoteCredentials(repoUrl: string, env: NodeJS.ProcessEnv): RemoteCredentials {
  const parsed = new URL(repoUrl);
  const urlUser = decodeURIComponent(parsed.username);
  const urlPass = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const url = parsed.toString();
  const password = env[GIT_ENV.token] || env[GIT_ENV.password] || urlPass || '';
  registerSecret(password);
  return { url, description: redactUrl(url), username: env[GIT_ENV.username] || urlUser || 'oauth2', password };
}

/** Push outcomes that mean "the branch moved under us", whatever side noticed it. */
export const REJECTED = /fast-forward|fetch first|stale|rejected|failed to update ref|failed to lock/i;

export class RemoteConnection {
  private prompted = false;
  private tail: Promise<unknown> = Promise.resolve();
  private lingering: Promise<unknown> = Promise.resolve();
  /** isomorphic-git's auth callbacks: the credentials once per operation, never a prompt loop. */
  private readonly auth = {
    onAuth: () => {
      if (!this.cred.password || this.prompted) return { cancel: true };
      this.prompted = true;
      return { username: this.cred.username, password: this.cred.password };
    },
    onAuthFailure: () => ({ cancel: true }),
  };

  constructor(readonly repo: GitRepo, readonly cred: RemoteCredentials) {}

  /** Run `fn` alone on the repository, after any operation an aborted caller left running. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      await this.lingering;
      return fn();
    };
    const next = this.tail.then(run, run);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Fetch `branch` into the clone; its head, or null when the server has no such branch. */
  async fetch(branch: string, signal: AbortSignal): Promise<string | null> {
    signal.throwIfAborted();
    this.prompted = false;
    const { fs, gitdir, cache } = this.repo;
    const op = git.fetch({ fs, http, gitdir, url: this.cred.url, remote: 'origin', ref: branch, remoteRef: branch, singleBranch: true, tags: false, cache, ...this.auth });
    const r = await raceAbort(this.linger(op), signal);
    return r.fetchHead;
  }

  /** The server's value of `ref`, or null. */
  async serverRef(ref: string, signal: AbortSignal): Promise<string | null> {
    this.prompted = false;
    const refs = await raceAbort(this.linger(git.listServerRefs({ http, url: this.cred.url, prefix: ref, ...this.auth })), signal);
    return refs.find((r) => r.ref === ref)?.oid ?? null;
  }

  /** Push local `ref` to the same name; `rejected` when the branch moved under us. */
  async push(ref: string, signal: AbortSignal): Promise<'ok' | 'rejected'> {
    this.prompted = false;
    const { fs, gitdir, cache } = this.repo;
    try {
      const r = await git.push({ fs, http, gitdir, url: this.cred.url, ref, remoteRef: ref, cache, signal, ...this.auth });
      if (r.ok && !r.error) return 'ok';
      const reason = Object.values(r.refs ?? {}).map((x) => x.error).filter(Boolean).join('; ') || r.error || 'unknown';
      if (REJECTED.test(reason)) return 'rejected';
      throw new GitSourceError(`pushing the branch ${branchName(ref)} to ${this.cred.description} failed: ${reason}`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Rejected client-side (our view is stale) or by the server (the ref moved while we
      // pushed: receive-pack's compare-and-swap says "failed to update ref").
      if (code === 'PushRejectedError' || (code === 'GitPushError' && REJECTED.test(messageOf(err)))) return 'rejected';
      if (err instanceof GitSourceError) throw err;
      // The status branch or the lease's: say which.
      return this.fail(`pushing the branch ${branchName(ref)} to`, err);
    }
  }

  /** Rethrow a network failure as a GitSourceError that says what and where, with a hint for auth. */
  fail(what: string, err: unknown): never {
    const code = (err as { code?: string }).code;
    const hint =
      code === 'UserCanceledError' || (code === 'HttpError' && /401|403/.test(messageOf(err)))
        ? `authentication failed: set ${GIT_ENV.token} (and ${GIT_ENV.username}) for ${this.cred.description}`
        : messageOf(err);
    throw new GitSourceError(`${what} ${this.cred.description} failed: ${hint}`, { cause: err, retryable: code !== 'UserCanceledError' });
  }

  private linger<T>(p: Promise<T>): Promise<T> {
    this.lingering = p.catch(() => undefined);
    return p;
  }
}

/** Stop waiting for `p` when `signal` aborts (the operation itself finishes in the background). */
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

/** `refs/heads/pulpdist/lease` → `pulpdist/lease`, for messages. */
function branchName(ref: string): string {
  return ref.replace(/^refs\/heads\//, '');
}
