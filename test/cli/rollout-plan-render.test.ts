/** A plan's rollouts in its text and Markdown forms (cli/reporters/plan.ts): after the warnings, a line per stage, escaped for Markdown. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderMarkdown, renderText } from '../../cli/reporters/plan.js';
import { desiredState } from '../../reconcilers/desired.js';
import { plan } from '../../reconcilers/plan.js';
import type { Plan } from '../../reconcilers/plan-types.js';
import { convergedSite, mirror, site, tree } from '../reconcilers/fixtures.js';

const V1 = tree([['a', 'a1', 100]]);
const LINES = ['rollout of bbbbbbbbbbbb… (previous aaaaaaaaaaaa…): Soaking', 'stage 1/2 canary: leaf serves bbbbbbbbbbbb…; soak ends 14:32', 'stage 2/2 rest|all waits (soak ends 14:32): hub serves aaaaaaaaaaaa…'];

function converged(): Plan {
  const d = desiredState({ sites: [site('origin'), site('hub', { upstream: 'origin' }), site('leaf', { upstream: 'hub' })], mirrors: [mirror('tools')] });
  const sites = new Map(['origin', 'hub', 'leaf'].map((s) => [s, convergedSite(d, s, { tools: V1 })] as const));
  return plan(d, { sites, sources: new Map([['tools', V1]]) }, { now: new Date('2026-12-05T14:00:00Z') });
}

test('text: a block per mirror with a line per stage; none without rollouts', () => {
  const p = converged();
  assert.not.match(renderText(p), 'rollout');
  p.rollouts = [{ mirror: 'tools', lines: LINES }];
  assert.match(renderText(p), ['rollout tools:', ...LINES.map((l) => `  ${l}`), ''].join('\n'));
});

test('markdown: the mirror in bold, a bullet per line, pipes escaped', () => {
  const p = converged();
  p.rollouts = [{ mirror: 'tools', lines: LINES }];
  const md = renderMarkdown(p);
  assert.match(md, '**rollout tools**\n\n- rollout of bbbbbbbbbbbb… (previous aaaaaaaaaaaa…): Soaking\n- stage 1/2 canary');
  assert.match(md, '- stage 2/2 rest\\|all waits');
});

test.run();
