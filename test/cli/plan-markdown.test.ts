/**
 * The markdown plan as a merge-request note: one line per mirror first (what changes where, bytes
 * per site), the Pulp details folded below, and at 1,000 mirrors still under GitLab's note limit
 * with a pointer to the full plan.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { desiredState } from '../../reconcilers/desired.js';
import { plan } from '../../reconcilers/plan.js';
import type { Plan } from '../../reconcilers/plan-types.js';
import { NOTE_LIMIT, renderMarkdown } from '../../cli/reporters/plan.js';
import { emptySite, mirror, site, tree } from '../reconcilers/fixtures.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const SITES = [site('origin'), site('hub', { upstream: 'origin' }), site('leaf', { upstream: 'hub' })];
const T = tree([['Packages/a.rpm', 'a1', 2000], ['Packages/b.rpm', 'b1', 4000], ['repodata/repomd.xml', 'r1', 300]]);

/** `n` new mirrors on three empty sites: every object created, every site synced. */
function newMirrors(n: number): Plan {
  const names = Array.from({ length: n }, (_, i) => `mirror-${String(i).padStart(4, '0')}`);
  const d = desiredState({ sites: SITES, mirrors: names.map((m) => mirror(m)) });
  return plan(d, { sites: new Map(SITES.map((s) => [s.name, emptySite(s.name)])), sources: new Map(names.map((m) => [m, T])) }, { now: NOW });
}

test('3 mirrors: the note leads with one line per mirror; Pulp fields only inside the folded details', () => {
  const md = renderMarkdown(newMirrors(3));
  const lines = md.split('\n');
  const first = lines.findIndex((l) => l.startsWith('- **'));
  const perSite = lines[first]!.replace(/^- \*\*mirror-0000\*\*: /, '');
  // what happens where, bytes per site: 3 creates and a sync of the whole tree (+ its manifest)
  assert.match(perSite, /^origin `\+3 > 6\.\d KiB` · hub `\+3 > 6\.\d KiB` · leaf `\+3 > 6\.\d KiB`$/);
  assert.equal(lines.slice(first, first + 3).map((l) => l.replace(/\*\*: .*/, '')), ['- **mirror-0000', '- **mirror-0001', '- **mirror-0002']);
  const details = md.indexOf('<details>');
  assert.ok(details > first);
  for (const internal of ['pulp_labels', 'autopublish', 'policy']) {
    assert.ok(md.includes(internal), `${internal} is still in the details`);
    assert.ok(md.indexOf(internal) > details, `${internal} only after <details>`);
  }
  // Above the details: the title, the summary, the site table, the legend and the mirror lines.
  assert.ok(md.slice(0, details).split('\n').length < 20, md.slice(0, details));
  assert.not.match(md, /Truncated/);
});

test('1,000 mirrors: under GitLab\'s note limit, every mirror line kept, a pointer where it is cut', () => {
  const p = newMirrors(1000);
  const md = renderMarkdown(p);
  assert.ok(md.length < NOTE_LIMIT - 1000, `${md.length} characters`);
  assert.is((md.match(/^- \*\*mirror-\d{4}\*\*/gm) ?? []).length, 1000);
  assert.match(md, /\*\*Truncated\*\* to stay under GitLab's note size limit: \d+ of 12000 changes detailed\. The full plan is in the job's artifacts/);
  // The cut closes what it opened: fences paired, the details element closed.
  assert.is((md.match(/^```/gm) ?? []).length % 2, 0);
  assert.ok(md.trimEnd().endsWith('</details>'));
  // A smaller limit cuts the mirror lines themselves, still with the pointer.
  const small = renderMarkdown(p, { maxChars: 40_000 });
  assert.ok(small.length <= 40_000);
  assert.match(small, /Truncated\*\* to stay under GitLab's note size limit: \d+ of 1000 mirrors shown, details left out/);
});

test.run();
