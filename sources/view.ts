/**
 * The source view of a read-only tree (`source.readOnly: true`, docs/deploy.md "Read-only source
 * trees"): a directory in the controller's state directory, `STATE/sources/MIRROR/`, holding the
 * tree's PULP_MANIFEST and one symlink per top-level entry of the tree, so that nothing is ever
 * written into the tree itself.
 *
 * Why this shape: pulp_file 3.24 turns each manifest line into a file URL by joining the
 * manifest's directory with the line's relative path (no encoding), and the line's path becomes
 * the content's relative_path. A manifest outside the tree can only serve the tree's paths if the
 * tree is reachable *under the manifest's directory*: the symlinks make it so. Pulp checks only the
 * manifest's real path against ALLOWED_IMPORT_PATHS (at remote create and update), and opens each
 * file following symlinks (pulpcore's FileDownloader), so the view directory is what the origin's
 * Pulp must be allowed to import from.
 */
import { chmod, lstat, mkdir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeManifest } from '../manifest/write.js';
import type { ManifestEntry } from '../manifest/types.js';

/** The folder of source views inside a state directory. */
export const VIEWS_FOLDER = 'sources';

/** The view directory of one mirror: `VIEWS/MIRROR` (mirror names are DNS labels, safe as file names). */
export function viewDirOf(viewsDir: string, mirror: string): string {
  return path.join(viewsDir, mirror);
}

/** The names a view links: the first segment of every entry's path, sorted. */
export function topLevelNames(entries: readonly ManifestEntry[]): string[] {
  const names = new Set<string>();
  for (const e of entries) {
    const slash = e.relativePath.indexOf('/');
    names.add(slash < 0 ? e.relativePath : e.relativePath.slice(0, slash));
  }
  return [...names].sort();
}

/** What bringing a view in step changed, for logs and tests. */
export interface ViewUpdate {
  linked: string[];
  unlinked: string[];
  manifestWritten: boolean;
}

/**
 * Bring the view of a tree whose real path is `realRoot` in step with `entries`. Order: links the
 * new manifest needs first, then the manifest (atomically), then links it no longer names, so a
 * Pulp reading the view never sees a manifest line without its file's link. Only symlinks are ever
 * removed from the view: the directory is pulpdist's, but a file an operator put there is left alone.
 */
export async function updateView(dir: string, realRoot: string, entries: readonly ManifestEntry[], options: { signal?: AbortSignal } = {}): Promise<ViewUpdate> {
  const { signal } = options;
  // The origin's Pulp runs as another user and must read the view: the view and its folder are
  // 0755 and the manifest 0644 whatever the umask (the systemd unit's is 0077). It lists no more
  // than the tree it links shows anyone who may read the tree. (docs/deploy.md)
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(path.dirname(dir), 0o755);
  await chmod(dir, 0o755);
  const want = new Map(topLevelNames(entries).map((n) => [n, path.join(realRoot, n)]));
  const have = new Map<string, string | null>();
  for (const name of await readdir(dir)) {
    if (name === 'PULP_MANIFEST' || name.startsWith('.PULP_MANIFEST.tmp-')) continue;
    const st = await lstat(path.join(dir, name));
    have.set(name, st.isSymbolicLink() ? await readlink(path.join(dir, name)) : null);
  }
  const linked: string[] = [];
  for (const [name, target] of want) {
    signal?.throwIfAborted();
    const current = have.get(name);
    if (current === target) continue;
    if (current === null) throw new Error(`${path.join(dir, name)} is not a symlink pulpdist made; move it away so that the view can link the tree's "${name}"`);
    await replaceLink(path.join(dir, name), target);
    linked.push(name);
  }
  const manifestWritten = await writeManifest(path.join(dir, 'PULP_MANIFEST'), entries, signal ? { signal } : {});
  if (manifestWritten) await chmod(path.join(dir, 'PULP_MANIFEST'), 0o644);
  const unlinked: string[] = [];
  for (const [name, current] of have) {
    if (want.has(name) || current === null) continue;
    await rm(path.join(dir, name), { force: true });
    unlinked.push(name);
  }
  return { linked, unlinked, manifestWritten };
}

/** Point `link` at `target`, replacing any link there in one rename (a reader sees old or new). */
async function replaceLink(link: string, target: string): Promise<void> {
  const tmp = path.join(path.dirname(link), `.link.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await symlink(target, tmp);
  try {
    await rename(tmp, link);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
