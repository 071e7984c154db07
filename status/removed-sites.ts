/**
 * Sites the specs no longer name but the last status says pulpdist managed (issue 16): pulpdist
 * stops managing a Site the moment its document leaves the specs, so nothing there is deleted and,
 * without this, nothing is said while the site keeps serving its mirrors. `plan` and the controller
 * read the last status from the status branch and name each such site with what it still serves
 * and how to retire it (docs/operations.md). Pure, apart from reading a checkout's status branch.
 */
import git from 'isomorphic-git';
import type { GitFs } from '../gitsource/tree.js';
import { readTextFiles } from '../gitsource/tree.js';
import { STATUS_DIR } from './files.js';
import { parseStatusFiles, type RestoredStatus } from './restore.js';

export interface RemovedSite {
  site: string;
  /** Mirrors the site published at the last status, by name. */
  mirrors: string[];
}

/** The sites of `last` that `specSites` no longer names, with the mirrors each still published. */
export function removedSites(specSites: Iterable<string>, last: Pick<RestoredStatus, 'sites' | 'mirrors'>): RemovedSite[] {
  const named = new Set(specSites);
  const out = new Map<string, Set<string>>();
  for (const s of last.sites) if (!named.has(s.name)) out.set(s.name, new Set());
  for (const m of last.mirrors) {
    for (const c of m.sites) {
      if (named.has(c.site)) continue;
      let served = out.get(c.site);
      if (!served) out.set(c.site, (served = new Set()));
      if (c.treeDigest !== null || c.version !== null) served.add(m.name);
    }
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([site, mirrors]) => ({ site, mirrors: [...mirrors].sort() }));
}

/** The one line `plan` and the log give for a removed site. */
export function removedSiteLine(r: RemovedSite): string {
  const what = r.mirrors.length === 0
    ? 'it published no mirror at the last status'
    : `at the last status it still published ${r.mirrors.length} mirror${r.mirrors.length === 1 ? '' : 's'} (${r.mirrors.slice(0, 5).join(', ')}${r.mirrors.length > 5 ? ', …' : ''}), which pulpdist no longer manages or deletes`;
  return `site ${r.site} is no longer in the specs: ${what}. To retire a site, first remove it from the Mirrors' sites lists (the next pass deletes its objects there), then remove its Site document`;
}

/**
 * The last status on `branch` of the checkout holding `dir` (the local branch, else the remote
 * tracking one), or null when there is none: `plan` runs where the specs were checked out.
 */
export async function checkoutStatus(fs: GitFs, dir: string, branch = 'pulpdist/status'): Promise<Pick<RestoredStatus, 'sites' | 'mirrors'> | null> {
  let root: string;
  try {
    root = await git.findRoot({ fs, filepath: dir });
  } catch {
    return null;
  }
  const gitdir = `${root}/.git`;
  for (const ref of [`refs/heads/${branch}`, `refs/remotes/origin/${branch}`]) {
    let oid: string;
    try {
      oid = await git.resolveRef({ fs, gitdir, ref });
    } catch {
      continue;
    }
    const files = await readTextFiles({ fs, gitdir, cache: {} }, oid, STATUS_DIR, { signal: AbortSignal.timeout(30_000) });
    return parseStatusFiles(files);
  }
  return null;
}
