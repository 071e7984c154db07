/**
 * Item 5 of issue 8, specs: a corpus of malformed spec files (test/faults/corpus/, with the expected
 * LINE:COLUMN, rule and message in corpus/expected.md). Each must give its positioned problem from
 * the loader, from `pulpdist validate`, and from `pulpdist apply`, which must change nothing at a
 * real site even though a valid mirror sits next to the bad file.
 */
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { loadSpecFiles } from '../../spec/load.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startSite, type RunningSite } from '../../testkit/site.js';
import { mirrorDoc } from './support.js';

const CORPUS = path.join(PACKAGE_ROOT, 'test', 'faults', 'corpus');

interface Row {
  file: string;
  line: number;
  column: number;
  rule: string;
  contains: string;
}

async function table(): Promise<Row[]> {
  const text = await readFile(path.join(CORPUS, 'expected.md'), 'utf8');
  return text
    .split('\n')
    .filter((l) => /^\| \d\d-/.test(l))
    .map((l) => {
      const [file, pos, rule, contains] = l.slice(2, -2).split(/ \| /);
      const [line, column] = pos!.split(':').map(Number);
      return { file: file!, line: line!, column: column!, rule: rule!, contains: contains!.replace(/\\\|/g, '|') };
    });
}

/** Rules that compare documents: their finding depends on which other files are loaded. */
const CROSS_RULES = new Set(['duplicate-name', 'unknown-site', 'base-path-conflict', 'upstream-cycle', 'origin-not-in-sites']);

let rows: Row[] = [];
let dir = '';
let cleanup = async (): Promise<void> => {};
let site: RunningSite | undefined;

test.before(async () => {
  rows = await table();
  ({ dir, cleanup } = await tempDir('pulpdist-faults-specs-'));
});

test.after(async () => {
  await site?.stop();
  await cleanup();
});

test('the corpus has at least 40 files and the table lists each exactly once', async () => {
  const files = (await readdir(CORPUS)).filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(files.length >= 40, `${files.length} files`);
  assert.equal(rows.map((r) => r.file), files);
});

test('loader: each file gives its first error at the expected position, rule and message; every problem is inside the file', async () => {
  for (const row of rows) {
    const content = await readFile(path.join(CORPUS, row.file));
    const r = loadSpecFiles([{ path: row.file, content }]);
    const errors = r.problems.filter((p) => p.severity === 'error');
    assert.ok(errors.length > 0, `${row.file}: no error`);
    const first = errors[0]!;
    assert.is(`${first.line}:${first.column} ${first.rule}`, `${row.line}:${row.column} ${row.rule}`, row.file);
    assert.ok(first.message.includes(row.contains), `${row.file}: "${first.message}" lacks "${row.contains}"`);
    const lines = content.toString('latin1').split('\n').length;
    for (const p of r.problems) assert.ok(p.line >= 1 && p.line <= lines && p.column >= 1, `${row.file}: ${p.line}:${p.column} outside the file`);
  }
});

test('pulpdist validate --format json: the same first error per file, exit 1', async () => {
  const r = await runCli(['validate', '--format', 'json', CORPUS]);
  assert.is(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; files: number; problems: { file: string; line: number; column: number; rule: string; severity: string }[] };
  assert.is(out.ok, false);
  assert.is(out.files, rows.length);
  for (const row of rows) {
    const mine = out.problems.filter((p) => path.basename(p.file) === row.file && p.severity === 'error').map((p) => `${p.line}:${p.column} ${p.rule}`);
    // All files are one spec set here: cross-document rules may add problems (every file names a
    // site "origin") or report a conflict against another file; per-file problems must be there.
    if (CROSS_RULES.has(row.rule)) assert.ok(mine.length > 0, `${row.file}: no error`);
    else assert.ok(mine.includes(`${row.line}:${row.column} ${row.rule}`), `${row.file}: ${mine.join(', ')}`);
  }
});

test('pulpdist apply: a bad file of each family of rules next to a valid mirror → exit 1, its problem on stderr, nothing created at the site', async () => {
  const trees = path.join(dir, 'trees');
  await mkdir(path.join(trees, 'good'), { recursive: true });
  await writeFile(path.join(trees, 'good', 'file.txt'), 'good\n');
  site = await startSite({ allowedImportPaths: [trees] });
  const run = async (row: Row): Promise<void> => {
    const specs = path.join(dir, row.file.replace(/\.yaml$/, ''));
    await mkdir(specs, { recursive: true });
    const original = await readFile(path.join(CORPUS, row.file));
    // Point the corpus's site at the real one: were a bad file ever applied, it would show there.
    const text = original.toString('latin1').includes('https://o.example.com')
      ? Buffer.from(original.toString('utf8').replace('https://o.example.com', site!.url))
      : original;
    if (text === original) await copyFile(path.join(CORPUS, row.file), path.join(specs, row.file));
    else await writeFile(path.join(specs, row.file), text);
    await writeFile(path.join(specs, 'zz-good.yaml'), mirrorDoc({ name: 'good', source: { path: path.join(trees, 'good') }, origin: 'origin', sites: ['origin'] }));
    const r = await runCli(['apply', '--specs', specs], { env: { XDG_CACHE_HOME: path.join(dir, 'cache') } });
    assert.is(r.code, 1, `${row.file}: ${r.stdout}${r.stderr}`);
    assert.is(r.stdout, '', `${row.file}: nothing planned`);
    assert.match(r.stderr, new RegExp(`^\\S*/${row.file.replace(/\./g, '\\.')}:${row.line}:\\d+: error: `, 'm'), `${row.file}: ${r.stderr}`);
    assert.match(r.stderr, /^error: the specs have \d+ problems?; nothing was planned or changed$/m, row.file);
    assert.not.match(r.stderr, /internal error|\n\s+at /, `${row.file}: no stack trace`);
  };
  // One file for each family of rules keeps the suite fast; the loader test above covers every
  // file, and apply refuses whenever the loader reports an error.
  const families = ['yaml-syntax', 'duplicate-key', 'alias-limit', 'file-binary', 'document-shape', 'api-version', 'kind', 'schema', 'source-kind', 'cron',
    'inline-secret', 'unknown-site', 'upstream-cycle', 'base-path-conflict'];
  const queue = families.map((f) => rows.find((r) => r.rule === f));
  assert.ok(queue.every((r) => r !== undefined), 'every family has a corpus file');
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      for (let row = queue.shift(); row; row = queue.shift()) await run(row);
    }),
  );
  for (const kind of ['repositories', 'remotes', 'distributions']) {
    const r = await fetch(`${site.url}/pulp/api/v3/${kind}/file/file/`);
    assert.is(((await r.json()) as { count: number }).count, 0, `no ${kind} at the site`);
  }
});

test.run();
