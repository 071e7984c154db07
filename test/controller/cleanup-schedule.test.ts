/**
 * The controller's orphan cleanup (issue 22): `pulpdist run` cleans each site every
 * `orphanCleanup.interval`, never two at once and never while a sync runs there, and shows the
 * last cleanup in /api/v1/status. A real controller process on a local spec repository, a real
 * embedded site whose syncs are slowed by `limits.bandwidth`; the site's own task list is the
 * record checked.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { makeRepo } from '../../testkit/git-server.js';
import { call, startSite, type RunningSite } from '../../testkit/site.js';

const INTERVAL_S = 4;
let dir = '';
let cleanup: () => Promise<void> = async () => {};
let site: RunningSite | undefined;
let ctl: ControllerProcess | undefined;

interface TaskRow { name: string; state: string; started_at: string | null; finished_at: string | null }

async function tasks(): Promise<TaskRow[]> {
  const r = await call(site!, 'GET', '/pulp/api/v3/tasks/?limit=1000');
  return r.body.results as TaskRow[];
}
const cleanups = (ts: TaskRow[]) => ts.filter((t) => t.name === 'pulpcore.app.tasks.orphan.orphan_cleanup');
const syncs = (ts: TaskRow[]) => ts.filter((t) => t.name === 'pulp_file.app.tasks.synchronizing.synchronize');

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await get();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 2000)}\nlog:\n${ctl?.log().slice(-3000)}`);
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-cleanup-schedule-'));
  const tree = path.join(dir, 'trees', 'big');
  mkdirSync(tree, { recursive: true });
  writeFileSync(path.join(tree, 'one.bin'), randomBytes(1_500_000));
  site = await startSite({ dataDir: path.join(dir, 'site'), allowedImportPaths: [path.join(dir, 'trees')] });
  const { bare } = makeRepo(dir, 'specs', {
    'specs/site.yaml': [
      'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', 'spec:', `  pulp: {url: "${site.url}"}`,
      '  limits: {bandwidth: 1MiB/s}', `  orphanCleanup: {interval: ${INTERVAL_S}s, protectionTime: 0s}`, '',
    ].join('\n'),
    'specs/mirror.yaml': ['apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: big}', 'spec:', `  source: {path: "${tree}"}`, '  origin: origin', '  sites: [origin]', ''].join('\n'),
  });
  ctl = await startControllerProcess(['--repo', bare, '--path', 'specs', '--interval', '1s', '--status-branch', '', '--state-dir', path.join(dir, 'state')]);
});

test.after(async () => {
  await ctl?.stop().catch(() => undefined);
  await site?.stop().catch(() => undefined);
  await cleanup();
});

test('cleanups every interval, none during a sync, the last one in the status', async () => {
  // The first sync (1.5 MB at 1 MiB/s) and the cleanups after it.
  await until('a first cleanup', tasks, (ts) => cleanups(ts).length >= 1 && syncs(ts).some((t) => t.state === 'completed'));
  // A change to the tree: a second slow sync while cleanups keep coming due.
  writeFileSync(path.join(dir, 'trees', 'big', 'two.bin'), randomBytes(1_500_000));
  const ts = await until('two syncs and three cleanups', tasks, (x) => syncs(x).filter((t) => t.state === 'completed').length >= 2 && cleanups(x).filter((t) => t.state === 'completed').length >= 3);
  const span = (t: TaskRow) => [Date.parse(t.started_at!), Date.parse(t.finished_at!)] as const;
  const done = cleanups(ts).filter((t) => t.state === 'completed').map(span).sort((a, b) => a[0] - b[0]);
  for (const s of syncs(ts).filter((t) => t.started_at && t.finished_at).map(span)) {
    for (const c of done) assert.ok(c[1] < s[0] || c[0] > s[1], `cleanup ${JSON.stringify(c)} overlaps sync ${JSON.stringify(s)}`);
  }
  // Never two at once, and never sooner than the interval after the one before.
  for (let i = 1; i < done.length; i++) assert.ok(done[i]![0] - done[i - 1]![1] >= INTERVAL_S * 1000 - 50, `cleanups ${i - 1} and ${i} only ${done[i]![0] - done[i - 1]![1]} ms apart`);
  assert.ok(cleanups(ts).every((t) => t.state === 'completed'), 'every cleanup completed');
  const doc = (await (await fetch(`${ctl!.url}/api/v1/status`)).json()) as StatusDocument;
  const s = doc.sites.find((x) => x.name === 'origin')!;
  assert.is(s.lastCleanup?.result, 'completed');
  assert.ok(s.storage && s.storage.total > 0);
  assert.match(ctl!.log(), /orphan cleanup/);
});

test.run();
