/**
 * An SSH Git source (`ssh://[user@]host[:port]/path` or scp-like `[user@]host:path`), as deploy
 * keys reach GitLab and GitHub. isomorphic-git has no SSH transport, so fetch, ls-remote and push
 * go through the system `git` and `ssh`, into the same kind of bare clone under the state dir as
 * an http(s) source; reading trees and making status commits stay with isomorphic-git. Like the
 * http(s) source it does not watch: the loop polls and the webhook pokes.
 *
 * The key, known_hosts and an optional ssh config come from files named in the environment
 * (PULPDIST_GIT_SSH_KEY_FILE, PULPDIST_GIT_SSH_KNOWN_HOSTS, PULPDIST_GIT_SSH_CONFIG). pulpdist never reads the key; only its path appears in messages.
 * Host keys are always checked (StrictHostKeyChecking=yes): an unknown host is an error that says
 * how to add it, never a silent trust on first use.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GitSourceError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { ClonedSourceOptions, GitSource } from './types.js';
import { readYamlFiles, type GitRepo } from './tree.js';

/** The environment variables an SSH source reads. */
export const SSH_ENV = { keyFile: 'PULPDIST_GIT_SSH_KEY_FILE', knownHosts: 'PULPDIST_GIT_SSH_KNOWN_HOSTS', config: 'PULPDIST_GIT_SSH_CONFIG' } as const;

/** `ssh://…`, `git+ssh://…` or scp-like `[user@]host:path` (a colon before any slash, as git reads it). */
export function isSshUrl(repo: string): boolean {
  return /^(git\+)?ssh:\/\//i.test(repo) || /^([^@/:\s]+@)?[a-z0-9][a-z0-9.-]*:(?!\/\/)[^\s]+$/i.test(repo);
}

export type SshSourceOptions = ClonedSourceOptions;

/** Open (and on first use create) the bare clone of `url` in the state dir. */
export async function openSshSource(o: SshSourceOptions): Promise<GitSource> {
  const keyFile = o.env[SSH_ENV.keyFile] || undefined;
  const config = o.env[SSH_ENV.config] || undefined;
  const knownHosts = o.env[SSH_ENV.knownHosts] || path.join(os.homedir(), '.ssh', 'known_hosts');
  if (keyFile) readable(keyFile, `${SSH_ENV.keyFile} names the key file ${keyFile}`);
  if (config) readable(config, `${SSH_ENV.config} names ${config}`);
  readable(knownHosts, o.env[SSH_ENV.knownHosts] ? `${SSH_ENV.knownHosts} names ${knownHosts}` : `the default known_hosts ${knownHosts} (set ${SSH_ENV.knownHosts})`);

  const description = o.url;
  const gitdir = path.join(o.stateDir, 'repos', createHash('sha256').update(o.url).digest('hex').slice(0, 16) + '.git');
  const repo: GitRepo = { fs: o.fs, gitdir, cache: {} };
  // An ssh config (Port, ProxyJump, HostName for an scp-like URL) instead of the user's own.
  const ssh = ['ssh', ...(config ? ['-F', config] : []), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'ConnectTimeout=30'];
  // With a key file, only that key: an agent or ~/.ssh/id_* must not stand in for the deploy key.
  if (keyFile) ssh.push('-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none');
  const env: NodeJS.ProcessEnv = {
    PATH: o.env.PATH ?? process.env.PATH,
    HOME: o.env.HOME ?? process.env.HOME,
    GIT_SSH_COMMAND: ssh.map(shellQuote).join(' '),
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    // Without a key file, ssh's defaults apply, the agent included.
    ...(!keyFile && o.env.SSH_AUTH_SOCK ? { SSH_AUTH_SOCK: o.env.SSH_AUTH_SOCK } : {}),
  };

  const run = (args: string[], signal: AbortSignal): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile('git', ['--git-dir', gitdir, ...args], { env, signal, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        if (signal.aborted) return reject(signal.reason);
        reject(Object.assign(err, { stdout: String(stdout), stderr: String(stderr) }));
      });
    });
  const wrap = (what: string) => (err: unknown): never => {
    throw new GitSourceError(`${what} ${description} failed: ${hint(String((err as { stderr?: string }).stderr ?? ''), keyFile, knownHosts)}`, {
      cause: err,
      retryable: !/Host key verification failed|Permission denied|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(String((err as { stderr?: string }).stderr)),
    });
  };

  if (!fs.existsSync(path.join(gitdir, 'HEAD'))) {
    await fs.promises.mkdir(gitdir, { recursive: true });
    await run(['init', '-q', '--bare'], new AbortController().signal);
  }
  const lock = createMutex();
  const specRef = `refs/remotes/origin/${o.branch}`;
  const resolve = async (ref: string, signal: AbortSignal): Promise<string | null> => (await run(['for-each-ref', '--format=%(objectname)', ref], signal)).trim() || null;
  let lastHead: string | null = null;

  const branchHead = (branch: string, { signal }: { signal: AbortSignal }): Promise<string | null> =>
    lock(async () => {
      const ref = `refs/heads/${branch}`;
      const out = await run(['ls-remote', o.url, ref], signal).catch(wrap('listing refs of'));
      const oid = out.split('\n').map((l) => l.split('\t')).find((f) => f[1] === ref)?.[0];
      if (!oid) return null;
      const have = await run(['cat-file', '-e', `${oid}^{commit}`], signal).then(() => true, () => false);
      if (!have) await run(['fetch', '-q', '--no-tags', o.url, `+${ref}:refs/remotes/origin/${branch}`], signal).catch(wrap(`fetching the ${branch} branch of`));
      return oid;
    });
  const publishBranch = (branch: string, commit: string, expected: string | null, { signal }: { signal: AbortSignal }): Promise<'ok' | 'rejected'> =>
    lock(async () => {
      const ref = `refs/heads/${branch}`;
      // Compare-and-swap on the server: the push is refused unless the branch is still where we
      // read it (an empty lease means "must not exist yet").
      const lease = `--force-with-lease=${ref}:${expected ?? ''}`;
      try {
        await run(['push', '--porcelain', lease, o.url, `${commit}:${ref}`], signal);
      } catch (err) {
        const text = `${String((err as { stdout?: string }).stdout ?? '')}\n${String((err as { stderr?: string }).stderr ?? '')}`;
        if (/\[rejected\]|stale info|fetch first|non-fast-forward|failed to update ref/i.test(text)) return 'rejected';
        // The porcelain line says why the server refused the ref.
        const refused = /^!\t[^\t]*\t(.*)$/m.exec(String((err as { stdout?: string }).stdout ?? ''))?.[1];
        if (refused) throw new GitSourceError(`pushing the ${branch} branch to ${description} failed: ${redact(refused)}`, { cause: err });
        return wrap(`pushing the ${branch} branch to`)(err);
      }
      await run(['update-ref', ref, commit], signal);
      return 'ok';
    });
  return {
    kind: 'remote',
    description,
    repo,
    refresh: ({ signal }) =>
      lock(async () => {
        signal.throwIfAborted();
        await run(['fetch', '-q', '--no-tags', o.url, `+refs/heads/${o.branch}:${specRef}`], signal).catch((err: unknown) => {
          if (/couldn't find remote ref/i.test(String((err as { stderr?: string }).stderr))) {
            throw new GitSourceError(`branch "${o.branch}" not found at ${description} (--branch)`, { retryable: true });
          }
          return wrap('fetching')(err);
        });
        const head = await resolve(specRef, signal);
        if (!head) throw new GitSourceError(`branch "${o.branch}" not found at ${description} (--branch)`);
        if (head !== lastHead) repo.cache = {};
        lastHead = head;
        return head;
      }),
    readSpecFiles: (commit, opts) => readYamlFiles(repo, commit, o.specPath, opts),
    async watch() {
      return async () => {};
    },
    statusHead: (opts) => branchHead(o.statusBranch, opts),
    publishStatus: (commit, expected, opts) => publishBranch(o.statusBranch, commit, expected, opts),
    branchHead,
    publishBranch,
  };
}

/** The last lines of git's stderr, with what to do for the failures an operator meets first. */
function hint(stderr: string, keyFile: string | undefined, knownHosts: string): string {
  const tail = redact(stderr.trim().split('\n').slice(-3).join(' / ')) || 'git exited with an error';
  if (/Host key verification failed|No .* host key is known/i.test(stderr)) {
    return `the server's host key is not in ${knownHosts}; add it (ssh-keyscan -p PORT HOST >> ${knownHosts}, then check the fingerprint) or set ${SSH_ENV.knownHosts} (${tail})`;
  }
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(stderr)) return `the server's host key differs from the one in ${knownHosts}: check it before trusting it (${tail})`;
  if (/Permission denied/i.test(stderr)) {
    return `authentication failed: ${keyFile ? `the key ${keyFile} (${SSH_ENV.keyFile})` : `no key given: set ${SSH_ENV.keyFile} to the deploy key's file`} is not accepted (${tail})`;
  }
  return tail;
}

function readable(file: string, what: string): void {
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (err) {
    throw new GitSourceError(`${what}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { retryable: false });
  }
}

/** Quote for the shell git runs GIT_SSH_COMMAND through. */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Serialize the operations on one clone: two fetches must not write the same refs at once. */
function createMutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
