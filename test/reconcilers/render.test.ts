/** The plan's three formats: text, JSON (against its schema) and Markdown. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import AjvModule from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SCHEMA_DIR } from '../../core/paths.js';
import { desiredState } from '../../reconcilers/desired.js';
import { plan } from '../../reconcilers/plan.js';
import { planDocument, summaryLine } from '../../reconcilers/plan-document.js';
import type { ObservedSite, Plan } from '../../reconcilers/plan-types.js';
import { renderMarkdown, renderText } from '../../cli/reporters/plan.js';
import { addObjects, convergedSite, emptySite, mirror, site, tree } from './fixtures.js';

const Ajv = AjvModule.default ?? AjvModule;
const NOW = new Date('2026-11-25T12:00:00Z');
const SITES = [site('origin', { bandwidth: 1 << 20 }), site('hub', { upstream: 'origin' }), site('leaf', { upstream: 'hub' })];
const V1 = tree([['a', 'a1', 100]]);
const V2 = tree([['a', 'a1', 100], ['b|c', 'b1', 1288490189]]); // 1.2 GiB, a name with a pipe

function samplePlan(): Plan {
  const d = desiredState({ sites: SITES, mirrors: [mirror('fedora'), mirror('tools', { sites: ['origin', 'leaf'] })] });
  const origin = convergedSite(d, 'origin', { fedora: V1, tools: V1 }, { embedded: false });
  origin.remotes.get('pulpdist.fedora')!.download_concurrency = 3;
  const hub: ObservedSite = emptySite('hub', { reachable: false });
  const leaf = convergedSite(d, 'leaf', { fedora: V1, tools: V1 });
  addObjects(leaf, 'pulpdist.gone', { managed_by: 'pulpdist', pulpdist_mirror: 'gone' }, V1);
  return plan(d, { sites: new Map([['origin', origin], ['hub', hub], ['leaf', leaf]]), sources: new Map([['fedora', V2], ['tools', V1]]) }, { now: NOW });
}

test('summary line has the issue\'s shape', () => {
  assert.is(summaryLine({ create: 3, update: 1, delete: 0, sync: 4, publish: 0, files: 9, bytes: 1288490189 }), 'Plan: 3 to create, 1 to update, 0 to delete, 4 syncs moving 1.2 GiB');
  assert.is(summaryLine({ create: 0, update: 0, delete: 2, sync: 1, publish: 1, files: 0, bytes: 0 }), 'Plan: 0 to create, 0 to update, 2 to delete, 1 sync moving 0 B, 1 publish');
});

test('text: grouped by site upstream first, marks, field diffs, estimates, stops, warnings, summary', () => {
  const text = renderText(samplePlan());
  assert.is(text, [
    'site origin (Pulp 3.24.1)',
    '  ~ remote pulpdist.fedora: download_concurrency differs',
    '      download_concurrency: 3 → 10',
    '  > sync pulpdist.fedora: source changed; moves 1 file, 1.2 GiB',
    '',
    'site hub: unreachable: connect ECONNREFUSED; nothing is planned or pruned there',
    '',
    'site leaf (pulpdist site 3.24.1)',
    '  - repository pulpdist.gone: mirror gone is gone from the specs; stops publishing 1 file, 100 B',
    '  - remote pulpdist.gone: mirror gone is gone from the specs',
    '  - distribution pulpdist.gone: mirror gone is gone from the specs; stops publishing 1 file, 100 B',
    '  = sync pulpdist.fedora: no action: waiting: upstream hub is unreachable',
    '',
    'warning: site origin runs Pulp 3.24.1, which cannot cap bytes per second: limits.bandwidth (1.0 MiB/s) is not enforced there; only concurrentSyncs (2) limits its syncs (name a pulpdist shaper in limits.shaper to enforce it)',
    '',
    'Plan incomplete: site hub could not be observed; what would change there is unknown.',
    'Plan: 0 to create, 1 to update, 3 to delete, 1 sync moving 1.2 GiB',
    '',
  ].join('\n'));
});

test('json: the documented shape, valid against schemas/plan.schema.json, no hrefs', () => {
  const schema = JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'plan.schema.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
  const doc = planDocument(samplePlan());
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  assert.is(doc.changes, true);
  // The estimate counts the PULP_MANIFEST too: its two lines are 151 bytes.
  const withManifest = 1288490189 + Buffer.byteLength(`a,${V2.entries![0]!.sha256},100\nb|c,${V2.entries![1]!.sha256},1288490189\n`);
  assert.is(withManifest, 1288490340);
  assert.equal(doc.summary, { create: 0, update: 1, delete: 3, sync: 1, publish: 0, files: 1, bytes: withManifest });
  assert.not.match(JSON.stringify(doc), /pulp_href|\/pulp\/api\/v3\//);
  assert.equal(doc.entries[1], { site: 'origin', kind: 'sync', name: 'pulpdist.fedora', mirror: 'fedora', action: 'sync', reason: 'source changed', depth: 0, syncReason: 'source-changed', estimate: { files: 1, bytes: withManifest } });
  // the schema can fail: a wrong action is refused
  assert.not.ok(validate({ ...doc, entries: [{ ...doc.entries[0], action: 'frobnicate' }] }));
});

test('markdown: summary, a table row per site, warnings, a line per mirror, then the details folded', () => {
  const md = renderMarkdown(samplePlan());
  assert.match(md, /^### pulpdist plan\n\n> :x: \*\*Plan incomplete: site hub could not be observed; what would change there is unknown\.\*\*\n\n\*\*Plan: 0 to create, 1 to update, 3 to delete, 1 sync moving 1\.2 GiB\*\*\n/);
  assert.match(md, /^\| site \| state \| server \| create \| update \| delete \| sync \| moving \|$/m);
  assert.match(md, /^\| origin \| reachable \| Pulp 3\.24\.1 \| 0 \| 1 \| 0 \| 1 \| 1\.2 GiB \|$/m);
  assert.match(md, /^\| hub \| \*\*unreachable\*\* \| — \| 0 \| 0 \| 0 \| 0 \| 0 B \|$/m);
  assert.match(md, /^\| leaf \| reachable \| pulpdist site( [0-9.]+)? \| 0 \| 0 \| 3 \| 0 \| 0 B \|$/m);
  assert.match(md, /^> :warning: site origin runs Pulp/m);
  assert.match(md, /^- \*\*fedora\*\*: origin `~1 > 1\.2 GiB` · leaf `= waiting`$/m);
  assert.match(md, /^- \*\*gone\*\*: leaf `-3`$/m);
  // The mirror lines come before any detail.
  assert.ok(md.indexOf('- **fedora**') < md.indexOf('<details>'));
  assert.match(md, /<details><summary>Every change, by site<\/summary>\n\n\*\*origin\*\*: 2 changes\n\n```diff\n~ remote pulpdist\.fedora: download_concurrency differs\n {4}download_concurrency: 3 → 10\n! sync pulpdist\.fedora/);
  assert.match(md, /^- distribution pulpdist\.gone: mirror gone is gone/m);
  assert.match(md, /^\*\*hub\*\*: unreachable/m);
  assert.is((md.match(/<details>/g) ?? []).length, 1);
  assert.not.match(md, /Truncated/);
});

test('held mass delete: text and markdown mark each delete held and say so after the summary; JSON keeps the one sentence; approved: no mark', () => {
  const d0 = desiredState({ sites: SITES, mirrors: [mirror('fedora'), mirror('tools')] });
  const trees = { fedora: V1, tools: V1 };
  const observed = { sites: new Map(['origin', 'hub', 'leaf'].map((n) => [n, convergedSite(d0, n, trees)])), sources: new Map() };
  const d = desiredState({ sites: SITES, mirrors: [] });
  const held = plan(d, observed, { now: NOW });
  const text = renderText(held);
  const deletes = text.split('\n').filter((l) => l.startsWith('  - '));
  assert.is(deletes.length, 18);
  assert.ok(deletes.every((l) => l.endsWith(' (held)')), deletes.join('\n'));
  assert.match(text, /^Plan: 0 to create, 0 to update, 18 to delete, 0 syncs moving 0 B; the 18 deletes are held by the mass-delete guard$/m);
  assert.is(text.match(/mass delete: 6 of 6/g)?.length, 1);
  const md = renderMarkdown(held);
  assert.match(md, /\*\*Plan: .*; the 18 deletes are held by the mass-delete guard\*\*/);
  assert.match(md, /^- distribution pulpdist\.fedora: .* \(held\)$/m);
  assert.is(planDocument(held).blockedDeletes, held.blockedDeletes);
  const approved = renderText(plan(d, observed, { now: NOW, allowMassDelete: true }));
  assert.not.match(approved, /\(held\)|are held/);
  assert.match(approved, /^warning: mass delete: 6 of 6 .*; approved by --allow-mass-delete$/m);
});

test('no changes: a clear line instead of a zero summary', () => {
  const d = desiredState({ sites: SITES, mirrors: [mirror('fedora')] });
  const sites = new Map(['origin', 'hub', 'leaf'].map((n) => [n, convergedSite(d, n, { fedora: V1 })]));
  const p = plan(d, { sites, sources: new Map([['fedora', V1]]) }, { now: NOW });
  assert.match(renderText(p), /\nNo changes: every site matches the specs\.\n$/);
  assert.match(renderMarkdown(p), /\*\*No changes: every site matches the specs\.\*\*/);
  assert.is(planDocument(p).changes, false);
});

test('a site not observed: every format says the plan is incomplete, and never "every site matches"', () => {
  const d = desiredState({ sites: SITES, mirrors: [mirror('fedora')] });
  const sites = new Map<string, ObservedSite>(['origin', 'leaf'].map((n) => [n, convergedSite(d, n, { fedora: V1 })]));
  sites.set('hub', { ...emptySite('hub', { reachable: false }), error: '401 Unauthorized' });
  const p = plan(d, { sites, sources: new Map([['fedora', V1]]) }, { now: NOW });
  const text = renderText(p);
  assert.match(text, /\nPlan incomplete: site hub could not be observed; what would change there is unknown\.\n/);
  assert.not.match(text, /every site matches/);
  const md = renderMarkdown(p);
  assert.match(md, /^> :x: \*\*Plan incomplete: site hub could not be observed; what would change there is unknown\.\*\*$/m);
  assert.not.match(md, /every site matches/);
  const doc = planDocument(p);
  assert.is(doc.complete, false);
  assert.equal(doc.unobserved, ['hub']);
  // Every site seen: complete, and the all-clear line again.
  const all = new Map(['origin', 'hub', 'leaf'].map((n) => [n, convergedSite(d, n, { fedora: V1 })]));
  const full = plan(d, { sites: all, sources: new Map([['fedora', V1]]) }, { now: NOW });
  assert.equal([planDocument(full).complete, planDocument(full).unobserved], [true, []]);
  assert.not.match(renderText(full), /incomplete/);
});

test.run();
