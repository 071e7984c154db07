/**
 * The controller's events, end to end: `pulpdist run` (a child process) with an EventSink in the
 * spec repository (a real Git server) posting signed CloudEvents to a real HTTP receiver, over two
 * real embedded sites. A pushed mirror gives, in order: sync.started and sync.succeeded at the
 * origin, then at the leaf, then tree.propagated; a site that stops answering gives
 * site.unreachable; /metrics counts what the sink delivered.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { startEventReceiver, type EventReceiver } from '../../testkit/event-receiver.js';
import { commitAndPush, makeRepo, startGitServer, writeFiles, type RunningGitServer } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

const KEY = 'hook-key-for-the-controller-events-test';
let cleanup: () => Promise<void> = async () => {};
let git: RunningGitServer | undefined;
let receiver: EventReceiver | undefined;
const sites: RunningSite[] = [];
let ctl: ControllerProcess | undefined;

const ready = (async () => {
  const t = await tempDir('pulpdist-ctl-events-');
  cleanup = t.cleanup;
  const trees = path.join(t.dir, 'trees');
  const tree = path.join(trees, 'tools');
  mkdirSync(tree, { recursive: true });
  for (let i = 0; i < 5; i++) writeFileSync(path.join(tree, `f${i}.txt`), `file ${i} of the events test\n`.repeat(50));
  receiver = await startEventReceiver({ key: KEY });
  sites.push(await startSite({ dataDir: path.join(t.dir, 'origin'), allowedImportPaths: [trees] }));
  sites.push(await startSite({ dataDir: path.join(t.dir, 'leaf') }));
  const { work } = makeRepo(t.dir, 'specs', {
    'sites.yaml': `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: origin}\nspec:\n  pulp: {url: "${sites[0]!.url}"}\n---\napiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: leaf}\nspec:\n  pulp: {url: "${sites[1]!.url}"}\n  upstream: origin\n`,
    'sinks.yaml': `apiVersion: pulpdist/v1\nkind: EventSink\nmetadata: {name: hook}\nspec:\n  http: {url: "${receiver.url}/", secretEnv: HOOK_KEY, mode: structured}\n`,
  });
  git = await startGitServer(t.dir);
  ctl = await startControllerProcess(['--repo', `${git.url}/specs.git`, '--interval', '2s', '--state-dir', path.join(t.dir, 'state')], { env: { HOOK_KEY: KEY } });
  return { work, tree };
})();

test.after(async () => {
  await ctl?.kill().catch(() => undefined);
  await git?.close();
  await receiver?.close();
  for (const s of sites) await s.stop().catch(() => undefined);
  await cleanup();
});

async function status(): Promise<StatusDocument> {
  return (await (await fetch(`${ctl!.url}/api/v1/status`)).json()) as StatusDocument;
}

const types = (): string[] => receiver!.events.map((e) => `${String(e.event.type).replace('org.pulpdist.', '')} ${String(e.event.subject ?? '')}`);

test('a pushed mirror: started and succeeded at each site in topological order, then propagated; signed, counted in /metrics', async () => {
  const { work, tree } = await ready;
  const end = Date.now() + 120_000;
  while (Date.now() < end && (await status()).controller.observedCommit === null) await new Promise((r) => setTimeout(r, 100));
  writeFiles(work, { 'mirrors/tools.yaml': `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: tools}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, leaf]\n` });
  commitAndPush(work, 'add tools');
  while (Date.now() < end && !types().includes('tree.propagated tools')) await new Promise((r) => setTimeout(r, 100));
  assert.equal(types(), ['sync.started tools@origin', 'sync.succeeded tools@origin', 'sync.started tools@leaf', 'sync.succeeded tools@leaf', 'tree.propagated tools'], `${JSON.stringify(types())}\n${ctl!.log().split('\n').filter((l) => !l.startsWith('INFO  pass ')).join('\n').slice(-3000)}`);
  assert.ok(receiver!.events.every((e) => e.signed), 'every request signed with the sink\'s key');
  const doc = await status();
  const digest = doc.mirrors.find((m) => m.name === 'tools')!.treeDigest;
  const succeeded = receiver!.events.filter((e) => e.event.type === 'org.pulpdist.sync.succeeded').map((e) => e.event.data as { treeDigest: string; bytes: number; files: number; task?: string });
  for (const d of succeeded) {
    assert.is(d.treeDigest, digest);
    assert.ok(d.bytes > 0 && d.files === 5, JSON.stringify(d));
    assert.match(d.task ?? '', /^\/pulp\/api\/v3\/tasks\//);
  }
  const propagated = receiver!.events.at(-1)!.event.data as { sites: string[]; treeDigest: string };
  assert.equal(propagated.sites, ['leaf', 'origin']);
  assert.is(propagated.treeDigest, digest);
  const metrics = await (await fetch(`${ctl!.url}/metrics`)).text();
  const delivered = Number(/^pulpdist_events_delivered_total\{sink="hook",kind="http"\} (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(delivered >= 5, `delivered counted: ${delivered}`);
  assert.match(metrics, /^pulpdist_event_sink_up\{sink="hook",kind="http"\} 1$/m);
});

test('a site that stops answering: site.unreachable, once', async () => {
  await ready;
  const before = receiver!.events.length;
  await sites[1]!.stop();
  const end = Date.now() + 60_000;
  while (Date.now() < end && !types().includes('site.unreachable leaf')) await new Promise((r) => setTimeout(r, 100));
  // Two more passes (the interval is 2 s): the state did not change, nothing more is said.
  const passes = (await status()).controller.lastPass?.finishedAt;
  while (Date.now() < end && (await status()).controller.lastPass?.finishedAt === passes) await new Promise((r) => setTimeout(r, 200));
  assert.equal(types().slice(before).filter((t) => t.startsWith('site.')), ['site.unreachable leaf']);
  const e = receiver!.events.find((x) => x.event.type === 'org.pulpdist.site.unreachable')!;
  assert.is(e.event.severity, 'error');
});

test.run();
