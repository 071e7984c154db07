/**
 * Rollout probes (pulp/content-probe.ts) against a real embedded site that published a tree
 * through `pulpdist apply`: 200, sha256 as given and not, a path that is not there, a base path
 * that is not served. Then what the site cannot show, against a small node:http server on
 * 127.0.0.1: a redirect is not followed, a body over the bound fails, a server that never answers
 * times out, and an aborted probe throws instead of reporting.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probeAll, probeContent } from '../../pulp/content-probe.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

const REPOMD = '<repomd>probe me</repomd>\n';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let site: RunningSite | undefined;
let server: http.Server | undefined;
let local = '';
const spec = (url: string) => ({ pulp: { url, contentOrigin: url, apiRoot: '/pulp/api/v3/', tlsValidation: true } });

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-probe-'));
  const tree = path.join(dir, 'trees', 'tools');
  await mkdir(path.join(tree, 'repodata'), { recursive: true });
  await writeFile(path.join(tree, 'repodata', 'repomd.xml'), REPOMD);
  await writeFile(path.join(tree, 'a file.txt'), 'spaces in names are encoded\n');
  site = await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [path.join(dir, 'trees')] });
  const specs = path.join(dir, 'specs');
  await mkdir(specs);
  await writeFile(path.join(specs, 'specs.yaml'), [
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', 'spec:', `  pulp: {url: "${site.url}"}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: tools}', 'spec:', `  source: {path: "${tree}"}`, '  origin: origin', '  sites: [origin]', '  basePath: tools/el9', '',
  ].join('\n'));
  const a = await runCli(['apply', '--specs', specs], { env: { XDG_CACHE_HOME: path.join(dir, 'cache') }, timeoutMs: 120_000 });
  assert.is(a.code, 0, a.stdout + a.stderr);

  server = http.createServer((req, res) => {
    const p = req.url ?? '/';
    if (p.endsWith('/moved')) return void res.writeHead(302, { Location: `${local}/pulp/content/tools/el9/repodata/repomd.xml`, 'Content-Length': 0 }).end();
    if (p.endsWith('/big')) return void res.writeHead(200, { 'Content-Length': 4096 }).end(Buffer.alloc(4096));
    if (p.endsWith('/silent')) return; // never answers
    res.writeHead(200, { 'Content-Length': REPOMD.length }).end(REPOMD);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  local = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await site?.stop();
  await cleanup();
});

test('a published file answers 200; with its sha256 it passes, with another it fails naming both', async () => {
  const s = spec(site?.url ?? '');
  const plain = await probeContent(s, 'tools/el9', { path: 'repodata/repomd.xml' });
  assert.equal(plain, { ok: true, status: 200, detail: `answered 200 (${REPOMD.length} bytes)` });
  const right = await probeContent(s, 'tools/el9', { path: 'repodata/repomd.xml', sha256: sha(REPOMD) });
  assert.equal([right.ok, right.detail], [true, `answered 200 (${REPOMD.length} bytes, sha256 as expected)`]);
  const wrong = await probeContent(s, 'tools/el9', { path: 'repodata/repomd.xml', sha256: 'f'.repeat(64) });
  assert.equal(wrong, { ok: false, status: 200, detail: `sha256 ${sha(REPOMD).slice(0, 12)}… instead of ffffffffffff…` });
  assert.is(wrong.unanswered, undefined);
  const spaced = await probeContent(s, 'tools/el9', { path: 'a file.txt' });
  assert.is(spaced.ok, true, spaced.detail);
});

test('a path the tree lacks, and a base path nobody serves, answer 404', async () => {
  const s = spec(site?.url ?? '');
  assert.equal(await probeContent(s, 'tools/el9', { path: 'repodata/nothing.xml' }), { ok: false, status: 404, detail: 'answered 404' });
  assert.equal((await probeContent(s, 'tools/el8', { path: 'repodata/repomd.xml' })).detail, 'answered 404');
});

test('probeAll keeps the order of the probes and reports a site it does not know', async () => {
  const sites = new Map([['origin', spec(site?.url ?? '')]]);
  const results = await probeAll([{ site: 'origin', path: 'repodata/nothing.xml' }, { site: 'mars', path: 'x' }, { site: 'origin', path: 'repodata/repomd.xml' }], sites, 'tools/el9');
  assert.equal(results.map((r) => [r.site, r.path, r.ok, r.detail.split(' (')[0]]), [
    ['origin', 'repodata/nothing.xml', false, 'answered 404'],
    ['mars', 'x', false, 'no site mars in the specs'],
    ['origin', 'repodata/repomd.xml', true, 'answered 200'],
  ]);
});

test('a redirect is reported, not followed', async () => {
  const r = await probeContent(spec(local), 'tools/el9', { path: 'moved' });
  assert.equal(r, { ok: false, status: 302, detail: 'answered 302 (a redirect: probes do not follow redirects)' });
});

test('a body over the bound fails the probe; under it passes', async () => {
  const over = await probeContent(spec(local), 'tools/el9', { path: 'big' }, { maxBytes: 1024 });
  assert.equal([over.ok, over.detail], [false, 'answered 200 with a body over 1024 bytes (the probe reads at most that)']);
  assert.is((await probeContent(spec(local), 'tools/el9', { path: 'big' }, { maxBytes: 8192 })).ok, true);
});

test('a server that never answers times out; an aborted probe throws', async () => {
  const slow = await probeContent(spec(local), 'tools/el9', { path: 'silent' }, { timeoutMs: 300 });
  assert.equal([slow.ok, slow.status, slow.unanswered], [false, null, true]);
  assert.is(slow.detail, 'no answer: nothing within 300 ms');
  const ac = new AbortController();
  const pending = probeContent(spec(local), 'tools/el9', { path: 'silent' }, { signal: ac.signal, timeoutMs: 60_000 });
  ac.abort();
  await pending.then(() => assert.unreachable('an aborted probe must throw'), (err: Error) => assert.is(err.name, 'AbortError'));
});

test.run();
