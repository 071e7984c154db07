/** Changes into events: site health transitions and tree propagation, as tables over passes. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PropagationTracker, siteHealthChange } from '../../events/transitions.js';
import type { SiteHealth } from '../../events/transitions.js';

test('site health: an event per change, none for the same state or a healthy first sight', () => {
  const table: [SiteHealth | undefined, SiteHealth, string | undefined][] = [
    [undefined, 'reachable', undefined],
    [undefined, 'unreachable', 'org.pulpdist.site.unreachable'],
    [undefined, 'degraded', 'org.pulpdist.site.degraded'],
    ['reachable', 'reachable', undefined],
    ['reachable', 'unreachable', 'org.pulpdist.site.unreachable'],
    ['unreachable', 'degraded', 'org.pulpdist.site.degraded'],
    ['degraded', 'reachable', 'org.pulpdist.site.reachable'],
  ];
  for (const [prev, cur, want] of table) assert.is(siteHealthChange('hub', prev, cur)?.type, want, `${prev} → ${cur}`);
  assert.equal(siteHealthChange('hub', 'reachable', 'unreachable', { reason: 'ECONNREFUSED' })?.data, { site: 'hub', reason: 'ECONNREFUSED', previous: 'reachable' });
});

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const t = (s: number) => new Date(Date.UTC(2026, 11, 5, 8, 0, s));

test('tree propagated: once, when the last site publishes, with the time from the first publication', () => {
  const tr = new PropagationTracker();
  // First sight: A already everywhere (a previous run announced it): nothing.
  assert.is(tr.observe('m', [{ site: 'origin', treeDigest: A, publishedAt: t(0) }, { site: 'hub', treeDigest: A, publishedAt: t(1) }], t(2)), undefined);
  // B at the origin only: not yet.
  assert.is(tr.observe('m', [{ site: 'origin', treeDigest: B, publishedAt: t(10) }, { site: 'hub', treeDigest: A, publishedAt: t(1) }], t(11)), undefined);
  // B at the hub too: announced, 4.5 s after its first publication.
  const e = tr.observe('m', [{ site: 'origin', treeDigest: B, publishedAt: t(10) }, { site: 'hub', treeDigest: B, publishedAt: new Date(t(14).getTime() + 500) }], t(15));
  assert.equal(e?.data, { mirror: 'm', treeDigest: B, sites: ['hub', 'origin'], propagationMs: 4500, firstPublishedAt: t(10).toISOString(), completedAt: '2026-12-05T08:00:14.500Z' });
  assert.is(e?.subject, 'm');
  // The next passes see the same state: no repeat.
  assert.is(tr.observe('m', [{ site: 'origin', treeDigest: B, publishedAt: t(10) }, { site: 'hub', treeDigest: B, publishedAt: t(14) }], t(20)), undefined);
  // A site without the tree keeps it incomplete.
  assert.is(tr.observe('m2', [{ site: 'origin', treeDigest: A }, { site: 'hub' }], t(21)), undefined);
  assert.equal(tr.observe('m2', [{ site: 'origin', treeDigest: A }, { site: 'hub', treeDigest: A }], t(30))?.data.propagationMs, 9000, 'unknown times: from when the tracker first saw the tree');
});

test('retain forgets mirrors that left the specs: a mirror that comes back starts from its first sight again', () => {
  const tr = new PropagationTracker();
  tr.observe('m', [{ site: 'origin', treeDigest: A }, { site: 'hub' }], t(0));
  tr.retain([]);
  assert.is(tr.observe('m', [{ site: 'origin', treeDigest: A }, { site: 'hub', treeDigest: A }], t(5)), undefined);
});

test.run();
