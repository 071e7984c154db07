/** Plan for a mirror's file remote at one site. Pure. */
import type { FileRemote } from '../pulp/types.js';
import type { FileRemoteCreate } from '../pulp/types.js';
import type { CreateEntryOf, DesiredPlacement, DesiredRemote, UpdateEntryOf } from './plan-types.js';
import { createdFields, diffFields, patchOf, updateEntry } from './diff.js';

const BASE_FIELDS = ['url', 'policy', 'download_concurrency', 'pulp_labels', 'proxy_url'] as const;
/** Understood by `pulpdist site` only; real Pulp 3.24 answers 400 "Unexpected field" to it. */
const BANDWIDTH_FIELD = 'pulpdist_bandwidth_limit';

/** The fields compared at a site: the bandwidth field only where the site enforces it. */
export function remoteFields(embedded: boolean): readonly string[] {
  return embedded ? [...BASE_FIELDS, BANDWIDTH_FIELD] : BASE_FIELDS;
}

/** A create when missing, an update of the differing fields, or null when it matches. */
export function planRemote(p: DesiredPlacement, observed: FileRemote | undefined, embedded: boolean): CreateEntryOf<'remote'> | UpdateEntryOf<'remote'> | null {
  const fields = remoteFields(embedded);
  const { [BANDWIDTH_FIELD]: bandwidth, ...common } = p.remote;
  const desired: Partial<DesiredRemote> = embedded ? p.remote : common;
  const base = { site: p.site, kind: 'remote' as const, name: p.remote.name, mirror: p.mirror, depth: p.depth };
  if (!observed) {
    const { name, url, policy, download_concurrency, pulp_labels, proxy_url } = p.remote;
    // null means "no cap" / "no proxy", each Pulp's default: leave them out of the create.
    const body: FileRemoteCreate = {
      name, url, policy, download_concurrency, pulp_labels,
      ...(proxy_url !== null ? { proxy_url } : {}),
      ...(embedded && bandwidth !== null ? { [BANDWIDTH_FIELD]: bandwidth } : {}),
    };
    return { ...base, action: 'create', reason: 'missing', changes: createdFields(body, fields), op: { body } };
  }
  const changes = diffFields(desired, observed, fields);
  if (changes.length === 0) return null;
  return updateEntry(base, changes, observed.pulp_href, patchOf(changes, desired));
}
