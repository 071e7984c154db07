/**
 * Two replicas of `pulpdist run --lease` (real processes) against one repository served by
 * `git http-backend` and three real embedded sites (origin → hub → leaf): exactly one is active (its /readyz says so, the
 * other answers 503 standby); SIGKILL of the active → the standby takes over within 2 × the lease
 * and converges a newly pushed mirror; a standby shows the status the active one commits; a replica paused (SIGSTOP) past its lease, then resumed
 * while the new active one is paused too and a new mirror waits to be made, writes nothing — not a
 * status commit, not a Pulp object or task — and exits 1 saying it lost the lease.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { commitAndPush, makeRepo, runGit, startGitServer, writeFiles, type RunningGitServer } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

// Long enough that a renewal (a Git fetch and push, renewed every 2 s, each given half the lease)
// finishes in time on a loaded CI machine: at 8 s, a load average of 17-20 on 2 cores made a
// renewal take over 4 s twice, and the active replica rightly gave the lease up mid-test.
const LEASE_S = 12;
let cleanup: () => Promise<void> = async () => {};
let git: RunningGitServer | undefined;
const sites: RunningSite[] = [];
const replicas: ControllerProcess[] = [];
let dir = '';
let bare = '';
let work = '';
let trees = '';

const ready = (async () => {
  const t = await tempDir('pulpdist-replicas-');
  ({ dir, cleanup } = t);
  trees = path.join(dir, 'trees');
  mkdirSync(trees, { recursive: true });
  sites.push(await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [trees] }));
  sites.push(await startSite({ dataDir: path.join(dir, 'hub') }));
  sites.push(await startSite({ dataDir: path.join(dir, 'leaf') }));
  const site = (name: string, url: string, upstream?: string) => `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: ${name}}\nspec:\n  pulp: {url: "${url}"}\n${upstream ? `  upstream: ${upstream}\n` : ''}`;
  ({ bare, work } = makeRepo(dir, 'specs', {
    'sites.yaml': [site('origin', sites[0]!.url), site('hub', sites[1]!.url, 'origin'), site('leaf', sites[2]!.url, 'hub')].join('---\n'),
  }));
  git = await startGitServer(dir);
})();

test.after(async () => {
  for (const r of replicas) {
    try {
      process.kill(r.pid, 'SIGCONT');
    } catch {
      // already gone
    }
    await r.kill().catch(() => undefined);
  }
  await git?.close();
  for (const s of sites) await s.stop().catch(() => undefined);
  await cleanup();
});

let n = 0;
async function replica(): Promise<ControllerProcess> {
  const r = await startControllerProcess(['--repo', `${git!.url}/specs.git`, '--interval', '2s', '--lease', `${LEASE_S}s`, '--lease-renew', '2s', '--state-dir', path.join(dir, `state-${++n}`)]);
  replicas.push(r);
  return r;
}

async function readyz(r: ControllerProcess): Promise<{ status: number; text: string }> {
  try {
    const a = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(2000) });
    return { status: a.status, text: await a.text() };
  } catch {
    return { status: 0, text: 'no answer' };
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out: ${what}\n${replicas.map((r, i) => `replica ${i + 1}:\n${r.log().slice(-1500)}`).join('\n')}`);
}

const active = async (r: ControllerProcess) => ((await readyz(r)).status === 200 ? true : undefined);

function mirror(name: string): string {
  const tree = path.join(trees, name);
  mkdirSync(tree, { recursive: true });
  for (let i = 0; i < 3; i++) writeFileSync(path.join(tree, `f${i}.txt`), `${name} ${i}\n`);
  writeFiles(work, { [`mirrors/${name}.yaml`]: `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: ${name}}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, hub, leaf]\n` });
  return commitAndPush(work, `add ${name}`);
}

const synced = (name: string) => async (r: ControllerProcess): Promise<true | undefined> => {
  // A replica that does not answer is not Synced yet; `until` shows its log if it never does.
  const d = (await fetch(`${r.url}/api/v1/status`).then((a) => a.json()).catch(() => undefined)) as StatusDocument | undefined;
  if (!d) return undefined;
  const m = d.mirrors.find((x) => x.name === name);
  return m && m.sites.length === 3 && m.sites.every((c) => c.state === 'Synced') ? true : undefined;
};

async function repositories(site: RunningSite): Promise<number> {
  return ((await (await fetch(`${site.url}/pulp/api/v3/repositories/file/file/?name=pulpdist.four`)).json()) as { count: number }).count;
}

async function taskCount(site: RunningSite): Promise<number> {
  return ((await (await fetch(`${site.url}/pulp/api/v3/tasks/?limit=1`)).json()) as { count: number }).count;
}

test('one active, one standby; SIGKILL of the active → the standby takes over within 2 × the lease and converges a new mirror', async () => {
  await ready;
  const a = await replica();
  await until('a active', () => active(a));
  assert.match(a.log(), /controller started .*leaseMs=12000 leaseRenewMs=2000/, 'the lease options reach the lease');
  const b = await replica();
  // b has looked at the lease by the time it answers standby.
  const standby = await until('b standby', async () => {
    const r = await readyz(b);
    return r.status === 503 && /standby \(the active replica is .+:\d+:[0-9a-f]{6}\)/.test(r.text) ? r.text : undefined;
  });
  assert.match(standby, /^not ready: standby/);
  // Polled: on a loaded machine one /readyz may not answer within its 2 s.
  await until('a still active', async () => ((await readyz(a)).text.startsWith('ready: active') ? true : undefined));
  // The page says which replica it is, and which one is active.
  assert.match(await (await fetch(`${b.url}/`)).text(), /<dt>Replica<\/dt><dd class="replica">standby \(the active replica is [^)]+\)<\/dd>/);
  assert.match(await (await fetch(`${a.url}/`)).text(), '<dt>Replica</dt><dd class="replica">active</dd>');
  mirror('one');
  await until('one Synced (by a)', () => synced('one')(a));
  assert.match(await (await fetch(`${b.url}/metrics`)).text(), /^pulpdist_replica_active 0$/m);

  const killedAt = Date.now();
  await a.kill();
  await until('b active', () => active(b), 4 * LEASE_S * 1000);
  const takeover = Date.now() - killedAt;
  assert.ok(takeover <= 2 * LEASE_S * 1000 + 2000, `took over in ${takeover} ms (lease ${LEASE_S} s)`);
  mirror('two');
  await until('two Synced (by b)', () => synced('two')(b));
  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  assert.match(metrics, /^pulpdist_replica_active 1$/m);
  assert.match(metrics, /^pulpdist_lease_transitions_total 1$/m);
});

test('paused past its lease, then resumed: the old active writes nothing and exits 1', async () => {
  await ready;
  const b = replicas[1]!;
  const c = await replica();
  await until('c standby', async () => ((await readyz(c)).status === 503 ? true : undefined));
  // The standby shows what the active one commits: a mirror b converges appears Synced at c too.
  mirror('three');
  await until('three Synced (by b)', () => synced('three')(b));
  await until('three Synced as the standby c shows it', () => synced('three')(c));
  process.kill(b.pid, 'SIGSTOP');
  await until('c active', () => active(c), 4 * LEASE_S * 1000);
  // c has the lease; pause it as well, so that whatever changes next can only be b's doing.
  await until('c has ended its first pass', async () => (/INFO  pass pass=1 /.test(c.log()) ? true : undefined));
  process.kill(c.pid, 'SIGSTOP');
  await new Promise((r) => setTimeout(r, 500));
  // Work for b if it were not fenced: a new mirror to create at every site, and a status to commit.
  mirror('four');
  const statusHead = runGit(['rev-parse', 'refs/heads/pulpdist/status'], bare);
  const tasks = await Promise.all(sites.map(taskCount));
  const logBefore = b.log().length;
  process.kill(b.pid, 'SIGCONT');
  const code = await Promise.race([b.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 30_000))]);
  assert.is(code, 1, `b exits 1 once it finds the lease lost; log:\n${b.log().slice(logBefore)}`);
  const after = b.log().slice(logBefore);
  // The reason depends on what it was doing when paused (a renewal in flight times out at once).
  assert.match(after, /lease lost: this replica stops; its service manager starts it again as a standby reason="the lease (is held by|could not be renewed|ran out)/);
  assert.not.match(after, /status committed/);
  assert.is(runGit(['rev-parse', 'refs/heads/pulpdist/status'], bare), statusHead, 'no status commit from b');
  assert.equal(await Promise.all(sites.map(taskCount)), tasks, 'no Pulp task from b');
  assert.equal(await Promise.all(sites.map(repositories)), sites.map(() => 0), 'no repository for the new mirror from b');
  process.kill(c.pid, 'SIGCONT');
  await until('c active again', () => active(c), 4 * LEASE_S * 1000);
  await until('four Synced (by c)', () => synced('four')(c));
});

test.run();
