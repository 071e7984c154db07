/**
 * Names a real Pulp 3.24 cannot carry (`?`, `#`, `%`, control characters: recorded in
 * reference/real-pulp-3.24/extra4 §5): a scanned tree leaves them out and the rest goes origin →
 * hub → leaf byte for byte; a manifest that lists one fails the embedded sync naming its line, as
 * the real sync fails.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { canonicalManifest } from '../../manifest/digest.js';
import { ManifestParseError, parseManifest } from '../../manifest/parse.js';
import { formatSummary, unrepresentableWhy } from '../../manifest/report.js';
import { scanTree, writeManifest } from '../../manifest/scan.js';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, runTask, startSite, type RunningSite } from '../../testkit/site.js';
import { sha256, writeTree, type TreeFile } from '../../testkit/tree.js';

const D = 'a'.repeat(64);

/** Files Pulp carries, among them the characters that look risky but are not. */
const GOOD: TreeFile[] = [
  { path: 'plain.txt', bytes: Buffer.from('plain') },
  { path: 'with space.txt', bytes: Buffer.from('space') },
  { path: 'semi;colon.txt', bytes: Buffer.from('semicolon') },
  { path: 'plus+amp&eq=.txt', bytes: Buffer.from('sub-delims') },
  { path: 'ünï/文件.txt', bytes: Buffer.from('unicode') },
  { path: 'sub/ok.bin', bytes: Buffer.from('ok') },
];
/** One per class: query, fragment (nested and top-level), percent, control characters, backslash, a directory. */
const BAD: TreeFile[] = [
  { path: 'q?.txt', bytes: Buffer.from('query') },
  { path: 'sub/x#y.txt', bytes: Buffer.from('fragment') },
  { path: '#top.txt', bytes: Buffer.from('comment') },
  { path: 'percent%20.txt', bytes: Buffer.from('percent') },
  { path: 'ctl\x01.txt', bytes: Buffer.from('control') },
  { path: 'del\x7f.txt', bytes: Buffer.from('delete') },
  { path: 'back\\slash', bytes: Buffer.from('backslash') },
  { path: 'pct%dir/inside.txt', bytes: Buffer.from('below a bad directory') },
];

let tmp: string;
let tree: TreeServer;
const sites: Record<string, RunningSite> = {};

async function setUp(site: RunningSite, url: string) {
  const repo = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'names', autopublish: true });
  assert.is(repo.status, 201, repo.text);
  const remote = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'names', url });
  assert.is(remote.status, 201, remote.text);
  const task = await runTask(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'names', base_path: 'names', repository: repo.body.pulp_href });
  assert.is(task.state, 'completed');
  return { repo: repo.body.pulp_href as string, remote: remote.body.pulp_href as string, dist: task.created_resources[0] as string };
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-names-'));
  await writeTree(path.join(tmp, 'tree'), [...GOOD, ...BAD], '');
  tree = await serveTree(path.join(tmp, 'tree'));
  for (const n of ['origin', 'hub', 'leaf']) sites[n] = await startSite();
});

test.after(async () => {
  for (const s of Object.values(sites)) await s.stop();
  await tree?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('the parser refuses each name Pulp cannot carry, naming the line', () => {
  const cases: [string, RegExp][] = [
    ['q?.txt', /"\?": .*URL query/],
    ['sub/x#y.txt', /"#": .*URL fragment/],
    ['percent%20.txt', /"%": .*percent-escape/],
    ['ctl\x01.txt', /control character U\+0001/],
    ['c1\x9b.txt', /control character U\+009B/],
  ];
  for (const [name, why] of cases) {
    try {
      parseManifest(`# header\nplain.txt,${D},1\n${name},${D},1\n`);
      assert.unreachable(name);
    } catch (err) {
      assert.instance(err, ManifestParseError);
      assert.is((err as ManifestParseError).line, 3, name);
      assert.match((err as Error).message, /^manifest line 3: relative path /);
      assert.match((err as Error).message, why);
    }
  }
  // What is safe stays accepted.
  assert.equal(parseManifest(GOOD.map((f) => `${f.path},${D},1`).join('\n')).map((e) => e.relativePath), GOOD.map((f) => f.path));
});

test('a scan leaves every such name out, named once, counted', async () => {
  const { entries, stats } = await scanTree(path.join(tmp, 'tree'), { cacheFile: false });
  assert.equal(entries.map((e) => e.relativePath).sort(), GOOD.map((f) => f.path).sort());
  assert.equal(stats.unrepresentable, ['#top.txt', 'back\\slash', 'ctl\x01.txt', 'del\x7f.txt', 'pct%dir/', 'percent%20.txt', 'q?.txt', 'sub/x#y.txt']);
  assert.match(unrepresentableWhy('pct%dir/'), /"%".*\(a directory: everything below it\)$/);
  assert.match(formatSummary(stats, D), /^8 files left out: names Pulp cannot carry$/m);
});

test('origin → hub → leaf: everything else byte-identical, the names left out 404', async () => {
  const { entries } = await scanTree(path.join(tmp, 'tree'), { cacheFile: false });
  await writeManifest(path.join(tmp, 'tree', 'PULP_MANIFEST'), entries);
  let url = `${tree.url}/PULP_MANIFEST`;
  let base = '';
  for (const n of ['origin', 'hub', 'leaf']) {
    const m = await setUp(sites[n]!, url);
    const task = await runTask(sites[n]!, 'POST', `${m.repo}sync/`, { remote: m.remote, mirror: true });
    assert.is(task.state, 'completed', `${n}: ${JSON.stringify(task.error)}`);
    base = (await call(sites[n]!, 'GET', m.dist)).body.base_url;
    url = `${base}PULP_MANIFEST`;
  }
  for (const f of GOOD) {
    const res = await fetch(base + f.path.split('/').map(encodeURIComponent).join('/'));
    assert.is(res.status, 200, f.path);
    assert.is(sha256(Buffer.from(await res.arrayBuffer())), sha256(f.bytes), f.path);
  }
  for (const f of BAD) {
    const res = await fetch(base + f.path.split('/').map(encodeURIComponent).join('/'));
    assert.is(res.status, 404, f.path);
    await res.arrayBuffer();
  }
  const served = await (await fetch(`${base}PULP_MANIFEST`)).text();
  assert.equal(served.trim().split('\n').sort(), canonicalManifest(entries).trim().split('\n').sort());
});

test('a manifest listing such a name fails the embedded sync with its line, like a real Pulp', async () => {
  const dir = path.join(tmp, 'bad-manifest');
  const files = [GOOD[0]!, BAD[0]!];
  await writeTree(dir, files, files.map((f) => `${f.path},${sha256(f.bytes)},${f.bytes.length}\n`).join(''));
  const server = await serveTree(dir);
  try {
    const site = sites.origin!;
    const remote = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'bad', url: `${server.url}/PULP_MANIFEST` });
    const repo = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'bad' });
    const task = await runTask(site, 'POST', `${repo.body.pulp_href}sync/`, { remote: remote.body.pulp_href });
    assert.is(task.state, 'failed');
    assert.match(task.error.description, /line:2\. relative path "q\?\.txt" contains "\?"/);
    const after = await call(site, 'GET', repo.body.pulp_href);
    assert.match(after.body.latest_version_href, /\/versions\/0\/$/);
  } finally {
    await server.close();
  }
});

test.run();
