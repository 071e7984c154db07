/**
 * History survives restarts, and status is never written from nothing (issue 15 items 7 and 9):
 * `pulpdist run` as a child process over a local bare repository and two real embedded sites.
 * The first pass after a restart is held by stopping a site's process (SIGSTOP), so the document
 * served before that pass ends can be checked; SIGCONT lets it finish.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SCHEMA_DIR } from '../../core/paths.js';
import type { StatusDocument } from '../../core/status.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { commitAndPush, makeRepo, runGit, startGitServer, writeFiles } from '../../testkit/git-server.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

const siteYaml = (name: string, url: string, extra = ''): string =>
  `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: ${name}}\nspec:\n  pulp: {url: "${url}"}\n${extra}`;
const mirrorYaml = (name: string, tree: string): string =>
  `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: ${name}}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, leaf]\n`;

let dir = '';
let cleanup: () => Promise<void> = async () => {};
const sites: RunningSite[] = [];
let bare = '';
let work = '';
let trees = '';
let ctl: ControllerProcess | undefined;
let stopped: RunningSite | undefined;

function makeTree(name: string, files: number, size: number): string {
  const root = path.join(trees, name);
  for (let i = 0; i < files; i++) {
    mkdirSync(path.join(root, `d${i % 3}`), { recursive: true });
    writeFileSync(path.join(root, `d${i % 3}`, `f${i}.bin`), Buffer.alloc(size, `${name}-${i}-`));
  }
  return root;
}

async function getStatus(url: string): Promise<StatusDocument> {
  const r = await fetch(`${url}/api/v1/status`);
  assert.is(r.status, 200);
  return (await r.json()) as StatusDocument;
}

async function waitFor<T>(what: string, get: () => Promise<T> | T, pred: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await (async () => get())().catch(() => last);
    if (last !== undefined && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 2000)}\nlog:\n${ctl?.log().slice(-3000)}`);
}

/** `mirror@site` → the value of pulpdist_last_sync_success_timestamp_seconds. */
async function lastSuccessGauges(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^pulpdist_last_sync_success_timestamp_seconds\{mirror="([^"]+)",site="([^"]+)"\} (\S+)$/gm)) out.set(`${m[1]}@${m[2]}`, Number(m[3]));
  return out;
}

const ajv = new Ajv.default({ allErrors: true, strict: true });
addFormats.default(ajv);
const validDoc = ajv.compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'status.schema.json'), 'utf8')) as object);
const assertValid = (d: StatusDocument, what: string): void => assert.ok(validDoc(d), `${what}: ${JSON.stringify(validDoc.errors)}`);

const cellsOf = (d: StatusDocument, mirror: string) => d.mirrors.find((m) => m.name === mirror)?.sites ?? [];
const statusFile = (p: string): string => runGit(['show', `pulpdist/status:status/${p}`], bare);
const runArgs = (): string[] => ['--repo', bare, '--path', 'specs', '--interval', '1h', '--state-dir', path.join(dir, 'state'), '--log-format', 'json'];

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-history-'));
  trees = path.join(dir, 'trees');
  mkdirSync(trees, { recursive: true });
  sites.push(await startSite({ dataDir: path.join(dir, 'site-origin'), allowedImportPaths: [trees] }));
  sites.push(await startSite({ dataDir: path.join(dir, 'site-leaf') }));
  ({ bare, work } = makeRepo(dir, 'specs', {
    'specs/sites/origin.yaml': siteYaml('origin', sites[0]!.url),
    'specs/sites/leaf.yaml': siteYaml('leaf', sites[1]!.url, '  upstream: origin\n'),
    'specs/mirrors/tools.yaml': mirrorYaml('tools', makeTree('tools', 5, 300)),
  }));
});

test.after(async () => {
  if (stopped) process.kill(stopped.pid, 'SIGCONT');
  await ctl?.kill().catch(() => undefined);
  for (const s of sites) await s.stop().catch(() => undefined);
  await cleanup();
});

test('restart: lastSync, the last-success metric and the page are whole before and after the first new pass', async () => {
  ctl = await startControllerProcess(runArgs());
  const first = await waitFor('tools synced at both sites', () => getStatus(ctl!.url), (d) =>
    cellsOf(d, 'tools').length === 2 && cellsOf(d, 'tools').every((c) => c.state === 'Synced' && c.lastSync?.result === 'completed'));
  await waitFor('the status commit with both syncs', () => statusFile('mirrors/tools.yaml'), (t) => (t.match(/result: completed/g) ?? []).length === 2);
  assertValid(first, 'the document');
  // Propagation time, where people look: the JSON, the page, `pulpdist status`.
  const leafProp = cellsOf(first, 'tools').find((c) => c.site === 'leaf')?.propagationSeconds;
  assert.is(typeof leafProp, 'number', JSON.stringify(cellsOf(first, 'tools')));
  assert.ok(leafProp! >= 0 && leafProp! < 60);
  assert.is(cellsOf(first, 'tools').find((c) => c.site === 'origin')?.propagationSeconds, null);
  assert.match(await (await fetch(`${ctl.url}/`)).text(), /data-site="leaf"[^]*?<span class="prop"[^>]*>⇢ [\d.]+m?s<\/span>/);
  const term = await runCli(['status', '--server', ctl.url]);
  assert.match(term.stdout, /^tools\s+Synced v1 \S+\s+Synced v1 \S+ \+[\d.]+m?s\s/m, term.stdout);
  const gauges = await lastSuccessGauges(ctl.url);
  assert.equal([...gauges.keys()].sort(), ['tools@leaf', 'tools@origin']);
  for (const c of cellsOf(first, 'tools')) assert.is(gauges.get(`tools@${c.site}`), Date.parse(c.lastSync!.finishedAt!) / 1000);
  assert.is(await ctl.stop(), 0, ctl.log().slice(-2000));

  // Hold the next pass: the leaf answers nothing until SIGCONT.
  stopped = sites[1]!;
  process.kill(stopped.pid, 'SIGSTOP');
  ctl = await startControllerProcess(runArgs());
  const before = await getStatus(ctl.url);
  assert.is.not(before.controller.startedAt, first.controller.startedAt, 'a new process');
  assert.ok(before.controller.lastPass === null || before.controller.lastPass.result === 'running', JSON.stringify(before.controller.lastPass));
  assert.is(before.controller.observedCommit, first.controller.observedCommit);
  assert.equal(cellsOf(before, 'tools'), cellsOf(first, 'tools'), 'the last known placements, lastSync included');
  assertValid(before, 'the restored document');
  assert.equal(await lastSuccessGauges(ctl.url), gauges);
  const page = await (await fetch(`${ctl.url}/`)).text();
  assert.match(page, /data-mirror="tools"/);
  assert.not.match(page, /never synced/);
  assert.match(ctl.log(), /history restored from the status branch/);

  process.kill(stopped.pid, 'SIGCONT');
  stopped = undefined;
  const after = await waitFor('the first pass after the restart', () => getStatus(ctl!.url), (d) => d.controller.lastPass?.result === 'succeeded');
  for (const c of cellsOf(after, 'tools')) {
    const was = cellsOf(first, 'tools').find((x) => x.site === c.site)!;
    assert.is(c.state, 'Synced');
    assert.equal(c.lastSync, was.lastSync, `${c.site}: no new sync, the old one is kept`);
  }
  assert.equal(await lastSuccessGauges(ctl.url), gauges);
  assert.is(await ctl.stop(), 0);
  ctl = undefined;
});

test('run --branch nosuch: usage error, exit 2, the status branch untouched', async () => {
  const head = runGit(['rev-parse', 'pulpdist/status'], bare);
  const r = await runCli(['run', '--repo', bare, '--branch', 'nosuch', '--once', '--state-dir', path.join(dir, 'state')]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /error: --branch nosuch: branch "nosuch" not found in .*specs\.git \(branches: main, pulpdist\/status\)/);
  assert.not.match(r.stderr, /at .*\.js:\d+/);
  assert.is(runGit(['rev-parse', 'pulpdist/status'], bare), head);
  // The same over http(s), where the server is asked.
  const git = await startGitServer(dir);
  try {
    const h = await runCli(['run', '--repo', `${git.url}/specs.git`, '--branch', 'nosuch', '--once', '--state-dir', path.join(dir, 'state-http')]);
    assert.is(h.code, 2, h.stderr);
    assert.match(h.stderr, /error: --branch nosuch: branch "nosuch" not found at http:\/\/127\.0\.0\.1:\d+\/specs\.git\n/);
  } finally {
    await git.close();
  }
  assert.is(runGit(['rev-parse', 'pulpdist/status'], bare), head);
});

test('run --once cut short by its deadline: the last known state stays, and the log counts what was done', async () => {
  const applied = runGit(['rev-parse', 'main'], bare);
  const known = statusFile('mirrors/tools.yaml');
  assert.match(known, /state: Synced/);
  // 100 files of 8 KiB through a 16 KiB/s cap at the leaf: the pass is still syncing at 4 s.
  writeFiles(work, {
    'specs/mirrors/big.yaml': mirrorYaml('big', makeTree('big', 100, 8192)),
    'specs/sites/leaf.yaml': siteYaml('leaf', sites[1]!.url, '  upstream: origin\n  limits: {bandwidth: 16KiB/s, concurrentSyncs: 1}\n'),
  });
  commitAndPush(work, 'add big');
  const r = await runCli(['run', ...runArgs(), '--once', '--pass-deadline', '4s']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /pass exceeded its deadline/);
  const summary = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'pass' || l.message === 'pass');
  assert.ok(summary, r.stderr.slice(-3000));
  assert.ok((summary!.changes as number) >= 4, `creates and the origin's sync ran: ${JSON.stringify(summary)}`);
  assert.is(summary!.failed, 1, 'the leaf sync, canceled by the deadline');
  const controller = statusFile('controller.yaml');
  assert.match(controller, new RegExp(`observedCommit: ${applied}`));
  const tools = statusFile('mirrors/tools.yaml');
  assert.is((tools.match(/state: Synced/g) ?? []).length, 2, tools);
  assert.not.match(tools, /version: null/);
});

test.run();
