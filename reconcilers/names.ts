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
/**
 * The label naming the controller instance that owns an object (`--controller-id`), so that
 * several spec repositories can share one Pulp: each observes, updates and prunes only its own.
 */
export const CONTROLLER_LABEL = 'pulpdist_controller';

/** The `pulp_label_select` filter observe lists with. */
export const MANAGED_SELECTOR = `${MANAGED_LABEL}=${MANAGED_VALUE}`;

/** Name of the repository, remote and distribution of mirror M: `pulpdist.M`. */
export function objectName(mirror: string): string {
  return NAME_PREFIX + mirror;
}

/** The labels every object of mirror M carries; with a controller id, the owner's label too. */
export function managedLabels(mirror: string, controller?: string | null): Labels {
  const labels: Labels = { [MANAGED_LABEL]: MANAGED_VALUE, [MIRROR_LABEL]: mirror };
  if (controller) labels[CONTROLLER_LABEL] = controller;
  return labels;
}

/**
 * Whose a managed object is, seen by controller `me`: `own` (its label names me, or there is no
 * `me`: a caller without an identity sees every managed object as its own, as before ids),
 * `unowned` (made before controller ids: the first controller that wants it adopts it) or
 * `foreign` (another controller's: never touched).
 */
export type Ownership = 'own' | 'unowned' | 'foreign';

export function ownershipOf(labels: Labels | null | undefined, me: string | null | undefined): Ownership {
  if (!me) return 'own';
  const owner = labels?.[CONTROLLER_LABEL];
  if (owner === undefined || owner === '') return 'unowned';
  return owner === me ? 'own' : 'foreign';
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

/** The mirror and site of a `syncKey` (names cannot hold `@`: the spec schema allows none). */
export function splitSyncKey(key: string): { mirror: string; site: string } {
  const at = key.lastIndexOf('@');
  return { mirror: key.slice(0, at), site: key.slice(at + 1) };
}

/**
 * The label on a managed distribution recording which tree its repository's version N publishes:
 * `REPO:N:DIGEST:FILES:BYTES` (REPO = the repository href's last segment). Pulp keeps it for us, so
 * a fresh `pulpdist plan` (a CI job with no cache) learns every published digest from the
 * distribution list alone; it is trusted only while the distribution serves that repository and N
 * is still its latest version. Not part of the desired labels: never diffed.
 */
export const TREE_LABEL = 'pulpdist_tree';

export interface TreeLabel {
  repository: string;
  version: number;
  digest: string;
  files: number;
  bytes: number;
}

export function formatTreeLabel(t: TreeLabel): string {
  return `${t.repository}:${t.version}:${t.digest}:${t.files}:${t.bytes}`;
}

/** The parsed label, or null when absent or malformed (then the manifest is read instead). */
export function parseTreeLabel(value: string | undefined): TreeLabel | null {
  const m = value ? /^(?<repository>[\w-]+):(?<version>\d+):(?<digest>[0-9a-f]{64}):(?<files>\d+):(?<bytes>\d+)$/.exec(value) : null;
  const g = m?.groups;
  if (!g?.repository || !g.digest) return null;
  return { repository: g.repository, version: Number(g.version), digest: g.digest, files: Number(g.files), bytes: Number(g.bytes) };
}

/** The number N of a repository version href `…/versions/N/`, or null. */
export function versionNumberOf(href: string | null | undefined): number | null {
  const m = href ? /\/versions\/(\d+)\/$/.exec(href) : null;
  return m ? Number(m[1]) : null;
}

/** The last path segment of an href (`…/file/file/<uuid>/` → `<uuid>`), to tie a tree label to one repository. */
export function hrefId(href: string | null | undefined): string {
  return href?.split('/').filter(Boolean).pop() ?? '';
}
