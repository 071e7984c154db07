/**
 * Syncs that must fit (issue 22): a site whose data directory is a small tmpfs. `plan` shows what
 * the pass adds against the free space, the sync that would not fit is Blocked ("needs …, … free
 * at hub") and writes nothing, the one that fits goes on, and once space is freed the next apply
 * converges. Real `pulpdist site` processes, the real binary, a real tmpfs (mounting needs root,
 * as in CI; elsewhere the test is skipped with a message saying so).
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

const MiB = 1024 * 1024;
let dir = '';
let cleanup: () => Promise<void> = async () => {};
let mount = '';
let mounted = false;
const sites: RunningSite[] = [];
let specs = '';
let hubData = '';
const env = (): Record<string, string> => ({ XDG_CACHE_HOME: path.join(dir, 'cache') });
const BIG = randomBytes(20 * MiB);

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-disk-fit-'));
  mount = path.join(dir, 'small-disk');
  await mkdir(mount);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mount], { encoding: 'utf8' });
  mounted = r.status === 0;
  if (!mounted) {
    console.log(`SKIPPED disk-fit: cannot mount a tmpfs here (${(r.stderr || r.error?.message || 'mount failed').trim()}); the test needs root, as in CI`);
    return;
  }
  // Ballast on the same filesystem: what frees the space later.
  await writeFile(path.join(mount, 'ballast'), Buffer.alloc(34 * MiB, 1));
  for (const [m, files] of [['big', { 'big.iso': BIG }], ['small', { 'small.txt': randomBytes(MiB) }]] as const) {
    await mkdir(path.join(dir, 'trees', m), { recursive: true });
    for (const [f, b] of Object.entries(files)) await writeFile(path.join(dir, 'trees', m, f), b);
  }
  sites.push(await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [path.join(dir, 'trees')] }));
  hubData = path.join(mount, 'hub');
  sites.push(await startSite({ dataDir: hubData }));
  specs = path.join(dir, 'specs');
  await mkdir(specs);
  await writeFile(path.join(specs, 'specs.yaml'), [
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', `spec: {pulp: {url: "${sites[0]!.url}"}}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: hub}', `spec: {pulp: {url: "${sites[1]!.url}"}, upstream: origin}`, '---',
    ...['big', 'small'].flatMap((m) => ['apiVersion: pulpdist/v1', 'kind: Mirror', `metadata: {name: ${m}}`, `spec: {source: {path: "${dir}/trees/${m}"}, origin: origin, sites: [origin, hub]}`, '---']),
    '',
  ].join('\n'));
});

test.after(async () => {
  for (const s of sites) await s.stop().catch(() => undefined);
  if (mounted) spawnSync('umount', [mount]);
  await cleanup();
});

test('a sync that does not fit is Blocked with its need, writes nothing, the rest goes on; freed space lets it through', async () => {
  if (!mounted) return;
  const plan = await runCli(['plan', '--specs', specs, '--json'], { env: env() });
  assert.is(plan.code, 2, plan.stderr);
  const doc = JSON.parse(plan.stdout) as { sites: { name: string; adds?: number; storage?: { free: number; total: number } | null; message: string }[]; entries: { site: string; mirror: string; action: string; kind: string; reason: string }[] };
  const hub = doc.sites.find((s) => s.name === 'hub')!;
  assert.ok(hub.storage && hub.storage.total <= 48 * MiB && hub.storage.free < 20 * MiB, JSON.stringify(hub.storage));
  assert.ok(hub.adds! > MiB && hub.adds! < 2 * MiB, `hub adds only the small mirror: ${hub.adds}`);
  assert.match(hub.message, /1 sync held: not enough free space/);
  const held = doc.entries.find((e) => e.site === 'hub' && e.mirror === 'big' && e.kind === 'sync')!;
  assert.is(held.action, 'noop');
  assert.match(held.reason, /^needs 20\.\d MiB, 1\d\.\d MiB free at hub /);
  assert.ok(doc.entries.some((e) => e.site === 'hub' && e.mirror === 'small' && e.action === 'sync'));
  const text = await runCli(['plan', '--specs', specs], { env: env() });
  assert.match(text.stdout, /site hub \(pulpdist site [^)]*\): 1 sync held: not enough free space\n {2}disk: this pass adds 1\.\d MiB, 1\d\.\d MiB free of 4\d\.\d MiB/);

  const apply = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 180_000 });
  assert.is(apply.code, 1, apply.stdout + apply.stderr);
  assert.match(apply.stdout, /big@hub: Blocked: needs 20\.\d MiB, 1\d\.\d MiB free at hub/);
  assert.not.match(apply.stdout, /small@hub|big@origin/);
  // Nothing of the held sync was written: no partial download, no artifact of its file.
  const tmp = path.join(hubData, 'tmp');
  assert.equal(existsSync(tmp) ? readdirSync(tmp) : [], []);
  const bigSha = (await import('node:crypto')).createHash('sha256').update(BIG).digest('hex');
  assert.not.ok(existsSync(path.join(hubData, 'artifacts', bigSha.slice(0, 2), bigSha.slice(2))));

  await rm(path.join(mount, 'ballast'));
  const again = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 180_000 });
  assert.is(again.code, 0, again.stdout + again.stderr);
  const got = Buffer.from(await (await fetch(`${sites[1]!.url}/pulp/content/big/big.iso`)).arrayBuffer());
  assert.ok(got.equals(BIG), 'hub serves big.iso byte-exact once it fits');
});

test.run();
