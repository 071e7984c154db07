/**
 * Deadlines: a sync stuck past `--pass-deadline` is canceled in Pulp and reported, nothing half
 * made is published, and the newer commit that lifts the cause is applied at once.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { tempDir } from '../../testkit/cli.js';
import { startControllerProcess } from '../../testkit/controller-process.js';
import { makeRepo, runGit, writeFiles } from '../../testkit/git-server.js';
import { startSite } from '../../testkit/site.js';

async function poll(url: string, pred: (d: StatusDocument) => boolean, what: string, log: () => string, ms = 30_000): Promise<StatusDocument> {
  const end = Date.now() + ms;
  let last: StatusDocument | null = null;
  while (Date.now() < end) {
    last = await fetch(`${url}/api/v1/status`).then((r) => r.json() as Promise<StatusDocument>, () => last);
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last?.controller)}\n${log().slice(-3000)}`);
}

test('a sync past the pass deadline is canceled and reported; the fix commit is applied', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-deadline-');
  const trees = path.join(dir, 'trees');
  const tree = path.join(trees, 'slow');
  mkdirSync(tree, { recursive: true });
  for (let i = 0; i < 8; i++) writeFileSync(path.join(tree, `f${i}.bin`), Buffer.alloc(32 * 1024, `slow-${i}`));
  const site = await startSite({ dataDir: path.join(dir, 'site'), allowedImportPaths: [trees] });
  const siteYaml = (limits: string): string => `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: origin}\nspec:\n  pulp: {url: "${site.url}"}\n${limits}`;
  const mirror = `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: slow}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin]\n`;
  // 256 KiB at 8 KiB/s (16 KiB/s shared by 2 sync slots) needs 30 s; the deadline is 2 s.
  const { work } = makeRepo(dir, 'specs', { 'specs/origin.yaml': siteYaml('  limits: {bandwidth: 16KiB/s}\n'), 'specs/slow.yaml': mirror });
  const ctl = await startControllerProcess(['--repo', work, '--path', 'specs', '--pass-deadline', '2s', '--interval', '1h', '--state-dir', path.join(dir, 'state')]);
  try {
    const t0 = Date.now();
    const failed = await poll(ctl.url, (d) => d.controller.lastPass?.result === 'failed', 'the pass to fail at its deadline', ctl.log);
    assert.ok(Date.now() - t0 < 20_000, 'aborted long before the sync could finish');
    assert.is(failed.controller.observedCommit, null, 'a pass that did not complete moves nothing forward');
    assert.match(ctl.log(), /pass exceeded its deadline of 2\.0s; running syncs were canceled/, ctl.log());
    // In Pulp: the sync task was canceled, nothing was published.
    const end = Date.now() + 15_000;
    let states: string[] = [];
    while (Date.now() < end) {
      const tasks = (await (await fetch(`${site.url}/pulp/api/v3/tasks/?limit=100`)).json()) as { results: { name: string; state: string }[] };
      states = tasks.results.filter((t) => /sync/.test(t.name)).map((t) => t.state);
      if (states.length && states.every((s) => s === 'canceled' || s === 'failed')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(states.includes('canceled'), `sync task states: ${states.join(', ')}`);
    const content = await fetch(`${site.url}/pulp/content/slow/PULP_MANIFEST`);
    assert.is(content.status, 404);

    // The fix: lift the cap. It is applied without waiting for the 1 h interval or a backoff.
    writeFiles(work, { 'specs/origin.yaml': siteYaml('') });
    runGit(['commit', '-q', '-am', 'no cap'], work);
    const head = runGit(['rev-parse', 'HEAD'], work);
    const ok = await poll(ctl.url, (d) => d.controller.observedCommit === head && d.mirrors[0]?.sites[0]?.state === 'Synced', 'the fix applied', ctl.log);
    assert.is(ok.controller.lastPass?.result, 'succeeded');
  } finally {
    await ctl.stop();
    await site.stop();
    await cleanup();
  }
});

test.run();
