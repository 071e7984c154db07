/** Plan for a mirror's file repository at one site. Pure. */
import type { FileRepository } from '../pulp/types.js';
import type { CreateEntryOf, DesiredPlacement, UpdateEntryOf } from './plan-types.js';
import { createdFields, diffFields, patchOf, updateEntry } from './diff.js';

/** The fields pulpdist sets on a repository; any other field is the operator's. */
export const REPOSITORY_FIELDS = ['retain_repo_versions', 'autopublish', 'pulp_labels'] as const;

/** A create when missing, an update of the differing fields, or null when it matches. */
export function planRepository(p: DesiredPlacement, observed: FileRepository | undefined): CreateEntryOf<'repository'> | UpdateEntryOf<'repository'> | null {
  const desired = p.repository;
  const base = { site: p.site, kind: 'repository' as const, name: p.repository.name, mirror: p.mirror, depth: p.depth };
  if (!observed) {
    return {
      ...base,
      action: 'create',
      reason: 'missing',
      changes: createdFields(desired, REPOSITORY_FIELDS),
      op: { body: { ...p.repository } },
    };
  }
  const changes = diffFields(desired, observed, REPOSITORY_FIELDS);
  if (changes.length === 0) return null;
  return updateEntry(base, changes, observed.pulp_href, patchOf(changes, desired));
}
