/**
 * Watching a local repository's refs with chokidar: `git commit`, `git push` into a bare repo, `git
 * fetch`, `git gc` (packed-refs) all end in a change under `refs/heads/` or to `packed-refs`.
 * The caller re-resolves its branch on every event; this module only says "look again".
 */
import path from 'node:path';
import { watch } from 'chokidar';

/** Watch `gitdir`'s branch refs; resolves once the watch is live. Returns a stop function. */
export async function watchRefs(gitdir: string, onEvent: () => void | Promise<void>): Promise<() => Promise<void>> {
  const root = path.resolve(gitdir);
  const refs = path.join(root, 'refs');
  const heads = path.join(refs, 'heads');
  const packed = path.join(root, 'packed-refs');
  // Watch the gitdir but descend only towards refs/heads: objects/ can hold thousands of entries.
  const relevant = (p: string): boolean => p === root || p === refs || p === packed || p === heads || p.startsWith(heads + path.sep);
  const watcher = watch(root, { ignoreInitial: true, ignored: (p: string) => !relevant(path.resolve(p)), depth: 20 });
  let timer: NodeJS.Timeout | undefined;
  const poke = (): void => {
    // Git writes `x.lock` then renames it; coalesce the burst into one look.
    clearTimeout(timer);
    timer = setTimeout(() => void onEvent(), 25);
  };
  watcher.on('all', poke);
  await new Promise<void>((resolve, reject) => {
    watcher.once('ready', () => resolve());
    watcher.once('error', reject);
  });
  return async () => {
    clearTimeout(timer);
    await watcher.close();
  };
}
