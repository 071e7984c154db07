/**
 * Ctrl-C on `pulpdist apply` (issue 15, item 10): the operator's choice, not a bug. apply prints
 * `interrupted`, exits 130 as a shell expects, never says "internal error", and the sync it was
 * waiting for is canceled at the site. The sync is held open by an upstream that delays one file.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, runCli, tempDir } from '../../testkit/cli.js';
import { serveTree } from '../../testkit/http-tree.js';
import { call, startSite } from '../../testkit/site.js';

test('SIGINT during apply: "interrupted", exit 130, the running sync canceled', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-interrupt-');
  const tree = path.join(dir, 'tree');
  await mkdir(tree);
  await writeFile(path.join(tree, 'a.txt'), 'a\n');
  await writeFile(path.join(tree, 'slow.bin'), Buffer.alloc(4096, 1));
  const m = await runCli(['manifest', tree, '-o', path.join(tree, 'PULP_MANIFEST'), '--no-cache']);
  assert.is(m.code, 0, m.stderr);
  const upstream = await serveTree(tree, { faults: { 'slow.bin': { kind: 'delay', ms: 120_000 } } });
  const site = await startSite({ dataDir: path.join(dir, 'site') });
  try {
    const specs = path.join(dir, 'specs');
    await mkdir(specs);
    await writeFile(path.join(specs, 'specs.yaml'), [
      'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', 'spec:', `  pulp: {url: "${site.url}"}`, '---',
      'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: slow}', 'spec:', `  source: {manifest: "${upstream.url}/PULP_MANIFEST"}`, '  origin: origin', '  sites: [origin]', '',
    ].join('\n'));
    const child = spawn(process.execPath, [BIN, 'apply', '--specs', specs], { env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    // Wait for the sync to be running at the site (it cannot finish: slow.bin is held back).
    let running: { pulp_href: string } | undefined;
    for (const end = Date.now() + 60_000; !running && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      running = (await call(site, 'GET', '/pulp/api/v3/tasks/?state=running')).body.results.find((t: { name: string }) => /sync/.test(t.name));
    }
    assert.ok(running, `no running sync task; apply said: ${stderr}`);
    child.kill('SIGINT');
    assert.is(await exited, 130, stderr);
    assert.match(stderr, /^interrupted \(SIGINT\)/m);
    assert.not.match(stderr, /internal error/);
    let state = '';
    for (const end = Date.now() + 30_000; !['canceled', 'failed', 'completed'].includes(state) && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      state = (await call(site, 'GET', running.pulp_href)).body.state;
    }
    assert.is(state, 'canceled');
  } finally {
    await site.stop();
    await upstream.close();
    await cleanup();
  }
});

test.run();
