/**
 * Watched trees (sources/tree-watch.ts through sources/reader.ts `watchTrees`): a tree nothing
 * touched since its last scan is not scanned again, and every kind of change is, on real
 * directories and real inotify. A reused tree is the very object the last read returned; a scan
 * makes a new one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256 } from '../manifest/fixture.js';
import { createSourceReader } from '../../sources/reader.js';
import { MAX_DIRS, MAX_TRUST_MS, TreeWatch } from '../../sources/tree-watch.js';
import type { TreeSummary } from '../../reconcilers/plan-types.js';
import type { MirrorSource } from '../../spec/types.js';
import { tempDir } from '../../testkit/cli.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-tree-watch-'));
});
test.after(async () => cleanup());

const signal = AbortSignal.timeout(60_000);

function write(root: string, files: Record<string, string>): void {
  for (const [rel, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), body);
  }
}

const digestOf = (t: TreeSummary) => t.entries?.map((e) => `${e.relativePath}=${e.sha256}`).join(' ');

test('unchanged: the same tree without a scan, even after every file was read; each kind of change: a new scan', async () => {
  const root = path.join(dir, 'tree');
  write(root, { 'a.txt': 'a', 'sub/b.txt': 'b', 'sub/deep/c.txt': 'c' });
  const reader = createSourceReader({ cacheDir: path.join(dir, 'cache'), watchTrees: true });
  const source: MirrorSource = { kind: 'path', path: root };
  try {
    const first = await reader.read(source, { signal });
    assert.is(await reader.read(source, { signal }), first, 'nothing touched: the same tree');
    // Reading every file (the scan did too) is not a change, whatever it does to atimes.
    for (const f of ['a.txt', 'sub/b.txt', 'sub/deep/c.txt']) fs.readFileSync(path.join(root, f));
    // The reader's own PULP_MANIFEST at the root (temp file and rename) is not a change either.
    await reader.prepare(source, first, { signal, mirror: 'm' });
    assert.ok(fs.existsSync(path.join(root, 'PULP_MANIFEST')));
    assert.is(await reader.read(source, { signal }), first, 'after reads and the manifest write');

    // Each change below is read back at once: its event must be seen without waiting.
    const changes: Array<[string, () => void]> = [
      ['a file appended to', () => fs.appendFileSync(path.join(root, 'sub/deep/c.txt'), '+')],
      ['a file rewritten with the same size', () => fs.writeFileSync(path.join(root, 'a.txt'), 'A')],
      ['a mode changed', () => fs.chmodSync(path.join(root, 'sub/b.txt'), 0o600)],
      ['a file added', () => fs.writeFileSync(path.join(root, 'sub/new.txt'), 'new')],
      ['a directory added', () => write(root, { 'other/x.txt': 'x' })],
      ['a file in that new directory', () => fs.writeFileSync(path.join(root, 'other/x.txt'), 'x2')],
      ['a file renamed', () => fs.renameSync(path.join(root, 'sub/new.txt'), path.join(root, 'sub/renamed.txt'))],
      ['a file removed', () => fs.rmSync(path.join(root, 'sub/renamed.txt'))],
      ['a directory removed', () => fs.rmSync(path.join(root, 'other'), { recursive: true })],
    ];
    let last = first;
    for (const [what, change] of changes) {
      change();
      const next = await reader.read(source, { signal });
      assert.is.not(next, last, `${what}: scanned again`);
      assert.is(await reader.read(source, { signal }), next, `${what}: then unchanged again`);
      last = next;
    }
    assert.is(digestOf(last), `a.txt=${sha256('A')} sub/b.txt=${sha256('b')} sub/deep/c.txt=${sha256('c+')}`);
  } finally {
    reader.close?.();
  }
});

test('a root symlink retargeted, or other source options: a new scan', async () => {
  const v1 = path.join(dir, 'v1');
  const v2 = path.join(dir, 'v2');
  write(v1, { 'f.txt': 'one', 'skip.part': 'x' });
  write(v2, { 'f.txt': 'two' });
  const link = path.join(dir, 'current');
  fs.symlinkSync('v1', link);
  const reader = createSourceReader({ cacheDir: path.join(dir, 'cache2'), watchTrees: true });
  try {
    const first = await reader.read({ kind: 'path', path: link }, { signal });
    assert.is(first.files, 2);
    const excluding = await reader.read({ kind: 'path', path: link, exclude: ['*.part'] }, { signal });
    assert.is.not(excluding, first);
    assert.is(excluding.files, 1);
    assert.is(await reader.read({ kind: 'path', path: link, exclude: ['*.part'] }, { signal }), excluding);
    fs.rmSync(link);
    fs.symlinkSync('v2', link);
    const second = await reader.read({ kind: 'path', path: link, exclude: ['*.part'] }, { signal });
    assert.is(digestOf(second), `f.txt=${sha256('two')}`);
  } finally {
    reader.close?.();
  }
});

test('a reader without watchTrees scans every time; a watch is not believed past MAX_TRUST_MS; too many directories: no watch', async () => {
  const root = path.join(dir, 'plain');
  write(root, { 'f.txt': 'f' });
  const reader = createSourceReader({ cacheDir: path.join(dir, 'cache3') });
  const a = await reader.read({ kind: 'path', path: root }, { signal });
  assert.is.not(await reader.read({ kind: 'path', path: root }, { signal }), a);

  const watch = TreeWatch.arm(fs.realpathSync(root));
  assert.ok(watch, 'a local tree is watched');
  try {
    assert.ok(await watch.unchanged());
    assert.not.ok(await watch.unchanged(Date.now() + MAX_TRUST_MS));
  } finally {
    watch.close();
  }

  // The first test's tree: its root, sub/ and sub/deep/.
  assert.is(TreeWatch.arm(fs.realpathSync(path.join(dir, 'tree')), 2), null, 'more directories than allowed');
  const narrow = TreeWatch.arm(fs.realpathSync(path.join(dir, 'tree')), 3);
  assert.is(narrow?.dirs, 3);
  narrow?.close();

  const wide = path.join(dir, 'wide');
  for (let i = 0; i <= MAX_DIRS; i++) fs.mkdirSync(path.join(wide, `d${i}`), { recursive: true });
  assert.is(TreeWatch.arm(wide), null);
});

test.run();
