/**
 * The alert rules docs/status.md offers are a rules file Prometheus accepts (`promtool check
 * rules`, where installed), and every series they read is one `/metrics` exposes, with the labels
 * they select: a renamed metric or label would leave an alert that never fires (issue 15 item 4:
 * `PulpdistMirrorFailed` could not fire while failures showed as Pending).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../core/paths.js';
import type { StatusDocument } from '../../core/status.js';
import { tempDir } from '../../testkit/cli.js';
import { sampleStatus } from '../../testkit/status-fixture.js';
import { createMetrics, metricsText } from '../../web/metrics.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const doc = readFileSync(path.join(PACKAGE_ROOT, 'docs', 'status.md'), 'utf8');
const block = /Alerts worth having[^\n]*\n+```yaml\n([^]*?)\n```/.exec(doc)?.[1] ?? '';
const rules = (parse(block) as { groups: { name: string; rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);

/** A document where each rule's condition holds somewhere: every state, a degraded and nearly full site with a cleanup. */
function everything(): StatusDocument {
  const d = sampleStatus(NOW);
  const site = d.sites.find((s) => s.reachable)!;
  site.state = 'degraded';
  site.storage = { total: 100, used: 95, free: 5 };
  site.diskLow = true;
  const at = NOW.toISOString();
  site.lastCleanup = { startedAt: at, finishedAt: at, result: 'completed', removedContent: 1, removedArtifacts: 1, reclaimedBytes: 10, task: null, message: '' };
  return d;
}

/** `name{a="x",b="y"}` selectors in a PromQL expression (names of pulpdist's own series only). */
function selectors(expr: string): { name: string; labels: Record<string, string> }[] {
  return [...expr.matchAll(/\b(pulpdist_[a-z_]+)(?:\{([^}]*)\})?/g)].map((m) => ({
    name: m[1]!,
    labels: Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!])),
  }));
}

test('the docs hold the rules (one per alert the docs name)', () => {
  const names = rules.map((r) => r.alert);
  for (const a of ['PulpdistMirrorFailed', 'PulpdistChangeBlocked', 'PulpdistSiteUnreachable', 'PulpdistSiteDegraded', 'PulpdistNoRecentSync']) assert.ok(names.includes(a), `${a} in ${names.join(', ')}`);
});

test('every series a rule reads is exposed, with the labels it selects', async () => {
  const m = createMetrics({ countSyncsSince: new Date(0), now: () => NOW });
  m.recordStatus(everything());
  m.recordPropagation('fedora-40', 'hub', 42);
  const text = await metricsText(m.registry);
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  for (const r of rules) {
    for (const s of selectors(r.expr)) {
      const found = lines.some((l) => {
        const head = l.slice(0, l.lastIndexOf(' '));
        return head.split('{')[0] === s.name && Object.entries(s.labels).every(([k, v]) => head.includes(`${k}="${v}"`));
      });
      assert.ok(found, `${r.alert}: no series ${s.name}${JSON.stringify(s.labels)} in /metrics`);
    }
  }
});

test('promtool check rules accepts the block', async () => {
  if (!existsSync('/usr/bin/promtool')) {
    console.log('skipped: promtool is not installed (apt-get install prometheus)');
    return;
  }
  const { dir, cleanup } = await tempDir('pulpdist-alert-rules-');
  try {
    const file = path.join(dir, 'pulpdist.rules.yml');
    await writeFile(file, block + '\n');
    const out = execFileSync('/usr/bin/promtool', ['check', 'rules', file], { encoding: 'utf8' });
    assert.match(out, new RegExp(`SUCCESS: ${rules.length} rules found`));
  } finally {
    await cleanup();
  }
});

test.run();
