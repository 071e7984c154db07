/**
 * A controller instance's identity (`--controller-id`): carried by the `pulpdist_controller` label
 * on every object it makes, so that several spec repositories can share one Pulp. The default is
 * derived from where the specs come from, so that `pulpdist plan` in a checkout and `pulpdist run`
 * on the same repository, branch and spec path get the same id without being told.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { UsageError } from './errors.js';

/**
 * What an id may be. Pulp label values may not hold a comma or a parenthesis (pulpcore 3.24, and
 * `pulp_label_select` splits terms on commas); this is stricter still so that an id reads the same
 * in a label, a selector, a log line and a URL.
 */
export const CONTROLLER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The id given with `--controller-id`, checked; a UsageError names the option and the rule. */
export function checkControllerId(value: string): string {
  if (!CONTROLLER_ID_PATTERN.test(value)) {
    throw new UsageError(`--controller-id must be 1 to 63 letters, digits, '.', '_' or '-' (starting with a letter or digit), got "${value}"`);
  }
  return value;
}

/**
 * The repository as one string whatever way it is written: `https://user@Host/g/r.git`,
 * `ssh://git@host/g/r` and `git@host:g/r.git` are all `host/g/r`; a local path is its absolute form.
 */
export function normalizeRepository(repo: string): string {
  const trim = (p: string) => p.replace(/\/+$/, '').replace(/\.git$/, '').replace(/\/+$/, '');
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/)(.+)$/.exec(repo);
  if (scp && !/^[A-Za-z]:[\\/]/.test(repo)) return `${scp[1]!.toLowerCase()}/${trim(scp[2]!.replace(/^\/+/, ''))}`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) {
    try {
      const u = new URL(repo);
      if (u.protocol === 'file:') return trim(decodeURIComponent(u.pathname));
      return `${u.hostname.toLowerCase()}${u.port ? `:${u.port}` : ''}${trim(u.pathname)}`;
    } catch {
      return trim(repo);
    }
  }
  return trim(path.resolve(repo));
}

/** A spec path inside the repository: no leading `./` or `/`, no trailing `/`; the root is ''. */
export function normalizeSpecPath(p: string): string {
  const n = path.posix.normalize(p.split(path.sep).join('/')).replace(/^\/+|\/+$/g, '');
  return n === '.' ? '' : n;
}

/**
 * The default id: the repository's last path segment (to be recognizable in a conflict message)
 * and a short hash of the normalized repository, branch and spec path (to be unique), e.g.
 * `mirrors-3f2a9c1b0d4e`.
 */
export function defaultControllerId(source: { repo: string; branch: string; path: string }): string {
  const repo = normalizeRepository(source.repo);
  const key = `${repo}\n${source.branch}\n${normalizeSpecPath(source.path)}`;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  const base = (repo.split('/').filter(Boolean).pop() ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return base ? `${base}-${hash}` : `pulpdist-${hash}`;
}
