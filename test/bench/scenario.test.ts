import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_SCENARIO, QUICK_SCENARIO, planTree, planUpdate, treeTotals, type ScenarioConfig } from '../../bench/scenario.js';
import { applyUpdate, diskTreeDigest, plannedTreeDigest, sha256File, writeTree } from '../../bench/scenario-files.js';
import { tempDir } from '../../testkit/cli.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const signal = new AbortController().signal;

/** Small enough to write in well under a second, with every kind of file. */
const TINY: ScenarioConfig = {
  ...QUICK_SCENARIO,
  seed: 7,
  packages: 200,
  packageMaxBytes: 64 * KiB,
  imageBytes: 256 * KiB,
  metadataBytes: 32 * KiB,
  logBytes: 128 * KiB,
  logAppendBytes: 8 * KiB,
};

async function prefixSha256(file: string, bytes: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex');
  } finally {
    await fh.close();
  }
}

test('the default scale is the issue’s: ≥ 10,000 files, ≥ 2 GiB, package sizes 10 KiB–2 MiB', () => {
  const tree = planTree(DEFAULT_SCENARIO);
  const t = treeTotals(tree);
  assert.ok(t.files >= 10_000, `files ${t.files}`);
  assert.ok(t.bytes >= 2 * 1024 ** 3, `bytes ${t.bytes}`);
  const sizes = tree.files.filter((f) => f.kind === 'package').map((f) => f.size);
  assert.ok(Math.min(...sizes) >= 10 * KiB, `min ${Math.min(...sizes)}`);
  assert.ok(Math.max(...sizes) <= 2 * MiB, `max ${Math.max(...sizes)}`);
  // "Many" packages: most of the files, but a few large images hold a good share of the bytes.
  assert.ok(t.byKind.package.files / t.files > 0.99);
  assert.ok(t.byKind.image.files >= 1 && t.byKind.image.files <= 5);
  assert.ok(t.byKind.image.bytes / t.byKind.image.files > 50 * MiB);
  assert.is(t.byKind.metadata.files, 8);
  assert.is(t.byKind.log.files, 3);
  assert.is(new Set(tree.files.map((f) => f.path)).size, t.files, 'paths are unique');
});

test('planning is deterministic, and the seed changes the tree', () => {
  assert.equal(planTree(TINY), planTree(TINY));
  assert.equal(planUpdate(planTree(TINY), TINY), planUpdate(planTree(TINY), TINY));
  const other = planTree({ ...TINY, seed: 8 });
  assert.not.equal(other.files.map((f) => f.path), planTree(TINY).files.map((f) => f.path));
});

test('same seed → same tree digest on disk; another seed → another digest; files are all distinct', async () => {
  const a = await tempDir('pulpdist-scenario-');
  try {
    const tree = planTree(TINY);
    await writeTree(path.join(a.dir, 'one'), tree, { signal });
    await writeTree(path.join(a.dir, 'two'), tree, { signal });
    await writeTree(path.join(a.dir, 'three'), planTree({ ...TINY, seed: 8 }), { signal });
    const one = await diskTreeDigest(path.join(a.dir, 'one'), { signal });
    const two = await diskTreeDigest(path.join(a.dir, 'two'), { signal });
    const three = await diskTreeDigest(path.join(a.dir, 'three'), { signal });
    assert.is(one.digest, two.digest);
    assert.is(one.digest, plannedTreeDigest(tree).digest);
    assert.is.not(one.digest, three.digest);
    assert.is(one.lines.length, tree.files.length);
    const hashes = one.lines.map((l) => l.split(',')[1]);
    assert.is(new Set(hashes).size, hashes.length, 'no two files share their bytes');
    // Incompressible bytes: a file does not shrink under gzip (no free win for either tool).
    const { gzipSync } = await import('node:zlib');
    const { readFile } = await import('node:fs/promises');
    const img = tree.files.find((f) => f.kind === 'image')!;
    const bytes = await readFile(path.join(a.dir, 'one', img.path));
    assert.ok(gzipSync(bytes).length > bytes.length * 0.99);
  } finally {
    await a.cleanup();
  }
});

test('the update has the promised mix, and applying it on disk gives the planned tree', async () => {
  const tree = planTree(TINY);
  const u = planUpdate(tree, TINY);
  const n = tree.files.length;
  assert.is(u.added.length, Math.round(n * 0.02));
  assert.is(u.deleted.length, Math.round(n * 0.01));
  assert.is(u.moved.length, Math.round(n * 0.01));
  assert.ok(u.added.length >= 4 && u.deleted.length >= 2 && u.moved.length >= 2);
  assert.is(u.rewritten.length, tree.files.filter((f) => f.kind === 'metadata').length);
  assert.is(u.appended.length, tree.files.filter((f) => f.kind === 'log').length);
  assert.is(u.after.files.length, n + u.added.length - u.deleted.length);
  const renamedInPlace = u.moved.filter((m) => path.posix.dirname(m.from.path) === path.posix.dirname(m.to.path));
  assert.ok(renamedInPlace.length >= 1 && renamedInPlace.length < u.moved.length, 'both renames and moves to another directory');
  const touched = [...u.deleted, ...u.moved.map((m) => m.from)].map((f) => f.path);
  assert.is(new Set(touched).size, touched.length, 'no file is both deleted and moved');

  const d = await tempDir('pulpdist-scenario-');
  try {
    const root = path.join(d.dir, 'tree');
    await writeTree(root, tree, { signal });
    const before = new Map((await diskTreeDigest(root, { signal })).lines.map((l) => [l.split(',')[0]!, l.split(',')[1]!]));
    await applyUpdate(root, tree.seed, u, { signal });
    const after = await diskTreeDigest(root, { signal });
    assert.is(after.digest, plannedTreeDigest(u.after).digest);
    const now = new Map(after.lines.map((l) => [l.split(',')[0]!, l.split(',')[1]!]));
    for (const f of u.deleted) assert.not.ok(now.has(f.path), `deleted ${f.path}`);
    for (const m of u.moved) {
      assert.not.ok(now.has(m.from.path), `moved away ${m.from.path}`);
      assert.is(now.get(m.to.path), before.get(m.from.path), `same bytes at ${m.to.path}`);
    }
    for (const f of u.added) assert.ok(now.has(f.path) && !before.has(f.path), `added ${f.path}`);
    for (const r of u.rewritten) assert.is.not(now.get(r.after.path), before.get(r.before.path), `rewritten ${r.after.path}`);
    for (const a of u.appended) {
      const file = path.join(root, ...a.after.path.split('/'));
      assert.is((await stat(file)).size, a.before.size + TINY.logAppendBytes);
      assert.is(await prefixSha256(file, a.before.size), before.get(a.before.path), `log ${a.after.path} only grew`);
      assert.is.not(await sha256File(file, signal), before.get(a.before.path));
    }
  } finally {
    await d.cleanup();
  }
});

test.run();
