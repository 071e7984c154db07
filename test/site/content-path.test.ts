/**
 * Dot segments and `//` in content-app paths: removed inside a distribution (RFC 3986 §5.2.4, as
 * the reverse proxy in front of a real Pulp does), never letting `..` reach another distribution;
 * `//` as a real Pulp 3.24 answers it (reference/real-pulp-3.24/extra4 §7). Requests are sent
 * with their path as written: fetch() would normalize it first.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { contentInnerPath, removeDotSegments } from '../../site/content-path.js';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, runTask, startSite, type RunningSite } from '../../testkit/site.js';
import { writeTree, type TreeFile } from '../../testkit/tree.js';

const FLAT: TreeFile[] = [
  { path: 'Packages', bytes: Buffer.from('Package: hello\nVersion: 1.0\n') },
  { path: 'Release', bytes: Buffer.from('Origin: test\n') },
  { path: 'pool/hello_1.0_all.deb', bytes: Buffer.from('!<arch>\n') },
];
const OTHER: TreeFile[] = [{ path: 'secret.txt', bytes: Buffer.from('another distribution') }];

let tmp: string;
let site: RunningSite;
const servers: TreeServer[] = [];

/** GET with the path sent exactly as given. */
function rawGet(url: string, rawPath: string): Promise<{ status: number; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function publish(name: string, files: TreeFile[], basePath: string): Promise<void> {
  const dir = path.join(tmp, name);
  await writeTree(dir, files);
  const server = await serveTree(dir);
  servers.push(server);
  const repo = await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name, autopublish: true });
  const remote = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name, url: `${server.url}/PULP_MANIFEST` });
  const sync = await runTask(site, 'POST', `${repo.body.pulp_href}sync/`, { remote: remote.body.pulp_href });
  assert.is(sync.state, 'completed', JSON.stringify(sync.error));
  const dist = await runTask(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name, base_path: basePath, repository: repo.body.pulp_href });
  assert.is(dist.state, 'completed');
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-content-path-'));
  site = await startSite();
  await publish('flat', FLAT, 'debian/flat');
  await publish('other', OTHER, 'debian/other');
});

test.after(async () => {
  await site?.stop();
  for (const s of servers) await s.close();
  await rm(tmp, { recursive: true, force: true });
});

test('removeDotSegments: RFC 3986 §5.2.4 on a relative path, clamped at its root', () => {
  const table: [string, string][] = [
    ['./Packages', 'Packages'],
    ['a/./b', 'a/b'],
    ['a/b/../c', 'a/c'],
    ['a/..', ''],
    ['a/b/..', 'a/'],
    ['a/.', 'a/'],
    ['.', ''],
    ['../../x', 'x'],
    ['a/../../../other/secret.txt', 'other/secret.txt'],
    ['.hidden/..x/...', '.hidden/..x/...'],
    ['sub//g.txt', 'sub//g.txt'],
  ];
  for (const [input, want] of table) assert.is(removeDotSegments(input), want, input);
  assert.is(contentInnerPath('/PULP_MANIFEST'), 'PULP_MANIFEST');
  assert.is(contentInnerPath('//./Packages'), 'Packages');
});

test('contentInnerPath skips removeDotSegments only where it would change nothing', () => {
  // Every path of up to four segments from these, with and without leading slashes.
  const segs = ['a', '.', '..', '...', '.x', 'x.', 'x.rpm', '', '..y'];
  let paths = [''];
  for (let depth = 0; depth < 4; depth++) paths = paths.flatMap((p) => segs.map((s) => (p === '' ? s : `${p}/${s}`)));
  let checked = 0;
  for (const p of paths) {
    for (const lead of ['', '/', '//']) {
      assert.is(contentInnerPath(lead + p), removeDotSegments(p.replace(/^\/+/, '')), lead + p);
      checked += 1;
    }
  }
  assert.ok(checked > 10_000, `${checked} paths`);
});

test("apt's flat-repository request BASE/./Packages is served, byte for byte", async () => {
  const base = site.url;
  for (const p of ['/pulp/content/debian/flat/./Packages', '/pulp/content/debian/flat/pool/../Packages', '/pulp/content/debian/flat/./pool/./../Packages']) {
    const r = await rawGet(base, p);
    assert.is(r.status, 200, p);
    assert.equal(r.body, FLAT[0]!.bytes, p);
  }
  const deb = await rawGet(base, '/pulp/content/debian/flat/./pool/hello_1.0_all.deb');
  assert.is(deb.status, 200);
  assert.equal(deb.body, FLAT[2]!.bytes);
});

test('`..` never leaves the distribution', async () => {
  const base = site.url;
  const direct = await rawGet(base, '/pulp/content/debian/other/secret.txt');
  assert.is(direct.status, 200);
  for (const p of [
    '/pulp/content/debian/flat/../other/secret.txt',
    '/pulp/content/debian/flat/../../debian/other/secret.txt',
    '/pulp/content/debian/flat/%2e%2e/other/secret.txt',
    '/pulp/content/debian/flat/..%2fother%2fsecret.txt',
  ]) {
    const r = await rawGet(base, p);
    assert.is(r.status, 404, p);
    assert.not.ok(r.body.includes(OTHER[0]!.bytes), p);
  }
});

test('`//` as a real Pulp answers it: after the base path 200, inside the base path 404', async () => {
  const base = site.url;
  const ok = await rawGet(base, '/pulp/content/debian/flat//Packages');
  assert.is(ok.status, 200);
  assert.equal(ok.body, FLAT[0]!.bytes);
  assert.is((await rawGet(base, '/pulp/content/debian//flat/Packages')).status, 404);
  assert.is((await rawGet(base, '/pulp/content/debian/./flat/Packages')).status, 404);
});

test.run();
