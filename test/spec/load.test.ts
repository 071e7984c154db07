/**
 * What loading gives: fully defaulted specs (the contract the controller reads), and the disk walk
 * of `loadSpecPaths` over real temp directories (hidden entries, node_modules, symlink loops, names).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EXAMPLE_SPECS_DIR } from '../../core/paths.js';
import { loadSpecFiles, loadSpecPaths } from '../../spec/load.js';
import { MAX_FILE_BYTES } from '../../spec/source-file.js';
import { tempDir } from '../../testkit/cli.js';
import { MIRROR_BODY, SITES, load, mirror, where } from './fixtures.js';

test('the example mirrors/ load without problems into defaulted specs', async () => {
  const names = ['sites/origin.yaml', 'sites/hub.yaml', 'sites/leaf.yaml', 'mirrors/fedora-40.yaml', 'mirrors/epel-9.yaml', 'mirrors/tools.yaml'];
  const files = await Promise.all(names.map(async (n) => ({ path: `mirrors/${n}`, content: await readFile(path.join(EXAMPLE_SPECS_DIR, n)) })));
  const r = loadSpecFiles(files);
  assert.equal(r.problems, []);
  assert.equal([r.files, r.documents], [6, 6]);
  assert.equal(r.specs.sites.map((s) => [s.name, s.upstream ?? null]), [['hub', 'origin'], ['leaf', 'hub'], ['origin', null]]);
  assert.equal(r.specs.mirrors.map((m) => m.name), ['epel-9', 'fedora-40', 'tools']);
  assert.equal(r.specs.sites[0], {
    name: 'hub',
    labels: { role: 'hub' },
    pulp: {
      url: 'https://pulp.hub.example.com',
      apiRoot: '/pulp/api/v3/',
      contentOrigin: 'https://pulp.hub.example.com',
      tlsValidation: true,
      auth: { username: 'admin', passwordEnv: 'PULPDIST_HUB_PASSWORD' },
    },
    upstream: 'origin',
    limits: { concurrentSyncs: 2, downloadConcurrency: 10, bandwidth: 50 * 1024 * 1024 },
    orphanCleanup: { enabled: true, intervalMs: 86_400_000, protectionMs: 3_600_000 },
    storage: { freeSpaceWarning: 0.1 },
    position: { file: 'mirrors/sites/hub.yaml', line: 2, column: 1 },
  });
  assert.equal(r.specs.mirrors[0], {
    name: 'epel-9',
    labels: { product: 'epel' },
    source: { kind: 'manifest', url: 'https://trees.example.com/epel/9/x86_64/PULP_MANIFEST' },
    origin: 'origin',
    sites: ['origin', 'hub', 'leaf'],
    basePath: 'epel/9/x86_64',
    retainVersions: 3,
    suspend: false,
    schedule: { intervalMs: 6 * 3600_000 },
    position: { file: 'mirrors/mirrors/epel-9.yaml', line: 2, column: 1 },
  });
  const tools = r.specs.mirrors[2]!;
  assert.equal([tools.sites, tools.basePath, tools.schedule, tools.source], [['origin', 'leaf'], 'tools', { cron: '30 2 * * *' }, { kind: 'path', path: '/srv/trees/tools' }]);
  assert.is(r.specs.sites[2]!.limits.bandwidth, 25_000_000);
});

test('a minimal site and mirror get every default', () => {
  const r = load({ 's.yaml': 'apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: s}\nspec: {pulp: {url: "https://pulp.s.example.com/"}}\n' + '---\n' + mirror('  source: {path: /t}\n  origin: s\n  sites: [s]\n', 'm') });
  assert.equal(r.problems, []);
  const s = r.specs.sites[0]!;
  assert.equal(s.pulp, { url: 'https://pulp.s.example.com', apiRoot: '/pulp/api/v3/', contentOrigin: 'https://pulp.s.example.com', tlsValidation: true });
  assert.equal(s.limits, { concurrentSyncs: 2, downloadConcurrency: 10 });
  assert.equal([s.labels, s.upstream], [{}, undefined]);
  const m = r.specs.mirrors[0]!;
  assert.equal([m.basePath, m.retainVersions, m.suspend, m.labels, m.schedule], ['m', 3, false, {}, undefined]);
  assert.equal(m.position, { file: 's.yaml', line: 6, column: 1 });
});

test('with errors, specs keep the valid documents only, and stay sorted', () => {
  const r = load({ 's.yaml': SITES, 'b.yaml': mirror(MIRROR_BODY, 'zeta'), 'a.yaml': mirror(MIRROR_BODY + '  retainVersions: 0\n', 'alpha'), 'c.yaml': mirror(MIRROR_BODY, 'beta') });
  assert.equal(where(r), ['a.yaml:8:19 error schema']);
  assert.equal(r.specs.mirrors.map((m) => m.name), ['beta', 'zeta']);
  assert.equal(r.specs.sites.map((s) => s.name), ['hub', 'origin']);
});

test('document refs carry kind and name, for reports', () => {
  const r = load({ 's.yaml': SITES + '---\nfoo: bar\n' });
  assert.equal(
    r.documentRefs?.map((d) => [d.index, d.line, d.endLine, d.kind ?? null, d.name ?? null]),
    [
      [1, 1, 4, 'Site', 'origin'],
      [2, 6, 9, 'Site', 'hub'],
      [3, 11, 11, null, null],
    ],
  );
});

test('loadSpecPaths walks a tree: yaml and yml, no hidden entries, no node_modules, the user\'s path in names', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const root = path.join(dir, 'specs');
    await mkdir(path.join(root, 'sites', 'deep'), { recursive: true });
    await mkdir(path.join(root, '.git'), { recursive: true });
    await mkdir(path.join(root, 'node_modules', 'x'), { recursive: true });
    await writeFile(path.join(root, 'sites', 'deep', 'all.yml'), SITES);
    await writeFile(path.join(root, 'm.yaml'), mirror(MIRROR_BODY + '  basepath: x\n'));
    await writeFile(path.join(root, 'README.md'), '# not a spec: {');
    await writeFile(path.join(root, '.gitlab-ci.yml'), 'stages: [test]\n');
    await writeFile(path.join(root, '.git', 'bad.yaml'), '{');
    await writeFile(path.join(root, 'node_modules', 'x', 'bad.yaml'), '{');
    // A symlink back up the tree must not loop.
    await symlink(root, path.join(root, 'sites', 'loop'));
    const r = await loadSpecPaths([path.join(dir, 'specs') + '/']);
    assert.equal([r.files, r.documents], [2, 3]);
    assert.equal(r.fileNames, [path.join(dir, 'specs', 'm.yaml'), path.join(dir, 'specs', 'sites', 'deep', 'all.yml')]);
    assert.equal(r.problems.map((p) => `${p.file}:${p.line}:${p.column}`), [`${root}/m.yaml:8:3`]);
    // A file named directly is read whatever its name; the same file twice counts once.
    const again = await loadSpecPaths([path.join(root, '.gitlab-ci.yml'), root, path.join(root, 'm.yaml')]);
    assert.equal(again.files, 3);
    assert.ok(again.problems.some((p) => p.file === path.join(root, '.gitlab-ci.yml') && p.rule === 'api-version'));
  } finally {
    await cleanup();
  }
});

test('loadSpecPaths: a missing path is a UsageError; a huge file is refused unread', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const err = await loadSpecPaths([path.join(dir, 'nope')]).catch((e: unknown) => e);
    assert.is((err as { code?: string }).code, 'UsageError');
    assert.match(String((err as Error).message), /does not exist/);
    const dev = await loadSpecPaths(['/dev/null']).catch((e: unknown) => e);
    assert.is((dev as { code?: string }).code, 'UsageError');
    assert.match(String((dev as Error).message), /"\/dev\/null" is not a file or a directory/);
    await mkdir(path.join(dir, 'empty', '.hidden'), { recursive: true });
    await writeFile(path.join(dir, 'empty', '.hidden', 'x.yaml'), SITES);
    const none = await loadSpecPaths([path.join(dir, 'empty')]);
    assert.equal([none.files, none.documents], [0, 0]);
    assert.equal(none.problems.map((p) => [p.file, p.line, p.column, p.severity, p.rule]), [[path.join(dir, 'empty'), 1, 1, 'error', 'no-spec-files']]);
    const allowed = await loadSpecPaths([path.join(dir, 'empty')], { allowEmpty: true });
    assert.equal(allowed.problems.map((p) => p.severity), ['warning']);
    await writeFile(path.join(dir, 'big.yaml'), Buffer.alloc(MAX_FILE_BYTES * 3, 0x61));
    const r = await loadSpecPaths([path.join(dir, 'big.yaml')]);
    assert.equal(r.problems.map((p) => [path.basename(p.file), p.line, p.column, p.rule]), [['big.yaml', 1, 1, 'file-too-large']]);
  } finally {
    await cleanup();
  }
});

test.run();
