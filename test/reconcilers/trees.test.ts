/**
 * A real tree end to end (issue 16): a Fedora-like tree with file and directory symlinks (one
 * dangling, one leaving the tree, one looping), scratch files left out by `exclude`, a name Pulp
 * cannot carry, and an update-in-progress marker; three real `pulpdist site` processes and the
 * real `pulpdist` binary. Asserts what plan says and what the leaf serves, byte for byte.
 */
import fs from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startControllerProcess } from '../../testkit/controller-process.js';
import { runGit } from '../../testkit/git-server.js';
import { siteYaml, startSite, type RunningSite } from '../../testkit/site.js';

const NAMES = ['origin', 'hub', 'leaf'] as const;
const MARKER = 'Archive-Update-in-Progress-mirror1';
let dir = '';
let cleanup: () => Promise<void> = async () => {};
const sites = new Map<string, RunningSite>();
let specsDir = '';
let tree = '';
let env: Record<string, string> = {};

/** The tree's regular files. */
const FILES: Record<string, string> = {
  '40/Everything/x86_64/os/Packages/b/bash-5.2.rpm': 'bash '.repeat(2000),
  '40/Everything/x86_64/os/repodata/repomd.xml': '<repomd/>\n',
  '40/Everything/x86_64/os/file1.bin': 'file one\n',
  '39/README': 'old release\n',
  'scratch/tmp.iso': 'half an image',
  '40/upload.part': 'half an upload',
  'q?.txt': 'a name Pulp cannot carry',
};

const pulpdist = (...args: string[]) => runCli(args, { env, timeoutMs: 120_000 });

async function get(site: string, rel: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${sites.get(site)!.url}/pulp/content/fedora/${rel.split('/').map(encodeURIComponent).join('/')}`);
  return { status: res.status, body: await res.text() };
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-trees-'));
  const trees = path.join(dir, 'trees');
  tree = path.join(trees, 'fedora');
  for (const [rel, content] of Object.entries(FILES)) {
    await mkdir(path.dirname(path.join(tree, rel)), { recursive: true });
    await writeFile(path.join(tree, rel), content);
  }
  await writeFile(path.join(dir, 'secret.txt'), 'outside the tree');
  fs.symlinkSync('40', path.join(tree, 'latest'));
  fs.symlinkSync('Everything/x86_64/os/file1.bin', path.join(tree, '40', 'file1.bin'));
  fs.symlinkSync('does-not-exist', path.join(tree, 'dangling'));
  fs.symlinkSync('../../secret.txt', path.join(tree, 'escape'));
  fs.symlinkSync('..', path.join(tree, '39', 'up'));
  await writeFile(path.join(tree, MARKER), '');
  for (const n of NAMES) {
    sites.set(n, await startSite({ dataDir: path.join(dir, `site-${n}`), ...(n === 'origin' ? { allowedImportPaths: [trees] } : {}) }));
  }
  specsDir = path.join(dir, 'specs');
  await mkdir(specsDir);
  env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
  const siteDocs = NAMES.map((n, i) => siteYaml(n, sites.get(n)!.url, i > 0 ? { upstream: NAMES[i - 1] } : {}));
  await writeFile(path.join(specsDir, 'sites.yaml'), siteDocs.join('\n---\n') + '\n');
  await writeFile(
    path.join(specsDir, 'fedora.yaml'),
    [
      'apiVersion: pulpdist/v1',
      'kind: Mirror',
      'metadata: {name: fedora}',
      'spec:',
      `  source: {path: "${tree}", inProgressMarker: "Archive-Update-in-Progress-*"}`,
      '  exclude: ["*.part", "/scratch/"]',
      '  origin: origin',
      '  sites: [origin, hub, leaf]',
      '',
    ].join('\n'),
  );
});

test.after(async () => {
  await Promise.all([...sites.values()].map((s) => s.stop()));
  await cleanup();
});

test('an update-in-progress marker: plan says the source is changing; apply publishes nothing', async () => {
  const p = await pulpdist('plan', '--specs', specsDir);
  assert.match(p.stdout, /waiting: source tree changing: .*an update is in progress \("Archive-Update-in-Progress-mirror1"/);
  const a = await pulpdist('apply', '--specs', specsDir);
  assert.not.match(a.stdout, /Converged/);
  assert.is((await get('origin', '39/README')).status, 404);
  assert.is((await get('leaf', '39/README')).status, 404);
});

test('marker removed: the leaf serves the tree with its links, without what was left out', async () => {
  await rm(path.join(tree, MARKER));
  const a = await pulpdist('apply', '--specs', specsDir);
  assert.is(a.code, 0, a.stdout + a.stderr);
  assert.match(a.stdout, /Converged/);
  const served: Record<string, string> = {
    '40/Everything/x86_64/os/Packages/b/bash-5.2.rpm': FILES['40/Everything/x86_64/os/Packages/b/bash-5.2.rpm']!,
    '40/Everything/x86_64/os/file1.bin': FILES['40/Everything/x86_64/os/file1.bin']!,
    '40/file1.bin': FILES['40/Everything/x86_64/os/file1.bin']!,
    'latest/file1.bin': FILES['40/Everything/x86_64/os/file1.bin']!,
    'latest/Everything/x86_64/os/repodata/repomd.xml': FILES['40/Everything/x86_64/os/repodata/repomd.xml']!,
    '39/README': FILES['39/README']!,
  };
  for (const [rel, body] of Object.entries(served)) {
    const r = await get('leaf', rel);
    assert.is(r.status, 200, rel);
    assert.is(r.body, body, rel);
  }
  for (const rel of ['scratch/tmp.iso', '40/upload.part', 'latest/upload.part', 'q?.txt', 'dangling', 'escape', '39/up/39/README', MARKER]) {
    assert.is((await get('leaf', rel)).status, 404, rel);
  }
  // The leaf's manifest lists exactly the followed tree.
  const manifest = (await get('leaf', 'PULP_MANIFEST')).body.trim().split('\n').map((l) => l.slice(0, l.lastIndexOf(',', l.lastIndexOf(',') - 1))).sort();
  assert.equal(manifest, [
    '39/README',
    '40/Everything/x86_64/os/Packages/b/bash-5.2.rpm',
    '40/Everything/x86_64/os/file1.bin',
    '40/Everything/x86_64/os/repodata/repomd.xml',
    '40/file1.bin',
    'latest/Everything/x86_64/os/Packages/b/bash-5.2.rpm',
    'latest/Everything/x86_64/os/file1.bin',
    'latest/Everything/x86_64/os/repodata/repomd.xml',
    'latest/file1.bin',
  ]);
  // plan says what was left out, and a converged mirror plans nothing.
  const p = await pulpdist('plan', '--specs', specsDir);
  assert.is(p.code, 0, p.stdout + p.stderr);
  assert.match(p.stdout, /warning: mirror fedora: 1 file left out: names Pulp cannot carry: "q\?\.txt"/);
  assert.match(p.stdout, /warning: mirror fedora: 3 symlinks left out \(dangling, outside the tree or looping\): "39\/up", "dangling", "escape"/);
  assert.match(p.stdout, /warning: mirror fedora: 3 paths left out by exclude/);
  assert.match(p.stdout, /warning: mirror fedora: (\d+) symlinks? followed: published at/);
});

test('the status says what the scan left out: JSON, page and pulpdist status (a Synced mirror still serves less than the tree)', async () => {
  runGit(['init', '-q', '-b', 'main'], specsDir);
  runGit(['add', '.'], specsDir);
  runGit(['commit', '-q', '-m', 'specs'], specsDir);
  const ctl = await startControllerProcess(['--repo', specsDir, '--status-branch', '', '--interval', '1h', '--state-dir', path.join(dir, 'state')], { env, timeoutMs: 60_000 });
  try {
    const deadline = Date.now() + 60_000;
    type Doc = { mirrors: { name: string; sourceNotes?: string[]; sites: { state: string }[] }[] };
    let doc: Doc | null = null;
    while (Date.now() < deadline) {
      doc = (await (await fetch(`${ctl.url}/api/v1/status`)).json()) as Doc;
      if (doc?.mirrors[0]?.sites.every((s) => s.state === 'Synced')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const fedora = doc?.mirrors.find((m) => m.name === 'fedora');
    assert.ok(fedora?.sites.every((s) => s.state === 'Synced'), JSON.stringify(doc) + ctl.log());
    const notes = fedora!.sourceNotes ?? [];
    assert.ok(notes.some((n) => /^1 file left out: names Pulp cannot carry: "q\?\.txt"/.test(n)), notes.join('\n'));
    assert.ok(notes.some((n) => /^3 paths left out by exclude$/.test(n)), notes.join('\n'));
    const page = await (await fetch(`${ctl.url}/`)).text();
    assert.match(page, /<span class="notes" title="1 file left out: names Pulp cannot carry/);
    assert.match(page, />1 file left out · \d+ symlinks? followed · 3 symlinks left out \(dangling, outside the tree or looping\) · 3 paths left out by exclude</);
    const st = await pulpdist('status', '--server', ctl.url);
    assert.match(st.stdout, /\nsources:\n  fedora: 1 file left out: names Pulp cannot carry: "q\?\.txt"/);
    assert.match(st.stdout, /\n  fedora: 3 paths left out by exclude\n/);
  } finally {
    await ctl.stop();
  }
});

test('a cron-windowed mirror holds a source change until its window; syncOnChange lets it through', async () => {
  const logs = path.join(dir, 'trees', 'logs');
  await mkdir(logs, { recursive: true });
  await writeFile(path.join(logs, 'a.log'), 'version one\n');
  const spec = (extra: string) =>
    writeFile(
      path.join(specsDir, 'logs.yaml'),
      ['apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: logs}', 'spec:', `  source: {path: "${logs}"}`, '  origin: origin', '  sites: [origin, leaf]', `  schedule: {cron: "0 0 1 1 *"${extra}}`, ''].join('\n'),
    );
  const leafLog = async () => (await fetch(`${sites.get('leaf')!.url}/pulp/content/logs/a.log`)).text();
  await spec('');
  const first = await pulpdist('apply', '--specs', specsDir);
  assert.is(first.code, 0, first.stdout + first.stderr);
  assert.is(await leafLog(), 'version one\n', 'a mirror that never synced syncs at once');

  await writeFile(path.join(logs, 'a.log'), 'version two\n');
  const nextJan1 = `${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`;
  const p = await pulpdist('plan', '--specs', specsDir);
  assert.match(p.stdout, new RegExp(`waiting: source changed; held for the cron window until ${nextJan1.replace(/\./g, '\\.')}`));
  await pulpdist('apply', '--specs', specsDir);
  assert.is(await leafLog(), 'version one\n', 'held: the leaf still serves the old tree');

  await spec(', syncOnChange: true');
  const a = await pulpdist('apply', '--specs', specsDir);
  assert.is(a.code, 0, a.stdout + a.stderr);
  assert.is(await leafLog(), 'version two\n');
});

test.run();
