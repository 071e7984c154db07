/**
 * The Site fields of issue 22: orphanCleanup (interval, protectionTime, enabled) and
 * storage.freeSpaceWarning, parsed with their units, and wrong values pointed at by file:line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { load, where } from './fixtures.js';

const site = (spec: string) => `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: hub}\nspec:\n  pulp: {url: https://pulp.hub.example.com}\n${spec}`;

test('given fields are parsed: durations to ms, a percentage to a share', () => {
  const r = load({ 'sites.yaml': site('  orphanCleanup: {interval: 12h, protectionTime: 0s, enabled: false}\n  storage: {freeSpaceWarning: 12.5%}\n') });
  assert.equal(r.problems, []);
  assert.equal([r.specs.sites[0]!.orphanCleanup, r.specs.sites[0]!.storage], [{ enabled: false, intervalMs: 43_200_000, protectionMs: 0 }, { freeSpaceWarning: 0.125 }]);
});

test('absent fields take the defaults: daily, 1 h protection, 10%', () => {
  const r = load({ 'sites.yaml': site('') });
  assert.equal([r.specs.sites[0]!.orphanCleanup, r.specs.sites[0]!.storage], [{ enabled: true, intervalMs: 86_400_000, protectionMs: 3_600_000 }, { freeSpaceWarning: 0.1 }]);
});

test('wrong values are schema errors at their line', () => {
  const r = load({ 'sites.yaml': site('  orphanCleanup: {interval: daily}\n  storage: {freeSpaceWarning: 150%}\n') });
  assert.equal(where(r).length, 2, JSON.stringify(r.problems));
  assert.ok(r.problems.every((p) => p.severity === 'error' && p.file === 'sites.yaml'));
  assert.equal(r.problems.map((p) => p.line).sort(), [6, 7]);
});

test.run();
