/** Several controllers, one Pulp, as plan rules: conflicts, adoption, prunes. Pure: no server. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { desiredState } from '../../reconcilers/desired.js';
import { ownershipOf } from '../../reconcilers/names.js';
import { plan } from '../../reconcilers/plan.js';
import type { ObservedSite, ObservedState, TreeSummary } from '../../reconcilers/plan-types.js';
import { addObjects, convergedSite, mirror, site, tree } from './fixtures.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const SITES = [site('origin'), site('hub', { upstream: 'origin' }), site('leaf', { upstream: 'hub' })];
const V1 = tree([['a.txt', 'a1', 100]]);
const specs = { sites: SITES, mirrors: [mirror('fedora')] };

function observed(sites: ObservedSite[], sources: Record<string, TreeSummary>): ObservedState {
  return { sites: new Map(sites.map((s) => [s.name, s])), sources: new Map(Object.entries(sources)) };
}

test('ownershipOf: own, unowned (made before ids), foreign; without an id every managed object is own', () => {
  assert.is(ownershipOf({ pulpdist_controller: 'b' }, 'b'), 'own');
  assert.is(ownershipOf({ managed_by: 'pulpdist' }, 'b'), 'unowned');
  assert.is(ownershipOf({ pulpdist_controller: 'a' }, 'b'), 'foreign');
  assert.is(ownershipOf({ pulpdist_controller: 'a' }, undefined), 'own');
});

test('desired objects carry the controller label only when there is an id', () => {
  const p = desiredState(specs, { controller: 'team-b' }).mirrors.get('fedora')!.placements[0]!;
  for (const labels of [p.repository.pulp_labels, p.remote.pulp_labels, p.distribution.pulp_labels]) {
    assert.equal(labels, { managed_by: 'pulpdist', pulpdist_mirror: 'fedora', pulpdist_controller: 'team-b' });
  }
  assert.not.ok('pulpdist_controller' in desiredState(specs).mirrors.get('fedora')!.placements[0]!.repository.pulp_labels);
});

test('a placement another controller holds: a conflict naming it, nothing planned there, nothing fed from it', () => {
  const d = desiredState(specs, { controller: 'b' });
  const hub = convergedSite(d, 'hub', {});
  const hubFree = { ...hub, repositories: new Map(), remotes: new Map(), distributions: new Map(), published: new Map(), foreign: new Map([['pulpdist.fedora', 'a']]) };
  const p = plan(d, observed([convergedSite(d, 'origin', { fedora: V1 }), hubFree, convergedSite(d, 'leaf', {})], { fedora: V1 }), { now: NOW });
  assert.equal(p.conflicts, [{ site: 'hub', mirror: 'fedora', name: 'pulpdist.fedora', owner: 'a' }]);
  assert.equal(p.entries.filter((e) => e.site === 'hub'), []);
  assert.ok(p.entries.every((e) => e.action !== 'sync' || e.site !== 'leaf'), 'the leaf never syncs from another controller\'s hub');
  assert.match(p.warnings.join('\n'), /site hub: mirror fedora is not planned there: pulpdist\.fedora belongs to controller a \(label pulpdist_controller=a\)/);
  assert.equal(plan(d, observed([convergedSite(d, 'origin', { fedora: V1 }), hubFree, convergedSite(d, 'leaf', {})], { fedora: V1 }), { now: NOW, sites: ['origin'] }).conflicts, []);
});

test('objects made before ids are adopted (updates that say so), once', () => {
  const before = desiredState(specs);
  const d = desiredState(specs, { controller: 'b' });
  const trees = { fedora: V1 };
  const old = observed(['origin', 'hub', 'leaf'].map((s) => convergedSite(before, s, trees)), trees);
  const p = plan(d, old, { now: NOW });
  assert.is(p.entries.length, 9);
  for (const e of p.entries) {
    assert.is(e.action, 'update');
    assert.is(e.reason, 'adopt: made before controller ids, labelled pulpdist_controller=b from now on; pulp_labels differs');
  }
  assert.is(p.controller, 'b');
  const adopted = observed(['origin', 'hub', 'leaf'].map((s) => convergedSite(d, s, trees)), trees);
  assert.equal(plan(d, adopted, { now: NOW }).entries, []);
});

test('prunes: own objects no spec wants go; unowned ones stay, with one warning per site', () => {
  const d = desiredState(specs, { controller: 'b' });
  const trees = { fedora: V1 };
  const origin = convergedSite(d, 'origin', trees);
  addObjects(origin, 'pulpdist.mine', { managed_by: 'pulpdist', pulpdist_mirror: 'mine', pulpdist_controller: 'b' });
  addObjects(origin, 'pulpdist.old', { managed_by: 'pulpdist', pulpdist_mirror: 'old' });
  const p = plan(d, observed([origin, convergedSite(d, 'hub', trees), convergedSite(d, 'leaf', trees)], trees), { now: NOW });
  assert.equal(p.entries.map((e) => `${e.action} ${e.kind} ${e.name}`), ['delete repository pulpdist.mine', 'delete remote pulpdist.mine', 'delete distribution pulpdist.mine']);
  assert.equal(p.warnings, ['site origin: 1 object name made before controller ids and not wanted here (pulpdist.old) left alone: another spec set may adopt it; delete by hand what nobody wants']);
});

test.run();
