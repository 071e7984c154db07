import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { PROBE_BYTES } from '../../site/append.js';
import { warmPageCache } from '../../bench/page-cache.js';
import { startPulpdistSide } from '../../bench/rsync-side-pulpdist.js';
import { QUICK_SCENARIO, planTree, planUpdate, type ScenarioConfig } from '../../bench/scenario.js';
import { applyUpdate, plannedTreeDigest, writeTree } from '../../bench/scenario-files.js';
import { tempDir } from '../../testkit/cli.js';

const KiB = 1024;
const signal = AbortSignal.timeout(120_000);
// Packages big enough that resending the moved ones would show above the manifests' bytes.
const TINY: ScenarioConfig = { ...QUICK_SCENARIO, seed: 11, packages: 150, packageMinBytes: 64 * KiB, packageMaxBytes: 128 * KiB, imageBytes: 256 * KiB, metadataBytes: 32 * KiB, logBytes: 256 * KiB, logAppendBytes: 4 * KiB };

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/pulpdist/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  assert.ok(line, `${name} in ${url}/pulpdist/metrics`);
  return Number(line!.split(' ')[1]);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('pulpdist side: origin import, a leaf pulls the tree and then only the changed files; served bytes counted', async () => {
  const d = await tempDir('pulpdist-bench-pd-');
  const lines: string[] = [];
  const tree = planTree(TINY);
  const update = planUpdate(tree, TINY);
  const treeDir = path.join(d.dir, 'tree');
  await writeTree(treeDir, tree, { signal });
  const side = await startPulpdistSide({ tree: treeDir, workDir: path.join(d.dir, 'pd'), signal, log: (l) => lines.push(l), leaves: 1 });
  const pids = side.sites.map((s) => s.pid);
  try {
    assert.equal(side.sites.map((s) => s.name), ['origin', 'leaf1']);
    const total = tree.files.reduce((s, f) => s + f.size, 0);
    const imported = await side.publish('initial', { signal });
    assert.equal([imported.files, imported.bytes], [tree.files.length, total]);
    assert.ok(imported.upstream_cpu_s > 0);

    const manifestBytes = (t: typeof tree) => plannedTreeDigest(t).lines.reduce((s, l) => s + l.length + 1, 0);
    // What bench:rsync warms before each run is what the origin serves: a blob per file, and its manifests.
    const warmed = await warmPageCache(side.served, { signal });
    assert.ok(warmed.files >= tree.files.length && warmed.bytes >= total && warmed.bytes - total <= 3 * manifestBytes(tree), `warmed ${warmed.files} files, ${warmed.bytes} bytes; tree ${tree.files.length}, ${total}`);
    const first = await side.run('initial', 1, { signal });
    assert.equal([first.tool, first.phase, first.clients], ['pulpdist', 'initial', 1]);
    // Every file once, plus a few reads of the PULP_MANIFEST (the leaf's sync, the controller's observe).
    assert.ok(first.wire_bytes >= total && first.wire_bytes <= total + 3 * manifestBytes(tree), `initial wire ${first.wire_bytes}, tree ${total}`);
    assert.ok(first.wall_s > 0 && first.upstream_cpu_s > 0 && first.upstream_minor_faults > 0, JSON.stringify(first));
    // The leaf's CPU and the controller's pass; the controller's is counted in microseconds, so never 0.
    assert.ok(first.downstream_cpu_s > 0 && first.downstream_cpu_s < first.wall_s * 8, JSON.stringify(first));
    assert.ok(Math.abs(first.upstream_user_s + first.upstream_system_s - first.upstream_cpu_s) < 1e-9 && first.upstream_user_s >= 0 && first.upstream_system_s >= 0, JSON.stringify(first));
    await side.verify(1, tree, { signal });
    const leaf = side.sites[1]!;
    const filesBefore = await metric(leaf.url, 'pulpdist_site_sync_files_downloaded_total');

    await applyUpdate(treeDir, tree.seed, update, { signal });
    const stale = await side.verify(1, update.after, { signal }).then(() => null, (e: { code?: string }) => e.code);
    assert.is(stale, 'BenchVerifyError', 'verification sees a leaf that has not synced the update');
    await side.publish('update', { signal });
    const second = await side.run('update', 1, { signal });
    await side.verify(1, update.after, { signal });
    // New files and rewritten metadata move whole (a grown one after a failed 4 KiB append probe),
    // appended logs move a probe and their tail; moved files do not move at all.
    const changed = [...update.added, ...update.rewritten.map((r) => r.after), ...update.appended.map((a) => a.after)];
    const probe = (before: { size: number }) => Math.min(PROBE_BYTES, before.size);
    const changedBytes =
      update.added.reduce((s, f) => s + f.size, 0) +
      update.rewritten.reduce((s, r) => s + r.after.size + (r.after.size > r.before.size ? probe(r.before) : 0), 0) +
      update.appended.reduce((s, a) => s + probe(a.before) + a.after.size - a.before.size, 0);
    const movedBytes = update.moved.reduce((s, m) => s + m.to.size, 0);
    assert.ok(movedBytes > 3 * manifestBytes(update.after), 'the test can tell a resent move from manifest reads');
    assert.ok(second.wire_bytes >= changedBytes && second.wire_bytes <= changedBytes + 3 * manifestBytes(update.after), `update wire ${second.wire_bytes}, changed ${changedBytes}, moved ${movedBytes}`);
    assert.is((await metric(leaf.url, 'pulpdist_site_sync_files_downloaded_total')) - filesBefore, changed.length);
    assert.ok(lines.some((l) => /pass over origin, leaf1: .* syncs: leaf1 .*; CPU s: controller [\d.]+, leaves [\d.]+; page faults: leaves [1-9]\d*$/.test(l)), lines.join('\n'));

    const missing = await side.run('update', 4, { signal }).then(() => null, (e: { code?: string; message: string }) => e.message);
    assert.match(missing ?? '', /need site leaf2/);
  } finally {
    await side.stop();
    await d.cleanup();
  }
  assert.equal(pids.filter(alive), [], 'every site process is gone');
});

test.run();
