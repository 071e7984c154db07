/**
 * file:// imports as pulpcore 3.24 does them: the remote's manifest must resolve (os.path.realpath)
 * under an allowed import path at create (and, stricter than pulpcore, again when the sync reads
 * it, the site's existing guard); each file it lists is the
 * manifest's directory joined with the line's path, opened following symlinks wherever they lead
 * (pulpcore's FileDownloader checks nothing more). A read-only tree's view (sources/view.ts)
 * depends on both: its manifest in the state directory, its files reached through links.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../../testkit/cli.js';
import { call, runTask, startSite, type RunningSite } from '../../testkit/site.js';
import { sha256 } from '../../testkit/tree.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let site: RunningSite;
let allowed = '';
let outside = '';
const BODY = Buffer.from('outside the allowed path\n');

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-file-import-'));
  allowed = path.join(dir, 'allowed');
  outside = path.join(dir, 'outside');
  fs.mkdirSync(path.join(outside, 'tree', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'tree', 'sub', 'f.txt'), BODY);
  fs.mkdirSync(path.join(allowed, 'view'), { recursive: true });
  fs.symlinkSync(path.join(outside, 'tree', 'sub'), path.join(allowed, 'view', 'sub'));
  fs.writeFileSync(path.join(allowed, 'view', 'PULP_MANIFEST'), `sub/f.txt,${sha256(BODY)},${BODY.length}\n`);
  site = await startSite({ dataDir: path.join(dir, 'site'), allowedImportPaths: [allowed] });
});

test.after(async () => {
  await site?.stop();
  await cleanup();
});

test("a manifest under the allowed path whose files are links out of it: synced, the link's target served", async () => {
  const repo = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'view', autopublish: true })).body.pulp_href as string;
  const created = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'view', url: `file://${allowed}/view/PULP_MANIFEST` });
  assert.is(created.status, 201, JSON.stringify(created.body));
  const t = await runTask(site, 'POST', `${repo}sync/`, { remote: created.body.pulp_href, mirror: true });
  assert.is(t.state, 'completed', JSON.stringify(t.error));
  const d = await runTask(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'view', base_path: 'view', repository: repo });
  assert.is(d.state, 'completed');
  const res = await fetch(`${site.url}/pulp/content/view/sub/f.txt`);
  assert.is(res.status, 200);
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(BODY));
});

test('a manifest that resolves out of the allowed path: refused at create, and at sync when it was moved out since', async () => {
  fs.mkdirSync(path.join(allowed, 'moved'));
  fs.copyFileSync(path.join(allowed, 'view', 'PULP_MANIFEST'), path.join(allowed, 'moved', 'PULP_MANIFEST'));
  fs.symlinkSync(path.join(outside, 'tree', 'sub'), path.join(allowed, 'moved', 'sub'));
  const manifest = path.join(outside, 'tree', 'PULP_MANIFEST');
  fs.copyFileSync(path.join(allowed, 'view', 'PULP_MANIFEST'), manifest);
  fs.symlinkSync(manifest, path.join(allowed, 'escape'));
  const refused = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'escape', url: `file://${allowed}/escape` });
  assert.is(refused.status, 400);
  assert.equal(refused.body, { url: [`The path '${manifest}' does not start with any of the allowed import paths`] });

  const repo = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'moved' })).body.pulp_href as string;
  const remote = (await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'moved', url: `file://${allowed}/moved/PULP_MANIFEST` })).body.pulp_href as string;
  fs.rmSync(path.join(allowed, 'moved', 'PULP_MANIFEST'));
  fs.symlinkSync(manifest, path.join(allowed, 'moved', 'PULP_MANIFEST'));
  const t = await runTask(site, 'POST', `${repo}sync/`, { remote, mirror: true });
  assert.is(t.state, 'failed');
  assert.match(String(t.error?.description), /does not start with any of the allowed import paths/);
});

test.run();
