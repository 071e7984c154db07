/**
 * spec.exclude, spec.symlinks, spec.source.settle, spec.source.inProgressMarker and spec.source.readOnly: what a valid
 * mirror becomes, and every bad value at its FILE:LINE:COLUMN.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { excludePatternProblem } from '../../core/exclude-pattern.js';
import { SITES, load, mirror, where } from './fixtures.js';

const BODY = (source: string, extra = '') => `  source: ${source}\n  origin: origin\n  sites: [origin, hub]\n${extra}`;

test('a valid mirror carries its tree options in its source', () => {
  const r = load({
    's.yaml': SITES,
    'm.yaml': mirror(
      BODY(
        '{path: /srv/fedora, settle: 5m, inProgressMarker: "Archive-Update-in-Progress-*", readOnly: true}',
        '  exclude: ["*.part", ".~tmp~/", "/scratch/", "lost+found"]\n  symlinks: strict\n',
      ),
    ),
  });
  assert.equal(where(r), []);
  assert.equal(r.specs.mirrors[0]!.source, {
    kind: 'path',
    path: '/srv/fedora',
    exclude: ['*.part', '.~tmp~/', '/scratch/', 'lost+found'],
    symlinks: 'strict',
    settleMs: 300_000,
    inProgressMarker: 'Archive-Update-in-Progress-*',
    readOnly: true,
  });
  // readOnly: false is the default, and says nothing in the source.
  const rw = load({ 's.yaml': SITES, 'm.yaml': mirror(BODY('{path: /srv/m1, readOnly: false}')) });
  assert.equal(rw.specs.mirrors[0]!.source, { kind: 'path', path: '/srv/m1' });
});

test('a cron window and syncOnChange', () => {
  const held = load({ 's.yaml': SITES, 'm.yaml': mirror(BODY('{path: /srv/m1}', '  schedule: {cron: "30 2 * * *"}\n')) });
  assert.equal(held.specs.mirrors[0]!.schedule, { cron: '30 2 * * *' });
  const open = load({ 's.yaml': SITES, 'm.yaml': mirror(BODY('{path: /srv/m1}', '  schedule: {cron: "30 2 * * *", syncOnChange: true}\n')) });
  assert.equal(where(open), []);
  assert.equal(open.specs.mirrors[0]!.schedule, { cron: '30 2 * * *', syncOnChange: true });
});

test('without them, the source stays as it was (defaults are the scan\'s: follow, nothing excluded)', () => {
  const r = load({ 's.yaml': SITES, 'm.yaml': mirror(BODY('{path: /srv/m1}')) });
  assert.equal(r.specs.mirrors[0]!.source, { kind: 'path', path: '/srv/m1' });
  const m = load({ 's.yaml': SITES, 'm.yaml': mirror(BODY('{manifest: "https://example.com/t/PULP_MANIFEST"}')) });
  assert.equal(m.specs.mirrors[0]!.source, { kind: 'manifest', url: 'https://example.com/t/PULP_MANIFEST' });
});

const BAD: [string, string, string[], RegExp][] = [
  // [what, spec text, positions, message]
  ['an unclosed brace in an exclude pattern, at the item', mirror(BODY('{path: /srv/m1}', '  exclude:\n    - "*.part"\n    - "{a,b"\n')), ['m.yaml:10:7 error exclude'], /bad exclude pattern "\{a,b": unclosed "\{"/],
  ['a negated exclude pattern', mirror(BODY('{path: /srv/m1}', '  exclude: ["!keep"]\n')), ['m.yaml:8:13 error exclude'], /negated patterns/],
  ['a ".." segment', mirror(BODY('{path: /srv/m1}', '  exclude: ["a/../b"]\n')), ['m.yaml:8:13 error exclude'], /"\.\." segment/],
  ['an empty pattern', mirror(BODY('{path: /srv/m1}', '  exclude: [""]\n')), ['m.yaml:8:13 error schema'], /must not be empty|at least 1/],
  ['an unknown symlink policy', mirror(BODY('{path: /srv/m1}', '  symlinks: always\n')), ['m.yaml:8:13 error schema'], /spec\.symlinks: must be one of "[a-z-]+"(, "[a-z-]+")+, got "always"/],
  ['a bad settle duration', mirror(BODY('{path: /srv/m1, settle: soon}')), ['m.yaml:5:35 error schema'], /settle/],
  ['a zero settle', mirror(BODY('{path: /srv/m1, settle: 0s}')), ['m.yaml:5:35 error settle'], /longer than zero/],
  ['a bad marker glob', mirror(BODY('{path: /srv/m1, inProgressMarker: "[x"}')), ['m.yaml:5:45 error in-progress-marker'], /bad glob "\[x": unclosed "\["/],
  ['syncOnChange with an interval', mirror(BODY('{path: /srv/m1}', '  schedule: {interval: 1h, syncOnChange: true}\n')), ['m.yaml:8:28 error sync-on-change'], /syncOnChange applies to a cron schedule/],
  ['exclude with a published manifest', mirror(BODY('{manifest: "https://e.com/PULP_MANIFEST"}', '  exclude: ["*.iso"]\n')), ['m.yaml:8:3 error source-option'], /exclude applies to a tree on disk/],
  ['settle with a published manifest', mirror(BODY('{manifest: "https://e.com/PULP_MANIFEST", settle: 5m}')), ['m.yaml:5:53 error source-option'], /settle applies to a tree on disk/],
  ['readOnly with a published manifest', mirror(BODY('{manifest: "https://e.com/PULP_MANIFEST", readOnly: true}')), ['m.yaml:5:53 error source-option'], /readOnly applies to a tree on disk/],
  ['a readOnly that is not a boolean', mirror(BODY('{path: /srv/m1, readOnly: "yes"}')), ['m.yaml:5:37 error schema'], /readOnly/],
  ['symlinks with a published manifest', mirror(BODY('{manifest: "https://e.com/PULP_MANIFEST"}', '  symlinks: skip\n')), ['m.yaml:8:3 error source-option'], /symlinks applies to a tree on disk/],
];

for (const [what, text, positions, message] of BAD) {
  test(`refused with its position: ${what}`, () => {
    const r = load({ 's.yaml': SITES, 'm.yaml': text });
    assert.equal(where(r), positions, r.problems.map((p) => p.message).join('\n'));
    assert.match(r.problems[0]!.message, message);
  });
}

test('excludePatternProblem: what is fine and what is not', () => {
  for (const ok of ['*.part', '.~tmp~/', '/scratch/', 'lost+found', 'a/**/b', '[abc].txt', '{a,b}.iso', 'x\\{y', '[]]x', './top']) {
    assert.is(excludePatternProblem(ok), undefined, ok);
  }
  for (const [bad, why] of [['', /empty/], ['/', /empty/], ['./', /empty/], ['a//b', /empty segment/], ['!x', /negated/], ['a}', /unbalanced "\}" at character 2/], ['[ab', /unclosed "\["/], ['a/./b', /"\." segment/], ['x/../y', /"\.\." segment/]] as const) {
    assert.match(excludePatternProblem(bad) ?? '', why, bad);
  }
});

test.run();
