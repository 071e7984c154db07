/**
 * The controller sees a publication deleted by hand (issue 15 item 2): `pulpdist run` (a child
 * process) against a real embedded site, reached through a small real proxy that can refuse
 * `POST publications/` so that the repair is held back long enough to watch the status say the
 * placement is not Synced. Then the proxy lets it through and the next pass repairs it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { treeDigest } from '../../manifest/digest.js';
import type { HistoryDocument } from '../../reconcilers/history.js';
import { tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { makeRepo } from '../../testkit/git-server.js';
import { call, startSite, type RunningSite } from '../../testkit/site.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let site: RunningSite | undefined;
let proxy: { url: string; close: () => Promise<void> } | undefined;
let ctl: ControllerProcess | undefined;
/** While true the proxy answers 503 to every POST of a publication. */
let refusePublish = false;
let refused = 0;
const FILES: Record<string, string> = { 'a.txt': 'alpha\n', 'd/b.bin': 'b'.repeat(3000) };

async function startProxy(target: string): Promise<{ url: string; close: () => Promise<void> }> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    if (refusePublish && req.method === 'POST' && req.url?.startsWith('/pulp/api/v3/publications/')) {
      refused++;
      req.resume();
      res.writeHead(503, { 'Content-Type': 'text/plain', 'Content-Length': 20 }).end('Service Unavailable\n');
      return;
    }
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

async function waitStatus(pred: (d: StatusDocument) => boolean, what: string, ms = 60_000): Promise<StatusDocument> {
  const end = Date.now() + ms;
  let last: StatusDocument | undefined;
  while (Date.now() < end) {
    last = await fetch(`${ctl!.url}/api/v1/status`).then((r) => r.json() as Promise<StatusDocument>).catch(() => last);
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last?.mirrors)}\nlog:\n${ctl?.log().slice(-3000)}`);
}

const cell = (d: StatusDocument) => d.mirrors.find((m) => m.name === 'tools')?.sites.find((s) => s.site === 'origin');

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-ctl-pubdrift-'));
  const tree = path.join(dir, 'trees', 'tools');
  for (const [p, text] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(tree, p)), { recursive: true });
    writeFileSync(path.join(tree, p), text);
  }
  site = await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [path.join(dir, 'trees')] });
  proxy = await startProxy(site.url);
  const { bare } = makeRepo(dir, 'specs', {
    'origin.yaml': `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: origin}\nspec:\n  pulp: {url: "${proxy.url}"}\n`,
    'tools.yaml': `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: tools}\nspec:\n  source: {path: "${tree}"}\n  origin: origin\n  sites: [origin]\n`,
  });
  ctl = await startControllerProcess(['--repo', bare, '--interval', '1s', '--state-dir', path.join(dir, 'state')]);
});

test.after(async () => {
  await ctl?.stop().catch(() => undefined);
  await proxy?.close();
  await site?.stop();
  await cleanup();
});

test('publications deleted by hand: the controller reports the placement not Synced until it has published again', async () => {
  await waitStatus((d) => cell(d)?.state === 'Synced', 'tools Synced at origin');
  refusePublish = true;
  const repo = (await call(site!, 'GET', '/pulp/api/v3/repositories/file/file/?name=pulpdist.tools')).body.results[0].pulp_href as string;
  const pubs = await call(site!, 'GET', `/pulp/api/v3/publications/file/file/?repository=${encodeURIComponent(repo)}`);
  for (const p of pubs.body.results as { pulp_href: string }[]) assert.is((await call(site!, 'DELETE', p.pulp_href)).status, 204);
  assert.is((await fetch(`${site!.url}/pulp/content/tools/a.txt`)).status, 404);

  // Across passes and without any cache trick: the placement is not Synced, and says why.
  const held = await waitStatus((d) => cell(d)?.state !== 'Synced' && refused > 0, 'the placement reported not Synced');
  assert.ok(['Failed', 'OutOfSync'].includes(cell(held)!.state), cell(held)!.state);
  assert.match(cell(held)!.message, /publish/);

  refusePublish = false;
  await waitStatus((d) => cell(d)?.state === 'Synced', 'tools Synced again after the repair');
  for (const [p, text] of Object.entries(FILES)) {
    const r = await fetch(`${site!.url}/pulp/content/tools/${p}`);
    assert.is(r.status, 200, p);
    assert.ok((await r.text()) === text, `${p}: served bytes differ from the source`);
  }
});

test('GET /api/v1/mirrors/NAME/history: the trees per site from Pulp, the served one marked; 404 for an unknown mirror', async () => {
  const r = await fetch(`${ctl!.url}/api/v1/mirrors/tools/history`);
  assert.is(r.status, 200);
  const doc = (await r.json()) as HistoryDocument;
  const entries = Object.entries(FILES).map(([relativePath, text]) => ({ relativePath, sha256: createHash('sha256').update(text).digest('hex'), size: text.length }));
  assert.equal(doc.mirror, 'tools');
  assert.equal(doc.sites.map((s) => [s.site, s.reachable, s.serving]), [['origin', true, 1]]);
  assert.equal(doc.sites[0]!.versions.map((v) => [v.version, v.treeDigest, v.files, v.bytes, v.serving]), [[1, treeDigest(entries), 2, 3006, true]]);
  const none = await fetch(`${ctl!.url}/api/v1/mirrors/nope/history`);
  assert.is(none.status, 404);
  assert.match(((await none.json()) as { message: string }).message, /no mirror named "nope"/);
});

test.run();
