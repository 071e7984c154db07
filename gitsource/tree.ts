/**
 * Reading and writing Git trees with isomorphic-git, on a gitdir only: the controller reads the
 * committed content of a branch, never a work tree, and writes status commits without a checkout.
 */
import git from 'isomorphic-git';
import { SpecError } from '../core/errors.js';

/** The fs isomorphic-git is given (node:fs, or any compatible client in tests). */
export type GitFs = Parameters<typeof git.readBlob>[0]['fs'];

/** Where the objects are, shared by every call on one repository. */
export interface GitRepo {
  fs: GitFs;
  gitdir: string;
  /**
   * isomorphic-git's pack cache; keeping one per repository makes repeated reads cheap. The
   * sources replace it when the spec branch moves, so that packs fetched over weeks are not all
   * kept in memory.
   */
  cache: object;
}

/** A spec file as `spec/load.ts` takes it: the path relative to the repository root. */
export interface TreeFile {
  path: string;
  content: Uint8Array;
}

const SPEC_FILE = /\.ya?ml$/i;

/**
 * Every `*.yaml` / `*.yml` blob under `dir` of `commit`, with paths relative to the repository
 * root (so messages read `mirrors/sites/hub.yaml:3:5`). Dot-directories are skipped, as on disk.
 * A `dir` missing from the commit is a SpecError: an empty spec set would prune every mirror.
 */
export async function readYamlFiles(repo: GitRepo, commit: string, dir: string, opts: { signal: AbortSignal }): Promise<TreeFile[]> {
  const root = normalizeDir(dir);
  let top;
  try {
    top = await git.readTree({ fs: repo.fs, gitdir: repo.gitdir, oid: commit, filepath: root || undefined, cache: repo.cache });
  } catch (err) {
    if ((err as { code?: string }).code === 'NotFoundError') {
      throw new SpecError(`the spec path "${root}" does not exist in commit ${commit.slice(0, 12)} (check --path)`, root || '.', 1, 1);
    }
    throw err;
  }
  const out: TreeFile[] = [];
  const walk = async (entries: typeof top.tree, prefix: string): Promise<void> => {
    for (const e of entries) {
      opts.signal.throwIfAborted();
      const p = prefix ? `${prefix}/${e.path}` : e.path;
      if (e.type === 'tree') {
        if (e.path.startsWith('.') || e.path === 'node_modules') continue;
        const sub = await git.readTree({ fs: repo.fs, gitdir: repo.gitdir, oid: e.oid, cache: repo.cache });
        await walk(sub.tree, p);
      } else if (e.type === 'blob' && SPEC_FILE.test(e.path)) {
        const { blob } = await git.readBlob({ fs: repo.fs, gitdir: repo.gitdir, oid: e.oid, cache: repo.cache });
        out.push({ path: p, content: blob });
      }
    }
  };
  await walk(top.tree, root);
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

/** The files under `dir` of a commit as text, keyed by path relative to `dir` (status files). */
export async function readTextFiles(repo: GitRepo, commit: string, dir: string, opts: { signal: AbortSignal }): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let top;
  try {
    top = await git.readTree({ fs: repo.fs, gitdir: repo.gitdir, oid: commit, filepath: dir, cache: repo.cache });
  } catch (err) {
    if ((err as { code?: string }).code === 'NotFoundError') return out;
    throw err;
  }
  const walk = async (entries: typeof top.tree, prefix: string): Promise<void> => {
    for (const e of entries) {
      opts.signal.throwIfAborted();
      const p = prefix ? `${prefix}/${e.path}` : e.path;
      if (e.type === 'tree') {
        const sub = await git.readTree({ fs: repo.fs, gitdir: repo.gitdir, oid: e.oid, cache: repo.cache });
        await walk(sub.tree, p);
      } else if (e.type === 'blob') {
        const { blob } = await git.readBlob({ fs: repo.fs, gitdir: repo.gitdir, oid: e.oid, cache: repo.cache });
        out.set(p, Buffer.from(blob).toString('utf8'));
      }
    }
  };
  await walk(top.tree, '');
  return out;
}

/** Write nested trees for `files` (paths relative to the tree root); returns the root tree oid. */
export async function writeFilesTree(repo: GitRepo, files: ReadonlyMap<string, string>, opts: { signal: AbortSignal }): Promise<string> {
  interface Dir { files: Map<string, string>; dirs: Map<string, Dir> }
  const root: Dir = { files: new Map(), dirs: new Map() };
  for (const [p, text] of files) {
    const parts = p.split('/');
    const name = parts.pop() ?? p;
    let d = root;
    for (const part of parts) {
      let next = d.dirs.get(part);
      if (!next) d.dirs.set(part, (next = { files: new Map(), dirs: new Map() }));
      d = next;
    }
    d.files.set(name, text);
  }
  const write = async (d: Dir): Promise<string> => {
    const tree: { mode: string; path: string; oid: string; type: 'blob' | 'tree' }[] = [];
    for (const [name, sub] of d.dirs) tree.push({ mode: '040000', path: name, oid: await write(sub), type: 'tree' });
    for (const [name, text] of d.files) {
      opts.signal.throwIfAborted();
      const oid = await git.writeBlob({ fs: repo.fs, gitdir: repo.gitdir, blob: Buffer.from(text, 'utf8') });
      tree.push({ mode: '100644', path: name, oid, type: 'blob' });
    }
    return git.writeTree({ fs: repo.fs, gitdir: repo.gitdir, tree });
  };
  return write(root);
}

/**
 * A root tree equal to `base`'s (if any) with the top-level entry `name` replaced by `subtree`:
 * whatever else someone keeps on the status branch survives our commits.
 */
export async function replaceTopEntry(repo: GitRepo, base: string | null, name: string, subtree: string): Promise<string> {
  const entries = base ? (await git.readTree({ fs: repo.fs, gitdir: repo.gitdir, oid: base, cache: repo.cache })).tree.filter((e) => e.path !== name) : [];
  entries.push({ mode: '040000', path: name, oid: subtree, type: 'tree' });
  return git.writeTree({ fs: repo.fs, gitdir: repo.gitdir, tree: entries });
}

/** The identity of every status commit. */
export const STATUS_AUTHOR = { name: 'pulpdist', email: 'pulpdist@localhost' };

/** Write a commit object (no ref moves); returns its oid. */
export async function writeStatusCommit(repo: GitRepo, tree: string, parent: string | null, message: string, now: Date): Promise<string> {
  const who = { ...STATUS_AUTHOR, timestamp: Math.floor(now.getTime() / 1000), timezoneOffset: 0 };
  return git.writeCommit({
    fs: repo.fs,
    gitdir: repo.gitdir,
    commit: { message, tree, parent: parent ? [parent] : [], author: who, committer: who },
  });
}

/** `mirrors/`, `./mirrors`, `.` → `mirrors`, `mirrors`, ``. */
export function normalizeDir(dir: string): string {
  return dir
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}
