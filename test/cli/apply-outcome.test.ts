/**
 * The end of `pulpdist apply` (cli/reporters/apply.ts): failed and skipped actions are counted
 * beside the changes made (a run whose actions all failed read "0 changes made"), and each count
 * stands right above the list it counts (it read "Not converged. 5 problems:" over 7 lines).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderApplyOutcome } from '../../cli/reporters/apply.js';
import type { MirrorStatus } from '../../core/status.js';
import { desiredState } from '../../reconcilers/desired.js';
import { PassFailure } from '../../reconcilers/failures.js';
import { unreachableSite } from '../../reconcilers/observe.js';
import { plan } from '../../reconcilers/plan.js';
import { emptySite, mirror, site, tree } from '../reconcilers/fixtures.js';

const d = desiredState({ sites: [site('origin'), site('hub', { upstream: 'origin' })], mirrors: [mirror('fedora')] });
const p = plan(d, { sites: new Map([['origin', emptySite('origin')], ['hub', emptySite('hub')]]), sources: new Map([['fedora', tree([['a', 'a1', 1]])]]) }, { now: new Date(0) });
const entry = (site: string, kind: string) => p.entries.find((e) => e.site === site && e.kind === kind)!;
const cell = (site: string, state: MirrorStatus['sites'][number]['state'], message: string): MirrorStatus['sites'][number] =>
  ({ site, state, version: null, treeDigest: null, files: null, bytes: null, lastSync: null, message });

test('not converged: made, failed and skipped counted; problems and placements each under their own count', () => {
  const failures = [
    PassFailure.ofEntry(entry('origin', 'sync'), 'failed', 'task failed'),
    PassFailure.ofEntry(entry('hub', 'sync'), 'skipped', 'upstream origin failed'),
    PassFailure.ofSite(unreachableSite('leaf', 'connect ECONNREFUSED')),
  ];
  const mirrors: MirrorStatus[] = [{ name: 'fedora', origin: 'origin', treeDigest: null, sites: [cell('origin', 'Failed', 'sync failed: task failed'), cell('hub', 'Pending', 'skipped'), cell('x', 'Synced', '')] }];
  const text = renderApplyOutcome({ changes: 0, converged: false, failures, mirrors }, { durationMs: 2_000, movedBytes: 0 });
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^0 changes made, 1 failed, 1 skipped in 2(\.0)? ?s, 0 B moved\.$/);
  assert.is(lines[1], 'Not converged: 3 problems, 2 placements not Synced.');
  const under = (heading: string): string[] => {
    const i = lines.indexOf(heading);
    assert.ok(i > 0, heading);
    const out: string[] = [];
    for (const l of lines.slice(i + 1)) if (l.startsWith('  - ')) out.push(l); else break;
    return out;
  };
  assert.is(under('3 problems:').length, 3);
  assert.equal(under('2 placements not Synced:'), ['  - fedora@origin: Failed: sync failed: task failed', '  - fedora@hub: Pending: skipped']);
});

test('converged: one line of what was done, then Converged', () => {
  const text = renderApplyOutcome({ changes: 1, converged: true, failures: [], mirrors: [] }, { durationMs: 10, movedBytes: 2048 });
  assert.match(text, /^1 change made in .*, 2(\.0)? KiB moved\.\nConverged: every site publishes the desired trees\.\n$/);
});

test.run();
