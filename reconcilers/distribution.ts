/**
 * Plan for a mirror's file distribution at one site. Pure. The distribution points at the
 * repository (not a publication), so it always serves the latest publication with no PATCH per sync;
 * a pinned placement (serve-target.ts) points it at one publication instead, with `repository`
 * null (real Pulp refuses both set at once; recorded shape: 24-create-dist1 / 26-get-dist1).
 */
import type { FileDistribution, FileRepository, Href } from '../pulp/types.js';
import type { CreateEntryOf, DesiredPlacement, UpdateEntryOf } from './plan-types.js';
import { createdFields, diffFields, patchOf, updateEntry } from './diff.js';
import { TREE_LABEL } from './names.js';

export const DISTRIBUTION_FIELDS = ['base_path', 'repository', 'publication', 'pulp_labels'] as const;

/** Shown in a diff where the repository href is known only once apply has created it. */
export function pendingRepositoryRef(name: string): string {
  return `(repository ${name})`;
}

/** True for the placeholder of `pendingRepositoryRef`, which apply replaces with the created href. */
export function isPendingRepositoryRef(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith('(repository ');
}

/**
 * A create when missing, an update of the differing fields, or null when it matches. With
 * `publication`, the distribution serves that publication (a pin) instead of the repository.
 */
export function planDistribution(
  p: DesiredPlacement,
  observed: FileDistribution | undefined,
  repository: FileRepository | undefined,
  opts: { publication?: Href } = {},
): CreateEntryOf<'distribution'> | UpdateEntryOf<'distribution'> | null {
  const repoRef = repository?.pulp_href ?? pendingRepositoryRef(p.repository.name);
  const pinned = opts.publication ?? null;
  const desired = { ...p.distribution, repository: pinned ? null : repoRef, publication: pinned };
  const base = { site: p.site, kind: 'distribution' as const, name: p.distribution.name, mirror: p.mirror, depth: p.depth };
  if (!observed) {
    const target = pinned ? { publication: pinned } : { repository: repoRef };
    const body = { name: p.distribution.name, base_path: p.distribution.base_path, pulp_labels: p.distribution.pulp_labels, ...target };
    return { ...base, action: 'create', reason: 'missing', changes: createdFields(body, DISTRIBUTION_FIELDS), op: { body } };
  }
  // The tree label is pulpdist's note about what is published, not desired state.
  const { [TREE_LABEL]: treeLabel, ...observedLabels } = observed.pulp_labels ?? {};
  const changes = diffFields(desired, { ...observed, pulp_labels: observedLabels }, DISTRIBUTION_FIELDS);
  if (changes.length === 0) return null;
  const body = patchOf(changes, desired);
  // A PATCH replaces the whole label map: keep the note, unless the repository changes under it.
  if (body.pulp_labels && treeLabel !== undefined && !('repository' in body)) body.pulp_labels = { ...p.distribution.pulp_labels, [TREE_LABEL]: treeLabel };
  // Pulp merges a PATCH with the stored values and refuses repository + publication together.
  if ('repository' in body && observed.publication && !pinned) body.publication = null;
  if ('publication' in body && observed.repository && pinned) body.repository = null;
  return updateEntry(base, changes, observed.pulp_href, body);
}
