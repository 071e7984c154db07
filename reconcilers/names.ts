/**
 * The one place that names Pulp objects and labels them. Deterministic names make a repeated
 * create collide instead of duplicating; the labels are what ownership is proven by.
 */
import type { Labels } from '../pulp/types.js';

/** The prefix of every object pulpdist creates. Never used to decide ownership: labels are. */
export const NAME_PREFIX = 'pulpdist.';

/** The label that marks an object as pulpdist's (Pulp label keys allow only `[A-Za-z0-9_ ]`). */
export const MANAGED_LABEL = 'managed_by';
export const MANAGED_VALUE = 'pulpdist';
export const MIRROR_LABEL = 'pulpdist_mirror';

/** The `pulp_label_select` filter observe lists with. */
export const MANAGED_SELECTOR = `${MANAGED_LABEL}=${MANAGED_VALUE}`;

/** Name of the repository, remote and distribution of mirror M: `pulpdist.M`. */
export function objectName(mirror: string): string {
  return NAME_PREFIX + mirror;
}

/** The labels every object of mirror M carries. */
export function managedLabels(mirror: string): Labels {
  return { [MANAGED_LABEL]: MANAGED_VALUE, [MIRROR_LABEL]: mirror };
}

/** True only for objects that carry the managed label: the only ones pulpdist may change or delete. */
export function isManaged(labels: Labels | null | undefined): boolean {
  return labels?.[MANAGED_LABEL] === MANAGED_VALUE;
}

/** The mirror a managed object belongs to: its label, else (an older or hand-made object) its name. */
export function mirrorOf(obj: { name: string; pulp_labels?: Labels | null }): string {
  const label = obj.pulp_labels?.[MIRROR_LABEL];
  if (label) return label;
  return obj.name.startsWith(NAME_PREFIX) ? obj.name.slice(NAME_PREFIX.length) : obj.name;
}

/** Key of a (mirror, site) pair in maps the caller keeps, e.g. last sync times. */
export function syncKey(mirror: string, site: string): string {
  return `${mirror}@${site}`;
}
