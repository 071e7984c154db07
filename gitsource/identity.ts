/**
 * Where a directory's specs come from, for the default controller id (core/controller-id.ts): the
 * repository as its `origin` remote names it (so that a CI checkout, a developer's clone and the
 * controller's URL agree), else the work tree's own path, and the directory's path inside it.
 * Read from the `.git` files directly: spawning git cost `plan` ~0.2 s of CPU at 200 mirrors
 * (bench:plan), and loading the Git library costs as much.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

/** The Git directory holding the config of the repository at `gitPath` (a `.git` dir, or a `gitdir:` file of a worktree). */
async function gitDirOf(gitPath: string): Promise<string | null> {
  if (await isDir(gitPath)) return gitPath;
  const text = await readFile(gitPath, 'utf8').catch(() => '');
  const m = /^gitdir:\s*(.+)$/m.exec(text);
  if (!m) return null;
  const dir = path.resolve(path.dirname(gitPath), m[1]!.trim());
  // A linked worktree keeps its config in the common directory.
  const common = (await readFile(path.join(dir, 'commondir'), 'utf8').catch(() => '')).trim();
  return common ? path.resolve(dir, common) : dir;
}

/** The `url` of `[remote "origin"]` in a Git config file's text, or null. */
export function originInConfig(text: string): string | null {
  let inOrigin = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inOrigin = /^\[\s*remote\s+"origin"\s*\]$/.test(line);
      continue;
    }
    const m = inOrigin ? /^url\s*=\s*(.+)$/.exec(line) : null;
    if (m) return m[1]!.trim().replace(/^"(.*)"$/, '$1');
  }
  return null;
}

/** The repository holding `dir`: its work tree (null for a bare one) and Git directory, or null when none. */
async function repositoryOf(dir: string): Promise<{ top: string | null; gitDir: string } | null> {
  // A bare repository (`pulpdist run --repo /srv/git/mirrors.git`) is its own Git directory.
  if ((await isFile(path.join(dir, 'HEAD'))) && (await isFile(path.join(dir, 'config'))) && !(await isDir(path.join(dir, '.git')))) {
    return { top: null, gitDir: dir };
  }
  for (let cur = dir; ; cur = path.dirname(cur)) {
    const gitDir = await gitDirOf(path.join(cur, '.git'));
    if (gitDir) return { top: cur, gitDir };
    if (path.dirname(cur) === cur) return null;
  }
}

/** The `origin` remote's URL of the repository holding `dir`, or null (none, or not a repository). */
export async function originOf(dir: string): Promise<string | null> {
  const repo = await repositoryOf(path.resolve(dir));
  if (!repo) return null;
  return originInConfig(await readFile(path.join(repo.gitDir, 'config'), 'utf8').catch(() => ''));
}

/**
 * The repository (origin URL, else the work tree's path) and the path of `target` inside it; for a
 * target outside any Git work tree, the target itself and ''.
 */
export async function specSourceOf(target: string): Promise<{ repo: string; path: string }> {
  const abs = path.resolve(target);
  const repo = await repositoryOf(abs);
  if (!repo?.top) return { repo: abs, path: '' };
  const origin = originInConfig(await readFile(path.join(repo.gitDir, 'config'), 'utf8').catch(() => ''));
  return { repo: origin ?? repo.top, path: path.relative(repo.top, abs).split(path.sep).join('/') };
}
