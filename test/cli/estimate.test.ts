/**
 * Plan's estimate and what apply then moves count the same things: on a real sync (two embedded
 * sites, origin → hub) each site's sync estimate equals, byte for byte, what its sync task
 * reports downloaded. Both include the PULP_MANIFEST the sync fetches first (on a tree of small
 * files it is most of the bytes, which is how the two came apart).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

test('estimate = bytes moved, per site, manifest included', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-estimate-');
  const sites: RunningSite[] = [];
  try {
    const tree = path.join(dir, 'trees', 'small');
    await mkdir(path.join(tree, 'a'), { recursive: true });
    // Small files, one duplicated under two names (moved once), as in the report that found it.
    for (let i = 0; i < 40; i++) await writeFile(path.join(tree, 'a', `file-${i}.txt`), `content of file ${i}\n`);
    await writeFile(path.join(tree, 'copy-of-file-3.txt'), 'content of file 3\n');
    const origin = await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [path.join(dir, 'trees')] });
    sites.push(origin);
    const hub = await startSite({ dataDir: path.join(dir, 'hub') });
    sites.push(hub);
    const specs = path.join(dir, 'specs');
    await mkdir(specs);
    await writeFile(path.join(specs, 'all.yaml'), [
      'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', `spec: {pulp: {url: "${origin.url}"}}`, '---',
      'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: hub}', `spec: {pulp: {url: "${hub.url}"}, upstream: origin}`, '---',
      'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: small}', `spec: {source: {path: "${tree}"}, origin: origin, sites: [origin, hub]}`, '',
    ].join('\n'));
    const env = { XDG_CACHE_HOME: path.join(dir, 'cache') };

    const plan = await runCli(['plan', '--specs', specs, '--json', '--no-cache'], { env });
    assert.is(plan.code, 2, plan.stderr);
    const doc = JSON.parse(plan.stdout) as { summary: { files: number; bytes: number }; entries: { site: string; action: string; estimate?: { files: number; bytes: number } }[] };
    const estimate = new Map(doc.entries.filter((e) => e.action === 'sync').map((e) => [e.site, e.estimate!]));
    assert.equal([...estimate.keys()].sort(), ['hub', 'origin']);
    assert.is(estimate.get('origin')!.files, 40, '41 files, one a duplicate: 40 blobs move');

    const apply = await runCli(['apply', '--specs', specs], { env, timeoutMs: 120_000 });
    assert.is(apply.code, 0, apply.stdout + apply.stderr);
    for (const [name, site] of [['origin', origin], ['hub', hub]] as const) {
      const tasks = (await (await fetch(`${site.url}/pulp/api/v3/tasks/?limit=100`)).json()) as { results: { progress_reports: { code: string; done: number }[] }[] };
      const syncs = tasks.results.filter((t) => t.progress_reports.some((p) => p.code === 'sync.downloading.artifacts'));
      assert.is(syncs.length, 1, name);
      const report = (code: string) => syncs[0]!.progress_reports.find((p) => p.code === code)!.done;
      assert.is(report('sync.downloading.artifacts'), estimate.get(name)!.files, `${name}: files`);
      assert.is(report('pulpdist.downloading.bytes'), estimate.get(name)!.bytes, `${name}: bytes`);
    }
    // The summary line apply prints adds up the same bytes as plan's.
    const total = estimate.get('origin')!.bytes + estimate.get('hub')!.bytes;
    assert.is(doc.summary.bytes, total);
  } finally {
    for (const s of sites) await s.stop();
    await cleanup();
  }
});

test.run();
