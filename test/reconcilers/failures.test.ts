/** Why a pass did not converge, typed: the kind, the where, and the line `pulpdist apply` prints. */
import { test } from 'uvu';
import { entryDoing } from '../../reconcilers/plan-types.js';
import * as assert from 'uvu/assert';
import { desiredState } from '../../reconcilers/desired.js';
import { PassFailedError, PassFailure, withoutSite } from '../../reconcilers/failures.js';
import { unreachableSite } from '../../reconcilers/observe.js';
import { plan } from '../../reconcilers/plan.js';
import { emptySite, mirror, site, tree } from './fixtures.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const V1 = tree([['a', 'a1', 100]]);

function entries() {
  const d = desiredState({ sites: [site('origin'), site('hub', { upstream: 'origin' })], mirrors: [mirror('fedora')] });
  const p = plan(d, { sites: new Map([['origin', emptySite('origin')], ['hub', emptySite('hub')]]), sources: new Map([['fedora', V1]]) }, { now: NOW });
  const find = (site: string, kind: string) => {
    const e = p.entries.find((x) => x.site === site && x.kind === kind);
    if (!e) throw new Error(`no ${kind} at ${site}`);
    return e;
  };
  return { sync: find('hub', 'sync'), remote: find('origin', 'remote') };
}

test('each kind of failure: its kind, where, and the human line', () => {
  const { sync, remote } = entries();
  const table: [PassFailure, unknown][] = [
    [PassFailure.ofEntry(sync, 'failed', 'task failed: 404'), { kind: 'entry-failed', site: 'hub', mirror: 'fedora', message: 'hub: sync pulpdist.fedora failed: task failed: 404' }],
    [PassFailure.ofEntry(remote, 'skipped', 'upstream down'), { kind: 'entry-skipped', site: 'origin', mirror: 'fedora', message: 'origin: create remote pulpdist.fedora skipped: upstream down' }],
    [PassFailure.ofEntry(remote, 'failed', undefined), { kind: 'entry-failed', site: 'origin', mirror: 'fedora', message: 'origin: create remote pulpdist.fedora failed:' }],
    [PassFailure.ofSite(unreachableSite('leaf', 'connect ECONNREFUSED')), { kind: 'site-unreachable', site: 'leaf', mirror: null, message: 'leaf: unreachable: connect ECONNREFUSED' }],
    // The error already names the site: said once, not `hub: unreachable: hub: GET …` (issue 15 item 10).
    [PassFailure.ofSite(unreachableSite('hub', 'hub: GET http://hub/pulp/api/v3/status/ failed: ECONNREFUSED')), { kind: 'site-unreachable', site: 'hub', mirror: null, message: 'hub: unreachable: GET http://hub/pulp/api/v3/status/ failed: ECONNREFUSED' }],
    [PassFailure.ofSite({ ...unreachableSite('hub', 'hub: GET http://hub/pulp/api/v3/status/ answered 401 (Pulp rejected the credentials)'), refused: true }), { kind: 'site-refused', site: 'hub', mirror: null, message: 'hub: GET http://hub/pulp/api/v3/status/ answered 401 (Pulp rejected the credentials)' }],
    [PassFailure.ofBlockedDeletes('mass delete: 6 of 9 …'), { kind: 'deletes-blocked', site: null, mirror: null, message: 'mass delete: 6 of 9 …' }],
    [PassFailure.ofSource('tools', 'GET https://x/PULP_MANIFEST answered 404'), { kind: 'source-unreadable', site: null, mirror: 'tools', message: 'tools: source unreadable: GET https://x/PULP_MANIFEST answered 404' }],
  ];
  for (const [f, want] of table) {
    assert.equal(f.toJSON(), want);
    assert.is(String(f), f.message);
  }
  assert.is(PassFailure.ofEntry(sync, 'failed', 'x').entry, sync);
  assert.is(PassFailure.ofSite(unreachableSite('leaf', 'down')).entry, null);
});

test('withoutSite: drops the site name an error starts with, in either form, and nothing else', () => {
  assert.equal(
    ['hub: GET x', 'site "hub": env X not set', 'hubble: GET x', 'connect ECONNREFUSED'].map((e) => withoutSite('hub', e)),
    ['GET x', 'env X not set', 'hubble: GET x', 'connect ECONNREFUSED'],
  );
});

test('a list of failures joins into the lines it always printed; PassFailedError carries them, retryable', () => {
  const { sync } = entries();
  const failures = [PassFailure.ofEntry(sync, 'failed', 'boom'), PassFailure.ofSource('tools', 'gone')];
  assert.is(failures.join('; '), 'hub: sync pulpdist.fedora failed: boom; tools: source unreadable: gone');
  const err = new PassFailedError(failures);
  assert.is(err.message, 'hub: sync pulpdist.fedora failed: boom; tools: source unreadable: gone');
  assert.is(err.code, 'PassFailedError');
  assert.is(err.retryable, true);
  assert.is(err.failures, failures);
  assert.equal(JSON.parse(JSON.stringify(err)).failures.map((f: { kind: string }) => f.kind), ['entry-failed', 'source-unreadable']);
});

test('entryDoing: the few words for an entry, never "sync sync" (log lines, failures, apply progress)', () => {
  assert.equal(
    [{ kind: 'sync', action: 'sync' }, { kind: 'publication', action: 'publish' }, { kind: 'remote', action: 'create' }, { kind: 'distribution', action: 'delete' }].map(entryDoing),
    ['sync', 'publish', 'create remote', 'delete distribution'],
  );
});

test.run();
