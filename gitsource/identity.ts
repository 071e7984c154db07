/**
 * Where a directory's specs come from, for the default controller id (core/controller-id.ts): the
 * repository as its `origin` remote names it (so that a CI checkout, a developer's clone and the
 * controller's URL agree), else the checkout's own path, and the directory's path inside it.
 * Through the system git, two small calls: loading the Git library would cost `plan` more.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

function git(dir: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['-C', dir, ...args], { timeout: 10_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }, (err, stdout) => resolve(err ? null : stdout));
  });
}

/** The `origin` remote's URL of the repository holding `dir`, or null (none, or not a repository). */
export async function originOf(dir: string): Promise<string | null> {
  const url = (await git(dir, ['config', '--get', 'remote.origin.url']))?.trim();
  return url || null;
}

/**
 * The repository (origin URL, else the work tree's path) and the path of `target` inside it; for a
 * target outside any Git work tree, the target itself and ''.
 */
export async function specSourceOf(target: string): Promise<{ repo: string; path: string }> {
  const abs = path.resolve(target);
  // A spec file: ask git about its directory, keep its name in the path.
  const dir = /\.ya?ml$/i.test(abs) ? path.dirname(abs) : abs;
  const file = dir === abs ? '' : path.basename(abs);
  const [where, origin] = await Promise.all([git(dir, ['rev-parse', '--show-toplevel', '--show-prefix']), originOf(dir)]);
  const [top, prefix = ''] = where?.split('\n') ?? [];
  if (!top) return { repo: abs, path: '' };
  return { repo: origin ?? top, path: path.posix.join(prefix, file) };
}
