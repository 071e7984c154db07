/**
 * A read-only source (issue 16, `source.readOnly: true`): plan and apply, run by a user who cannot
 * write the tree, write nothing into it. The manifest and a symlink per top-level entry live in
 * --state-dir's sources/MIRROR/, the only path the origin site allows imports from (the tree
 * itself is outside every allowed import path, as pulp_file reads files through the view's links);
 * origin → leaf serve the tree byte for byte, follow its changes, and an old TREE/PULP_MANIFEST
 * left by an earlier version is neither used nor touched. A mirror switched to readOnly shows its
 * origin remote's new url in the plan.
 *
 * As root (CI containers), the "user who cannot write" is root without the capabilities that
 * override file permissions (setpriv), and the tree is chmod a-w; the snapshot of every path and
 * mtime in the tree is compared before and after each command either way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../../testkit/cli.js';
import { runUnprivileged, treeSnapshot as snapshot } from '../../testkit/unprivileged.js';
import { siteYaml, startSite, type RunningSite } from '../../testkit/site.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let tree = '';
let rwTree = '';
let stateDir = '';
let specsDir = '';
let home = '';
const sites = new Map<string, RunningSite>();
const unprivileged = (args: string[]) => runUnprivileged(args, { XDG_CACHE_HOME: path.join(home, 'cache'), HOME: home });
const B = Buffer.alloc(70_000, 7);

/** chmod the tree's directories and files writable or not (files 0644/0444, directories 0755/0555). */
function setWritable(writable: boolean): void {
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) fs.chmodSync(p, writable ? 0o644 : 0o444);
    }
    fs.chmodSync(d, writable ? 0o755 : 0o555);
  };
  walk(tree);
}

/** While the tree is writable (as its owner would), change it. */
function asOwner(fn: () => void): void {
  setWritable(true);
  try {
    fn();
  } finally {
    setWritable(false);
  }
}

async function get(site: string, p: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${sites.get(site)!.url}/pulp/content/${p}`);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

function mirrorYaml(name: string, treePath: string, readOnly: boolean): string {
  return ['apiVersion: pulpdist/v1', 'kind: Mirror', `metadata: {name: ${name}}`, 'spec:', `  source: {path: "${treePath}"${readOnly ? ', readOnly: true' : ''}}`, '  origin: origin', '  sites: [origin, leaf]', ''].join('\n');
}

/** The view directory's entries: name → link target (or "file"). */
function viewOf(mirror: string): Record<string, string> {
  const v = path.join(stateDir, 'sources', mirror);
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(v).sort()) {
    const st = fs.lstatSync(path.join(v, name));
    out[name] = st.isSymbolicLink() ? fs.readlinkSync(path.join(v, name)) : 'file';
  }
  return out;
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-read-only-source-'));
  fs.chmodSync(dir, 0o755); // the unprivileged user must reach the tree, the specs and the state dir
  tree = path.join(dir, 'trees-ro', 'ro');
  fs.mkdirSync(path.join(tree, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(tree, 'sub', 'b.bin'), B);
  fs.symlinkSync('sub', path.join(tree, 'latest'));
  // What an earlier pulpdist left at the root: stale, it must be neither published nor touched.
  fs.writeFileSync(path.join(tree, 'PULP_MANIFEST'), `gone.txt,${'0'.repeat(64)},3\n`);
  setWritable(false);
  rwTree = path.join(dir, 'trees-rw', 'rw');
  fs.mkdirSync(rwTree, { recursive: true });
  fs.writeFileSync(path.join(rwTree, 'r.txt'), 'rw\n');
  home = path.join(dir, 'home');
  fs.mkdirSync(home);
  stateDir = path.join(home, 'state');
  // The origin allows imports from the views only (and the writable mirror's tree), never the read-only tree.
  sites.set('origin', await startSite({ dataDir: path.join(dir, 'site-origin'), allowedImportPaths: [path.join(stateDir, 'sources'), path.join(dir, 'trees-rw')] }));
  sites.set('leaf', await startSite({ dataDir: path.join(dir, 'site-leaf') }));
  specsDir = path.join(dir, 'specs');
  fs.mkdirSync(specsDir);
  const site = (n: string, upstream?: string) => siteYaml(n, sites.get(n)!.url, upstream ? { upstream } : {});
  fs.writeFileSync(path.join(specsDir, 'sites.yaml'), `${site('origin')}\n---\n${site('leaf', 'origin')}\n`);
  fs.writeFileSync(path.join(specsDir, 'ro.yaml'), mirrorYaml('ro', tree, true));
  fs.writeFileSync(path.join(specsDir, 'rw.yaml'), mirrorYaml('rw', rwTree, false));
});

test.after(async () => {
  await Promise.all([...sites.values()].map((s) => s.stop()));
  setWritable(true);
  await cleanup();
});

test('the tree cannot be written by the user running plan and apply', async () => {
  const probe = await unprivileged(['manifest', tree, '-o', path.join(tree, 'probe'), '--no-cache']);
  assert.is(probe.code, 1, probe.stderr);
  assert.match(probe.stderr, /cannot write the manifest .*probe \(EACCES\)/);
});

test('plan names the view as the origin remote url; apply publishes the tree origin → leaf, writing nothing into it', async () => {
  const before = snapshot(tree);
  const p = await unprivileged(['plan', '--specs', specsDir, '--state-dir', stateDir, '--format', 'json']);
  assert.is(p.code, 2, p.stdout + p.stderr);
  const doc = JSON.parse(p.stdout) as { entries: { site: string; kind: string; name: string; action: string; desired?: { url?: string } }[] };
  const remote = JSON.stringify(doc.entries.filter((e) => e.site === 'origin' && e.kind === 'remote' && e.name === 'pulpdist.ro'));
  assert.ok(remote.includes(`file://${stateDir}/sources/ro/PULP_MANIFEST`), remote);
  assert.equal(snapshot(tree), before);

  const a = await unprivileged(['apply', '--specs', specsDir, '--state-dir', stateDir]);
  assert.is(a.code, 0, a.stdout + a.stderr);
  assert.match(a.stdout, /Converged/);
  assert.equal(snapshot(tree), before);
  const real = fs.realpathSync(tree);
  assert.equal(viewOf('ro'), { PULP_MANIFEST: 'file', 'a.txt': `${real}/a.txt`, latest: `${real}/latest`, sub: `${real}/sub` });
  for (const s of ['origin', 'leaf']) {
    assert.equal(await get(s, 'ro/a.txt'), { status: 200, body: Buffer.from('alpha\n') });
    assert.equal(await get(s, 'ro/sub/b.bin'), { status: 200, body: B });
    assert.equal(await get(s, 'ro/latest/b.bin'), { status: 200, body: B });
    assert.is((await get(s, 'ro/gone.txt')).status, 404);
  }
  // The published manifest is the view's, not the stale one in the tree.
  assert.is((await get('leaf', 'ro/PULP_MANIFEST')).body.toString().includes('gone.txt'), false);
  const again = await unprivileged(['plan', '--specs', specsDir, '--state-dir', stateDir]);
  assert.is(again.code, 0, again.stdout + again.stderr);
});

test("the tree's owner changes it: apply follows, the view's links follow its top level, the tree stays untouched", async () => {
  asOwner(() => {
    fs.rmSync(path.join(tree, 'a.txt'));
    fs.mkdirSync(path.join(tree, 'new'));
    fs.writeFileSync(path.join(tree, 'new', 'c.txt'), 'new\n');
  });
  const before = snapshot(tree);
  const a = await unprivileged(['apply', '--specs', specsDir, '--state-dir', stateDir]);
  assert.is(a.code, 0, a.stdout + a.stderr);
  assert.equal(snapshot(tree), before);
  const real = fs.realpathSync(tree);
  assert.equal(viewOf('ro'), { PULP_MANIFEST: 'file', latest: `${real}/latest`, new: `${real}/new`, sub: `${real}/sub` });
  assert.equal(await get('leaf', 'ro/new/c.txt'), { status: 200, body: Buffer.from('new\n') });
  assert.is((await get('leaf', 'ro/a.txt')).status, 404);
  assert.equal(await get('leaf', 'ro/latest/b.bin'), { status: 200, body: B });
});

test('a mirror switched to readOnly: plan shows the origin remote url moving to the view; apply writes no new manifest into the tree', async () => {
  const rwManifest = path.join(rwTree, 'PULP_MANIFEST');
  assert.ok(fs.existsSync(rwManifest), 'the writable mirror had its manifest written into its tree');
  const old = fs.statSync(rwManifest).mtimeMs;
  fs.writeFileSync(path.join(specsDir, 'rw.yaml'), mirrorYaml('rw', rwTree, true));
  const p = await unprivileged(['plan', '--specs', specsDir, '--state-dir', stateDir]);
  assert.is(p.code, 2, p.stdout + p.stderr);
  // `~ remote pulpdist.rw: url differs`, then the field's old → new value on the next line.
  const lines = p.stdout.split('\n');
  const at = lines.findIndex((l) => /~ remote pulpdist\.rw: url differs/.test(l));
  assert.ok(at >= 0, p.stdout);
  assert.is(lines[at + 1]?.trim(), `url: "file://${rwTree}/PULP_MANIFEST" → "file://${stateDir}/sources/rw/PULP_MANIFEST"`);
  fs.writeFileSync(path.join(rwTree, 's.txt'), 'second\n');
  const a = await unprivileged(['apply', '--specs', specsDir, '--state-dir', stateDir]);
  assert.is(a.code, 0, a.stdout + a.stderr);
  assert.equal(await get('leaf', 'rw/s.txt'), { status: 200, body: Buffer.from('second\n') });
  // The old manifest an earlier apply wrote is left as it was (pulpdist cleans nothing in a tree).
  assert.is(fs.statSync(rwManifest).mtimeMs, old);
  assert.is(fs.readFileSync(rwManifest, 'utf8').includes('s.txt'), false);
});

test('a state dir where the view cannot be made: apply fails that mirror with the reason, and the leaf keeps serving its tree', async () => {
  const bad = path.join(dir, 'not-a-dir');
  fs.writeFileSync(bad, 'x');
  const a = await unprivileged(['apply', '--specs', specsDir, '--state-dir', path.join(bad, 'state')]);
  assert.is(a.code, 1, a.stdout + a.stderr);
  assert.match(a.stdout + a.stderr, /cannot write the source view of [^\n]*ro[^\n]*ENOTDIR/);
  assert.not.match(a.stdout + a.stderr, /\n\s+at /); // no stack trace
  assert.equal(await get('leaf', 'ro/new/c.txt'), { status: 200, body: Buffer.from('new\n') });
});

test.run();
