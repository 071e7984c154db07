/**
 * The end of `pulpdist apply` for people: what was done (made, failed, skipped: a run whose
 * actions all failed does not read "0 changes"), then, when it did not converge, each count right
 * above the list it counts (it printed "Not converged. 5 problems:" over 7 lines, 5 problems and 2
 * placements, under one heading). Only formats.
 */
import { formatBytes, formatDuration } from '../../core/units.js';
import type { PassResult } from '../../reconcilers/pass-types.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function renderApplyOutcome(result: Pick<PassResult, 'changes' | 'converged' | 'failures' | 'mirrors'>, o: { durationMs: number; movedBytes: number }): string {
  const failed = result.failures.filter((f) => f.kind === 'entry-failed').length;
  const skipped = result.failures.filter((f) => f.kind === 'entry-skipped').length;
  const done = [`${plural(result.changes, 'change')} made`, ...(failed ? [`${failed} failed`] : []), ...(skipped ? [`${skipped} skipped`] : [])];
  const out = [`${done.join(', ')} in ${formatDuration(o.durationMs)}, ${formatBytes(o.movedBytes)} moved.`];
  if (result.converged) return [...out, 'Converged: every site publishes the desired trees.'].join('\n') + '\n';
  const left = result.mirrors.flatMap((m) => m.sites.filter((s) => s.state !== 'Synced' && s.state !== 'Suspended').map((s) => `${m.name}@${s.site}: ${s.state}: ${s.message}`));
  const parts = [...(result.failures.length ? [plural(result.failures.length, 'problem')] : []), ...(left.length ? [`${plural(left.length, 'placement')} not Synced`] : [])];
  out.push(`Not converged${parts.length ? `: ${parts.join(', ')}` : ''}.`);
  if (result.failures.length) out.push(`${plural(result.failures.length, 'problem')}:`, ...result.failures.map((f) => `  - ${f.message}`));
  if (left.length) out.push(`${plural(left.length, 'placement')} not Synced:`, ...left.map((l) => `  - ${l}`));
  return out.join('\n') + '\n';
}
