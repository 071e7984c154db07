/**
 * Failures that speak and a mass delete approved through Git, end to end: `pulpdist run` (a child
 * process) against a real Git server (`git http-backend`) and two real embedded sites, the hub
 * requiring a password. Issue 15 items 4 and 5.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { commitAndPush, makeRepo, runGit, startGitServer, writeFiles, type RunningGitServer } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

const siteYaml = (name: string, url: string, extra = ''): string => `apiVersion: pulpdist/v1
kind: Site
metadata: {name: ${name}}
spec:
  pulp: {url: "${url}"${extra}}
${name === 'hub' ? '  upstream: origin\n' : ''}`;
const hubYaml = (url: string, passwordEnv: string): string => siteYaml('hub', url, `, auth: {username: admin, passwordEnv: ${passwordEnv}}`);
const mirrorYaml = (name: string, tree: string): string => `apiVersion: pulpdist/v1
kind: Mirror
metadata: {name: ${name}}
spec:
  source: {path: ${tree}}
  origin: origin
  sites: [origin, hub]
`;

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let git: RunningGitServer | undefined;
let origin: RunningSite | undefined;
let hub: RunningSite | undefined;
let work = '';
let trees = '';
let ctl: ControllerProcess | undefined;

async function getStatus(url: string): Promise<StatusDocument> {
  const r = await fetch(`${url}/api/v1/status`);
  assert.is(r.status, 200);
  return (await r.json()) as StatusDocument;
}

async function waitFor<T>(get: () => Promise<T>, pred: (v: T) => boolean, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await get().catch(() => last);
    if (last !== undefined && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last, null, 1)?.slice(0, 3000)}\nlog:\n${ctl?.log().slice(-3000)}`);
}

const waitStatus = (pred: (d: StatusDocument) => boolean, what: string): Promise<StatusDocument> => waitFor(() => getStatus(ctl!.url), pred, what);
const cells = (d: StatusDocument): Record<string, string> =>
  Object.fromEntries(d.mirrors.flatMap((m) => m.sites.map((c) => [`${m.name}@${c.site}`, c.state])));
const logLines = (re: RegExp): string[] => ctl!.log().split('\n').filter((l) => re.test(l));
/** Passes finished so far (the summary line each logs). */
const passes = (): number => logLines(/^INFO +pass /).length;

async function distributions(site: RunningSite): Promise<string[]> {
  const r = await fetch(`${site.url}/pulp/api/v3/distributions/file/file/`, { headers: site.authHeader ? { authorization: site.authHeader } : {} });
  assert.is(r.status, 200);
  return ((await r.json()) as { results: { name: string }[] }).results.map((x) => x.name).sort();
}

function makeTree(name: string, files: number): string {
  const root = path.join(trees, name);
  for (let i = 0; i < files; i++) {
    mkdirSync(path.join(root, 'd'), { recursive: true });
    writeFileSync(path.join(root, 'd', `f${i}.bin`), Buffer.alloc(300, `${name}-${i}-`));
  }
  return root;
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-failures-e2e-'));
  trees = path.join(dir, 'trees');
  origin = await startSite({ dataDir: path.join(dir, 'site-origin'), allowedImportPaths: [trees] });
  hub = await startSite({ dataDir: path.join(dir, 'site-hub'), username: 'admin', password: 'hub-secret' });
  ({ work } = makeRepo(dir, 'specs', {
    'specs/sites/origin.yaml': siteYaml('origin', origin.url),
    // The wrong variable: the controller's HUB_PW_OLD holds a stale password.
    'specs/sites/hub.yaml': hubYaml(hub.url, 'HUB_PW_OLD'),
    'specs/mirrors/alpha.yaml': mirrorYaml('alpha', makeTree('alpha', 3)),
    'specs/mirrors/beta.yaml': mirrorYaml('beta', makeTree('beta', 2)),
  }));
  git = await startGitServer(dir);
  ctl = await startControllerProcess(
    ['--repo', `${git.url}/specs.git`, '--path', 'specs', '--interval', '1s', '--state-dir', path.join(dir, 'state')],
    { env: { HUB_PW_OLD: 'stale-password', HUB_PW: 'hub-secret' } },
  );
});

test.after(async () => {
  await ctl?.kill().catch(() => undefined);
  await git?.close();
  for (const s of [origin, hub]) await s?.stop().catch(() => undefined);
  await cleanup();
});

test('a wrong password: the hub\'s placements are Failed with the 401 and the variable, one log line however many passes; its recovery is logged', async () => {
  const doc = await waitStatus((d) => cells(d)['alpha@hub'] === 'Failed' && cells(d)['alpha@origin'] === 'Synced', 'alpha Failed at the hub');
  const hubCell = doc.mirrors.find((m) => m.name === 'alpha')!.sites.find((c) => c.site === 'hub')!;
  assert.match(hubCell.message, /^site hub: GET \S+ answered 401 \(Pulp rejected the credentials.*\); check the password of user "admin" in environment variable HUB_PW_OLD/);
  assert.not.match(hubCell.message, /hub: .*hub: /);
  const after = passes();
  await waitFor(async () => passes(), (n) => n >= after + 3, 'three more passes');
  const lines = logLines(/401/);
  assert.is(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /ERROR/);
  assert.match(lines[0]!, /site=hub/);
  assert.not.match(ctl!.log(), /stale-password|hub-secret/);
  assert.ok(logLines(/failures? persist/).length >= 2, 'persisting failures are counted');
  // The status's lastPass says it once as well.
  assert.match((await getStatus(ctl!.url)).controller.lastPass?.message ?? '', /^hub: GET \S+ answered 401 \(Pulp rejected the credentials/);

  writeFiles(work, { 'specs/sites/hub.yaml': hubYaml(hub!.url, 'HUB_PW') });
  const fixed = commitAndPush(work, 'hub: the current password variable');
  await waitStatus((d) => d.controller.observedCommit === fixed && Object.values(cells(d)).every((s) => s === 'Synced'), 'every placement Synced');
  const recovered = await waitFor(async () => logLines(/recovered/), (l) => l.length > 0, 'the recovery line');
  assert.is(recovered.length, 1, recovered.join('\n'));
  assert.match(recovered[0]!, /INFO/);
  assert.match(recovered[0]!, /site=hub/);
});

test('a vanished source tree: its origin placement is Failed saying so, without CLI advice, one ERROR line; back → Synced', async () => {
  const tree = path.join(trees, 'beta');
  renameSync(tree, `${tree}.away`);
  const doc = await waitStatus((d) => cells(d)['beta@origin'] === 'Failed', 'beta Failed at the origin');
  const cell = doc.mirrors.find((m) => m.name === 'beta')!.sites.find((c) => c.site === 'origin')!;
  assert.is(cell.message, `source unreadable: ${tree}: no such directory`);
  assert.is(cells(doc)['beta@hub'], 'Synced');
  const lines = logLines(/source unreadable/);
  assert.is(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /ERROR.*mirror=beta/);
  renameSync(`${tree}.away`, tree);
  await waitStatus((d) => cells(d)['beta@origin'] === 'Synced', 'beta Synced again');
});

test('every mirror removed: the placements still served are Blocked with counts (JSON, page, one sentence); a commit with the trailer prunes them', async () => {
  writeFiles(work, { 'specs/mirrors/alpha.yaml': null, 'specs/mirrors/beta.yaml': null });
  const removed = commitAndPush(work, 'remove every mirror');
  const doc = await waitStatus((d) => d.controller.observedCommit === removed && Object.keys(cells(d)).length === 4, 'the held placements');
  assert.equal(cells(doc), { 'alpha@hub': 'Blocked', 'alpha@origin': 'Blocked', 'beta@hub': 'Blocked', 'beta@origin': 'Blocked' });
  const alpha = doc.mirrors.find((m) => m.name === 'alpha')!;
  for (const c of alpha.sites) {
    assert.is(c.files, 3);
    assert.match(c.message, /^held by the mass-delete guard: mirror alpha is gone from the specs; deleting it would stop serving 3 files \(900 B\) here$/);
  }
  const message = doc.controller.lastPass?.message ?? '';
  assert.is(message.match(/mass delete/g)?.length, 1, message);
  assert.match(message, /4 of 4 managed mirror placements would be deleted \(2 mirrors: alpha, beta\).*10 files \(2\.9 KiB\) would stop being served.*Pulpdist-Allow-Mass-Delete: yes/, message);
  const page = await (await fetch(`${ctl!.url}/`)).text();
  assert.not.match(page, /No mirrors yet/);
  assert.match(page, /alpha/);
  assert.match(page, /Blocked/);
  // Nothing was deleted, and the guard's sentence was logged once, then counted.
  assert.equal(await distributions(origin!), ['pulpdist.alpha', 'pulpdist.beta']);
  const after = passes();
  await waitFor(async () => passes(), (n) => n >= after + 2, 'two more passes');
  assert.is(logLines(/mass delete/).length, 1);

  runGit(['commit', '-q', '--allow-empty', '-m', 'approve removing every mirror\n\nPulpdist-Allow-Mass-Delete: yes'], work);
  runGit(['push', '-q', 'origin', 'main'], work);
  const approved = runGit(['rev-parse', 'HEAD'], work);
  const pruned = await waitStatus((d) => d.controller.observedCommit === approved && d.mirrors.length === 0, 'the placements pruned');
  assert.is(pruned.controller.lastPass?.result, 'succeeded');
  assert.equal(await distributions(origin!), []);
  assert.equal(await distributions(hub!), []);
  assert.ok(logLines(/recovered/).some((l) => /mass delete/.test(l)), 'the held deletes recover');
});

test.run();
