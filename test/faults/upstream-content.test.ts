/**
 * Item 2 of issue 8: the upstream a mirror's origin imports from misbehaves. The source is a
 * published PULP_MANIFEST on a real HTTP server that can send wrong bytes, a truncated body, close
 * the connection mid-body, or change the tree while a sync runs. Each case: `pulpdist apply` fails
 * naming the file and the cause, origin and leaf keep serving the previous tree byte for byte, no
 * artifact of bad bytes and no temp file remain, and once the upstream is fixed the next apply
 * converges everywhere.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../../testkit/cli.js';
import { serveTree, type Fault, type TreeServer } from '../../testkit/http-tree.js';
import {
  assertServes, manifestOf, pollUntil, pulpdist, sha256, startNetwork, stopNetwork, tempLeft, writeSpecs, writeTreeFiles, type NetSite, type SiteDef,
} from './support.js';

const SITES: SiteDef[] = [{ name: 'origin' }, { name: 'leaf', upstream: 'origin' }];
let dir = '';
let cleanup = async (): Promise<void> => {};
let net: Map<string, NetSite> | undefined;
let upstream: TreeServer | undefined;
let tree = '';
let specs = '';
let env: Record<string, string> = {};
/** What the upstream publishes now, and every site once converged. */
let files: Record<string, Buffer> = {};

async function publish(next: Record<string, Buffer>): Promise<void> {
  await rm(tree, { recursive: true, force: true });
  await mkdir(tree, { recursive: true });
  await writeTreeFiles(tree, next);
  await writeFile(path.join(tree, 'PULP_MANIFEST'), manifestOf(next));
}

async function artifactsWith(n: NetSite, digest: string): Promise<number> {
  const r = await fetch(`${n.direct()}/pulp/api/v3/artifacts/?sha256=${digest}`);
  return ((await r.json()) as { count: number }).count;
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-faults-upstream-'));
  tree = path.join(dir, 'upstream');
  files = { 'README': Buffer.from('tree v1\n'), 'pkgs/a.rpm': randomBytes(6000), 'pkgs/b.rpm': randomBytes(6000) };
  await publish(files);
  upstream = await serveTree(tree);
  net = await startNetwork(SITES, dir);
  specs = path.join(dir, 'specs');
  env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
  await writeSpecs(specs, net, SITES, [{ name: 'm', source: { manifest: `${upstream.url}/PULP_MANIFEST` }, origin: 'origin', sites: ['origin', 'leaf'] }]);
  const r = await pulpdist(['apply', '--specs', specs], env);
  assert.is(r.code, 0, r.stdout + r.stderr);
});

test.after(async () => {
  await stopNetwork(net);
  await upstream?.close();
  await cleanup();
});

/** A new file whose download misbehaves: apply fails, nothing moves; fixed, apply converges. */
async function faultyNewFile(fault: Fault, badBytes: (good: Buffer) => Buffer | null, cause: RegExp): Promise<void> {
  const before = files;
  const rel = `pkgs/new-${Object.keys(files).length}.rpm`;
  const good = randomBytes(8000);
  const after = { ...files, [rel]: good };
  await publish(after);
  upstream!.setFault(rel, fault);
  let r;
  try {
    r = await pulpdist(['apply', '--specs', specs], env);
  } finally {
    upstream!.setFault(rel, null);
  }
  const out = r.stdout + r.stderr;
  assert.is(r.code, 1, out);
  assert.match(out, /FAIL\s+origin: sync pulpdist\.m failed/);
  assert.match(out, cause, out);
  assert.not.match(out, /internal error|\n\s+at \S+:\d+/, 'no stack trace');
  for (const n of net!.values()) {
    await assertServes(n, 'm', before, `${n.name} after the failed sync`);
    assert.equal(await tempLeft(n), [], `${n.name}: no temp file`);
  }
  const bad = badBytes(good);
  if (bad) assert.is(await artifactsWith(net!.get('origin')!, sha256(bad)), 0, 'no artifact of the bad bytes');
  assert.is(await artifactsWith(net!.get('leaf')!, sha256(good)), 0, 'the leaf did not sync a tree its upstream never published');
  const again = await pulpdist(['apply', '--specs', specs], env);
  assert.is(again.code, 0, again.stdout + again.stderr);
  files = after;
  for (const n of net!.values()) await assertServes(n, 'm', after, `${n.name} after the upstream was fixed`);
}

test('bytes that do not match the manifest digest: the sync fails naming the checksum; nothing published changes', async () => {
  await faultyNewFile({ kind: 'wrong-bytes' }, (g) => Buffer.alloc(g.length, 0x5a), /failed validation due to checksum/);
});

test('a truncated body: the sync fails; nothing published changes', async () => {
  await faultyNewFile({ kind: 'truncate' }, (g) => g.subarray(0, g.length / 2), /failed validation due to checksum|size/);
});

test('a connection closed mid-body: the sync fails; nothing published changes', async () => {
  await faultyNewFile({ kind: 'close-mid-body' }, (g) => g.subarray(0, g.length / 2), /Response payload is not completed/);
});

test('an upstream answering 500 for a file: the sync fails naming the status; nothing published changes', async () => {
  await faultyNewFile({ kind: 'status', status: 500 }, () => null, /500/);
});

test('the tree changes while the sync runs: the sync fails (or publishes the tree it read), never a mix; the next apply converges', async () => {
  const before = files;
  const v2 = { ...files, 'README': Buffer.from('tree v2\n'), 'pkgs/slow.rpm': randomBytes(7000) };
  await publish(v2);
  // The slow file is held back until the tree has changed under the sync. The other new file
  // (README) must have been read whole first: the change removes the tree and writes it again, and
  // a README asked for meanwhile would fail the sync with a 404 or a short body, not the checksum.
  upstream!.setFault('pkgs/slow.rpm', { kind: 'delay', ms: 1500 });
  const seen = upstream!.requests().length;
  const served = upstream!.bytesServed();
  const applying = pulpdist(['apply', '--specs', specs], env);
  const manifestBytes = Buffer.byteLength(manifestOf(v2));
  await pollUntil(
    'the origin to request the slow file and to have README',
    async () => {
      const asked = upstream!.requests().slice(seen);
      const manifests = asked.filter((r) => r.endsWith('PULP_MANIFEST')).length;
      const readmeRead = upstream!.bytesServed() >= served + manifests * manifestBytes + v2['README']!.length;
      return asked.includes('pkgs/slow.rpm') && asked.includes('README') && readmeRead ? true : undefined;
    },
    30_000,
    10,
  );
  const v3 = { ...v2, 'README': Buffer.from('tree v3\n'), 'pkgs/slow.rpm': randomBytes(7000), 'pkgs/c.rpm': randomBytes(3000) };
  await publish(v3);
  upstream!.setFault('pkgs/slow.rpm', null);
  const r = await applying;
  const out = r.stdout + r.stderr;
  assert.is(r.code, 1, out);
  assert.match(out, /failed validation due to checksum/);
  for (const n of net!.values()) {
    await assertServes(n, 'm', before, `${n.name} after the tree changed under the sync`);
    assert.equal(await tempLeft(n), []);
  }
  const again = await pulpdist(['apply', '--specs', specs], env);
  assert.is(again.code, 0, again.stdout + again.stderr);
  files = v3;
  for (const n of net!.values()) await assertServes(n, 'm', v3);
});

test('the manifest disappears (404) and comes back: the plan names it, nothing is deleted, then converges', async () => {
  upstream!.setFault('PULP_MANIFEST', { kind: 'status', status: 404 });
  let r;
  try {
    r = await pulpdist(['apply', '--specs', specs], env);
  } finally {
    upstream!.setFault('PULP_MANIFEST', null);
  }
  const out = r.stdout + r.stderr;
  assert.is(r.code, 1, out);
  assert.match(out, /m: source unreadable: GET http:\/\/127\.0\.0\.1:\d+\/PULP_MANIFEST answered 404/);
  for (const n of net!.values()) await assertServes(n, 'm', files, `${n.name} while the source is unreadable`);
  const again = await pulpdist(['apply', '--specs', specs], env);
  assert.is(again.code, 0, again.stdout + again.stderr);
});

test.run();
