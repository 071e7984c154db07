/**
 * What `pulpdist status` tells a script, from one status document: the exit code and the problems
 * behind it, worst first, so that the terminal view leads with the same things the code says.
 *
 *   0  every mirror at every site is Synced (or Suspended: held on purpose), no spec error,
 *      every site reachable
 *   1  something needs a person: a Failed or Blocked placement, a spec error, an unreachable site
 *   3  nothing is wrong but the network is not there yet: Progressing, Pending or OutOfSync
 *      placements, or (with `commit`) the controller has not applied that commit yet
 */
import type { MirrorState, StatusDocument } from '../core/status.js';

export interface StatusVerdict {
  code: 0 | 1 | 3;
  /** One line per problem (code 1) or per placement still on its way (code 3). */
  lines: string[];
}

const NEEDS_A_PERSON = new Set<MirrorState>(['Failed', 'Blocked']);
const SETTLED = new Set<MirrorState>(['Synced', 'Suspended']);

/** The verdict on `doc`; `commit` (a full or abbreviated id) must be the applied spec commit. */
export function statusVerdict(doc: StatusDocument, opts: { commit?: string } = {}): StatusVerdict {
  const problems: string[] = [];
  const waiting: string[] = [];
  const c = doc.controller;
  if (c.specErrors.length) problems.push(`spec errors: ${c.specErrors.length} in ${c.specCommit?.slice(0, 12) ?? 'the spec commit'} (not applied)`);
  for (const s of doc.sites) if (!s.reachable) problems.push(`site ${s.name} unreachable${s.message ? `: ${s.message}` : ''}`);
  for (const m of doc.mirrors) {
    for (const p of m.sites) {
      const where = `${m.name}@${p.site}`;
      if (NEEDS_A_PERSON.has(p.state)) problems.push(`${where} ${p.state}${p.message ? `: ${p.message}` : ''}`);
      else if (!SETTLED.has(p.state)) waiting.push(`${where} ${p.state}${p.message ? `: ${p.message}` : ''}`);
    }
  }
  if (opts.commit && !(c.observedCommit ?? '').startsWith(opts.commit)) {
    waiting.unshift(`commit ${opts.commit} not applied yet (applied: ${c.observedCommit?.slice(0, 12) ?? 'none'})`);
  }
  if (problems.length) return { code: 1, lines: problems };
  if (waiting.length) return { code: 3, lines: waiting };
  return { code: 0, lines: [] };
}
