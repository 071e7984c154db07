/**
 * Item 5 of issue 8, manifests: a mirror whose source is a published PULP_MANIFEST (served by a
 * real HTTP server) that turns malformed: wrong column count, bad digest, negative or huge size,
 * traversal, an absolute path, duplicate paths, a 1 MiB line, invalid UTF-8. `pulpdist apply` must
 * fail naming the line and the reason, the site must keep serving the tree it had, byte for byte,
 * with no temp file left, and once the manifest is fixed the next apply converges.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../../testkit/cli.js';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { assertServes, manifestOf, pulpdist, sha256, startNetwork, stopNetwork, tempLeft, writeSpecs, writeTreeFiles, type NetSite } from './support.js';

let dir = '';
let cleanup = async (): Promise<void> => {};
let net: Map<string, NetSite> | undefined;
let upstream: TreeServer | undefined;
let tree = '';
let specs = '';
let env: Record<string, string> = {};
const GOOD: Record<string, string> = { 'a.txt': 'alpha\n', 'sub/b.txt': 'bravo\n' };
const D = sha256('alpha\n');

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-faults-manifests-'));
  tree = path.join(dir, 'upstream');
  await mkdir(tree, { recursive: true });
  await writeTreeFiles(tree, GOOD);
  await writeFile(path.join(tree, 'PULP_MANIFEST'), manifestOf(GOOD));
  upstream = await serveTree(tree);
  net = await startNetwork([{ name: 'origin' }], dir);
  specs = path.join(dir, 'specs');
  env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
  await writeSpecs(specs, net, [{ name: 'origin' }], [{ name: 'm', source: { manifest: `${upstream.url}/PULP_MANIFEST` }, origin: 'origin', sites: ['origin'] }]);
  const r = await pulpdist(['apply', '--specs', specs], env);
  assert.is(r.code, 0, r.stdout + r.stderr);
  await assertServes(net.get('origin')!, 'm', GOOD);
});

test.after(async () => {
  await stopNetwork(net);
  await upstream?.close();
  await cleanup();
});

const valid = manifestOf(GOOD);
/** [case, manifest bytes, line, reason] */
const CASES: [string, string | Buffer, number, RegExp][] = [
  ['wrong column count', `${valid}c.txt,${D}\n`, 3, /expected "relative_path,sha256,size"/],
  ['a digest that is not sha256 hex', `${valid}c.txt,${D.slice(0, 40).toUpperCase()},6\n`, 3, /digest "[0-9A-F]{40}" is not 64 lowercase hex characters/],
  ['a negative size', `${valid}c.txt,${D},-6\n`, 3, /size "-6" is not a whole number of bytes/],
  ['a huge size', `${valid}c.txt,${D},99999999999999999999999\n`, 3, /size 99999999999999999999999 is too large/],
  ['path traversal', `${valid}../../etc/passwd,${D},6\n`, 3, /relative path "\.\.\/\.\.\/etc\/passwd" has a "\.\." segment/],
  ['an absolute path', `/etc/passwd,${D},6\n${valid}`, 1, /relative path "\/etc\/passwd" is absolute/],
  ['duplicate paths', `${valid}a.txt,${D},6\n`, 3, /duplicate relative path "a\.txt" \(first on line 1\)/],
  ['a 1 MiB line', `${valid}${'x'.repeat(1024 * 1024)},${D},6\n`, 3, /line longer than 65536 characters/],
  ['invalid UTF-8', Buffer.concat([Buffer.from(valid), Buffer.from([0x63, 0xff, 0xfe, 0x2e]), Buffer.from(`txt,${D},6\n`)]), 3, /not valid UTF-8/],
];

for (const [name, text, line, reason] of CASES) {
  test(`a manifest with ${name} fails apply naming line ${line}; the published tree stays`, async () => {
    await writeFile(path.join(tree, 'PULP_MANIFEST'), text);
    try {
      const r = await pulpdist(['apply', '--specs', specs], env);
      assert.is(r.code, 1, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, new RegExp(`manifest line ${line}: ${reason.source}`), out.slice(0, 2000));
      assert.match(out, /^Not converged: \d+ problems?/m);
      assert.not.match(out, /internal error|\n\s+at \S+:\d+/, 'no stack trace');
      assert.ok(out.length < 20_000, `the message stays short (${out.length} characters)`);
      const origin = net!.get('origin')!;
      await assertServes(origin, 'm', GOOD, `origin after ${name}`);
      assert.equal(await tempLeft(origin), []);
    } finally {
      await writeFile(path.join(tree, 'PULP_MANIFEST'), valid);
    }
  });
}

test('the site refuses the same malformed manifests itself (a sync started by hand), and converges after', async () => {
  const origin = net!.get('origin')!;
  const auth = origin.site.authHeader ? { Authorization: origin.site.authHeader } : undefined;
  const repos = (await (await fetch(`${origin.direct()}/pulp/api/v3/repositories/file/file/?name=pulpdist.m`, { headers: auth })).json()) as { results: { pulp_href: string; latest_version_href: string }[] };
  const remotes = (await (await fetch(`${origin.direct()}/pulp/api/v3/remotes/file/file/?name=pulpdist.m`, { headers: auth })).json()) as { results: { pulp_href: string }[] };
  const repo = repos.results[0]!;
  for (const [name, text, line] of CASES) {
    await writeFile(path.join(tree, 'PULP_MANIFEST'), text);
    const r = await fetch(`${origin.direct()}${repo.pulp_href}sync/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth },
      body: JSON.stringify({ remote: remotes.results[0]!.pulp_href, mirror: true }),
    });
    assert.is(r.status, 202, name);
    const href = ((await r.json()) as { task: string }).task;
    let task: { state: string; error: { description: string } | null } = { state: 'waiting', error: null };
    for (const end = Date.now() + 20_000; !['completed', 'failed', 'canceled'].includes(task.state) && Date.now() < end; ) {
      await new Promise((res) => setTimeout(res, 20));
      task = (await (await fetch(`${origin.direct()}${href}`, { headers: auth })).json()) as typeof task;
    }
    assert.is(task.state, 'failed', name);
    assert.match(task.error?.description ?? '', new RegExp(`line:?\\s?${line}\\b`), `${name}: ${task.error?.description}`);
    await assertServes(origin, 'm', GOOD, `origin after a hand sync with ${name}`);
  }
  // Fixed upstream, a new file: the next apply converges on it.
  const next = { ...GOOD, 'c.txt': 'charlie\n' };
  await writeTreeFiles(tree, next);
  await writeFile(path.join(tree, 'PULP_MANIFEST'), manifestOf(next));
  const a = await pulpdist(['apply', '--specs', specs], env);
  assert.is(a.code, 0, a.stdout + a.stderr);
  await assertServes(origin, 'm', next);
});

test.run();
