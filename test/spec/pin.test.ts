/**
 * spec.pin and spec.pins (issue 20): the forms `validate` accepts (a digest, a prefix of ≥ 12 hex
 * digits, vN), each bad form at its position with what a good one looks like, a per-site pin for a
 * site the mirror is not at, and what the spec model carries.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MIRROR_BODY, SITES, load, mirror, where } from './fixtures.js';

const DIGEST = '3f2a91c04e5d'.padEnd(64, '7');

test('a digest, a 12-digit prefix and vN are accepted and carried by the spec model', () => {
  const r = load({ 's.yaml': SITES, 'm.yaml': mirror(`${MIRROR_BODY}  pin: v7\n  pins:\n    hub: ${DIGEST.slice(0, 12)}\n    origin: ${DIGEST}\n`) });
  assert.equal(where(r), []);
  const m = r.specs.mirrors[0]!;
  assert.is(m.pin, 'v7');
  assert.equal(m.pins, { hub: DIGEST.slice(0, 12), origin: DIGEST });
  const none = load({ 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY) });
  assert.is(none.specs.mirrors[0]!.pin, undefined);
  assert.is(none.specs.mirrors[0]!.pins, undefined);
});

test('bad forms: at the value, with the forms that are accepted', () => {
  for (const [value, column] of [['3f2a91', 8], ['v0', 8], ['3F2A91C04E5D', 8], ['sha256:abc', 8], [`${DIGEST}0`, 8]] as const) {
    const r = load({ 's.yaml': SITES, 'm.yaml': mirror(`${MIRROR_BODY}  pin: "${value}"\n`) });
    assert.equal(where(r), [`m.yaml:8:${column} error schema`], value);
    assert.match(r.problems[0]!.message, /spec\.pin: .* must be a tree digest \(64 lowercase hex digits\), a prefix of at least 12 of them, or vN/);
  }
  const perSite = load({ 's.yaml': SITES, 'm.yaml': mirror(`${MIRROR_BODY}  pins: {hub: v-1}\n`) });
  assert.equal(where(perSite), ['m.yaml:8:15 error schema']);
  assert.match(perSite.problems[0]!.message, /spec\.pins\.hub: "v-1" must be a tree digest/);
});

test('a per-site pin for a site the mirror is not at: an error at that pin', () => {
  const r = load({ 's.yaml': SITES, 'm.yaml': mirror(`${MIRROR_BODY}  pins:\n    mars: v2\n`) });
  assert.equal(where(r), ['m.yaml:9:11 error pin-site']);
  assert.is(r.problems[0]!.message, `spec.pins.mars: site "mars" is not one of this mirror's sites (origin, hub): a pin there pins nothing`);
});

test.run();
