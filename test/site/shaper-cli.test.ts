/**
 * The byte cap wired end to end (issue 17): a real `pulpdist shaper` process, two real sites, and
 * `pulpdist apply` on specs where the leaf names the shaper in `limits.shaper`. The leaf's remote
 * gets `proxy_url`, its sync goes through the shaper (the shaper counts the bytes it handed over),
 * the origin's does not, and the leaf serves the tree byte for byte.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, runCli, tempDir } from '../../testkit/cli.js';
import { call, startSite, type RunningSite } from '../../testkit/site.js';

const SIZE = 256 * 1024;
let dir = '';
let cleanup: () => Promise<void> = async () => {};
let origin: RunningSite | undefined;
let leaf: RunningSite | undefined;
let shaper: { child: ChildProcess; url: string; log: () => string } | undefined;
const files = new Map<string, Buffer>();

/** Start `pulpdist shaper ARGS`, resolving with its URL once it says it listens. */
function startShaper(args: string[]): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'shaper', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`shaper did not start: ${err}`))), 20_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /pulpdist shaper listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, log: () => err });
      }
    });
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`shaper exited with ${code}: ${err}`))));
  });
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-shaper-cli-'));
  const trees = path.join(dir, 'trees');
  const tree = path.join(trees, 'isos');
  await mkdir(path.join(tree, 'sub'), { recursive: true });
  for (const rel of ['a.iso', 'b.iso', 'sub/c.iso']) {
    const bytes = randomBytes(SIZE);
    files.set(rel, bytes);
    await writeFile(path.join(tree, rel), bytes);
  }
  origin = await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [trees] });
  leaf = await startSite({ dataDir: path.join(dir, 'leaf') });
  shaper = await startShaper(['--bandwidth', '64MiB/s', '--listen', '127.0.0.1:0']);
  const specs = path.join(dir, 'specs');
  await mkdir(specs);
  await writeFile(path.join(specs, 'specs.yaml'), [
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', 'spec:', `  pulp: {url: "${origin.url}"}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: leaf}', 'spec:', `  pulp: {url: "${leaf.url}"}`, '  upstream: origin',
    `  limits: {bandwidth: 64MiB/s, shaper: "${shaper.url}"}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: isos}', 'spec:', `  source: {path: "${tree}"}`, '  origin: origin', '  sites: [origin, leaf]', '',
  ].join('\n'));
});

test.after(async () => {
  shaper?.child.kill('SIGKILL');
  await Promise.all([origin?.stop(), leaf?.stop()]);
  await cleanup();
});

test('apply points the leaf\'s remote at its shaper; the leaf syncs through it and serves the tree', async () => {
  const env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
  const r = await runCli(['apply', '--specs', path.join(dir, 'specs')], { env, timeoutMs: 120_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const remotes = async (site: RunningSite) => (await call(site, 'GET', '/pulp/api/v3/remotes/file/file/?name=pulpdist.isos')).body.results[0];
  assert.is((await remotes(leaf!)).proxy_url, shaper!.url);
  assert.is((await remotes(origin!)).proxy_url, null);
  for (const [rel, bytes] of files) {
    const res = await fetch(`${leaf!.url}/pulp/content/isos/${rel}`);
    assert.is(res.status, 200, rel);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), rel);
  }
  // The shaper says on SIGTERM how many bytes it handed over: at least the three files.
  const exited = new Promise<number | null>((resolve) => shaper!.child.once('exit', (code) => resolve(code)));
  shaper!.child.kill('SIGTERM');
  assert.is(await exited, 0);
  const m = /bytes=(\d+)/.exec(shaper!.log());
  assert.ok(m, shaper!.log());
  assert.ok(Number(m[1]) >= 3 * SIZE, `the shaper carried ${m[1]} bytes`);
});

test('shaper usage errors: a missing or malformed rate, a bad --listen', async () => {
  const none = await runCli(['shaper']);
  assert.is(none.code, 2);
  assert.match(none.stderr, /--bandwidth RATE is required/);
  const bad = await runCli(['shaper', '--bandwidth', 'fast']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--bandwidth must be a rate such as 50MiB\/s or 200Mbit\/s, got "fast"/);
  const listen = await runCli(['shaper', '--bandwidth', '1MiB/s', '--listen', 'nope']);
  assert.is(listen.code, 2);
  assert.match(listen.stderr, /--listen must be HOST:PORT, got "nope"/);
});

test.run();
