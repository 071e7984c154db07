/**
 * sources/view.ts: the view of a read-only tree in the state directory — its PULP_MANIFEST and one
 * symlink per top-level entry — kept in step with each scan, on a real directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalManifest } from '../../manifest/digest.js';
import type { ManifestEntry } from '../../manifest/types.js';
import { topLevelNames, updateView } from '../../sources/view.js';
import { tempDir } from '../../testkit/cli.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-view-'));
});
test.after(async () => cleanup());

const E = (relativePath: string): ManifestEntry => ({ relativePath, sha256: 'a'.repeat(64), size: 1 });

/** name → link target, or "file". */
function list(view: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of fs.readdirSync(view).sort()) out[n] = fs.lstatSync(path.join(view, n)).isSymbolicLink() ? fs.readlinkSync(path.join(view, n)) : 'file';
  return out;
}

test('topLevelNames: the first segment of every path, once, sorted', () => {
  assert.equal(topLevelNames([E('z.txt'), E('b/c/d'), E('b/e'), E('a')]), ['a', 'b', 'z.txt']);
  assert.equal(topLevelNames([]), []);
});

test('a view is made, left alone when nothing changed, and follows the tree top level and root', async () => {
  const view = path.join(dir, 'state', 'sources', 'm');
  const entries = [E('a.txt'), E('sub/b'), E('sub/c/d')];
  // The systemd unit's umask: it would make the view unreadable to the origin's Pulp.
  const umask = process.umask(0o077);
  try {
    assert.equal(await updateView(view, '/srv/compose-1', entries), { linked: ['a.txt', 'sub'], unlinked: [], manifestWritten: true });
  } finally {
    process.umask(umask);
  }
  assert.equal(list(view), { PULP_MANIFEST: 'file', 'a.txt': '/srv/compose-1/a.txt', sub: '/srv/compose-1/sub' });
  assert.is(fs.readFileSync(path.join(view, 'PULP_MANIFEST'), 'utf8'), canonicalManifest(entries));
  // Readable by the origin's Pulp, another user, whatever the umask.
  assert.is(fs.statSync(view).mode & 0o777, 0o755);
  assert.is(fs.statSync(path.dirname(view)).mode & 0o777, 0o755);
  assert.is(fs.statSync(path.join(view, 'PULP_MANIFEST')).mode & 0o777, 0o644);

  assert.equal(await updateView(view, '/srv/compose-1', entries), { linked: [], unlinked: [], manifestWritten: false });

  // The tree's path now resolves elsewhere and lost a.txt, gained new/.
  const next = [E('new/x'), E('sub/b')];
  assert.equal(await updateView(view, '/srv/compose-2', next), { linked: ['new', 'sub'], unlinked: ['a.txt'], manifestWritten: true });
  assert.equal(list(view), { PULP_MANIFEST: 'file', new: '/srv/compose-2/new', sub: '/srv/compose-2/sub' });
  assert.is(fs.readFileSync(path.join(view, 'PULP_MANIFEST'), 'utf8'), canonicalManifest(next));
});

test('a file pulpdist did not make: left alone when the tree does not need its name, an error naming it when it does', async () => {
  const view = path.join(dir, 'state', 'sources', 'n');
  fs.mkdirSync(view, { recursive: true });
  fs.writeFileSync(path.join(view, 'NOTES'), 'an operator left this\n');
  await updateView(view, '/srv/t', [E('a')]);
  assert.equal(list(view), { NOTES: 'file', PULP_MANIFEST: 'file', a: '/srv/t/a' });
  try {
    await updateView(view, '/srv/t', [E('NOTES/x')]);
    assert.unreachable('a file in the way must stop the update');
  } catch (err) {
    assert.instance(err, Error);
    assert.match((err as Error).message, /\/n\/NOTES is not a symlink pulpdist made; move it away so that the view can link the tree's "NOTES"/);
  }
  assert.is(fs.readFileSync(path.join(view, 'NOTES'), 'utf8'), 'an operator left this\n');
});

test.run();
