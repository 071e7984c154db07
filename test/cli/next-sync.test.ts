/**
 * When a scheduled mirror syncs next (issue 16: "plan/status show when the next sync is due"): a
 * real `pulpdist run --once` over a real site syncs a mirror with `schedule: {interval: 6h}`; its
 * status says `nextSyncAt`, six hours after that sync, in the status branch and on the page.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import type { MirrorStatus } from '../../core/status.js';
import { renderStatusPage } from '../../web/page.js';
import { sampleStatus } from '../../testkit/status-fixture.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { makeRepo, runGit } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

let site: RunningSite | undefined;
let cleanup: () => Promise<void> = async () => {};

test.after(async () => {
  await site?.stop().catch(() => undefined);
  await cleanup();
});

test('a mirror on an interval: its status names its next sync, interval after the last', async () => {
  const t = await tempDir('pulpdist-next-sync-');
  cleanup = t.cleanup;
  const tree = path.join(t.dir, 'trees', 'tools');
  mkdirSync(tree, { recursive: true });
  writeFileSync(path.join(tree, 'a.txt'), 'a\n');
  site = await startSite({ dataDir: path.join(t.dir, 'origin'), allowedImportPaths: [path.join(t.dir, 'trees')] });
  const { work } = makeRepo(t.dir, 'specs', {
    'specs/site.yaml': `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: origin}\nspec:\n  pulp: {url: "${site.url}"}\n`,
    'specs/tools.yaml': `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: tools}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin]\n  schedule: {interval: 6h}\n`,
  });
  const r = await runCli(['run', '--repo', work, '--path', 'specs', '--once', '--state-dir', path.join(t.dir, 'state')], { timeoutMs: 120_000 });
  assert.is(r.code, 0, r.stderr);
  const m = YAML.parse(runGit(['show', 'pulpdist/status:status/mirrors/tools.yaml'], work)) as MirrorStatus;
  const synced = Date.parse(m.sites[0]!.lastSync!.finishedAt!);
  assert.ok(m.nextSyncAt, JSON.stringify(m));
  assert.ok(Math.abs(Date.parse(m.nextSyncAt!) - (synced + 6 * 3600_000)) < 60_000, `${m.nextSyncAt} is 6 h after ${m.sites[0]!.lastSync!.finishedAt}`);
});

test('the page says when a mirror syncs next', () => {
  const now = new Date('2026-12-05T12:00:00Z');
  const doc = sampleStatus(now);
  doc.mirrors[0]!.nextSyncAt = '2026-12-05T15:00:00.000Z';
  const page = renderStatusPage(doc, { now });
  assert.match(page, /<span class="due" title="next scheduled sync: 2026-12-05T15:00:00.000Z">next sync in 3h00m<\/span>/);
});

test.run();
