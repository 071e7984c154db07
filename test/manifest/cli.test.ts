import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, runCli, runProcess, tempDir, type CliResult } from '../../testkit/cli.js';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { BAD_NAMES, LISTED_FILES, NON_UTF8_REPORTED, buildOddTree, expectedManifest, sha256, writeFiles } from './fixture.js';

let dir = '';
let cleanup = async () => {};
let closeSocket = async () => {};
const SIMPLE = { 'a.txt': 'a', 'd/b.txt': 'bb', 'd/c,d.txt': '' };

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-manifest-cli-'));
  fs.mkdirSync(path.join(dir, 'odd'));
  ({ close: closeSocket } = await buildOddTree(path.join(dir, 'odd')));
  fs.mkdirSync(path.join(dir, 'simple'));
  writeFiles(path.join(dir, 'simple'), SIMPLE);
});
test.after(async () => {
  await closeSocket();
  await cleanup();
});

test('odd tree: exact manifest on stdout, each unrepresentable name on stderr, exit 3', async () => {
  const r = await runCli(['manifest', path.join(dir, 'odd'), '--no-cache']);
  assert.is(r.stdout, expectedManifest());
  assert.is(r.code, 3, r.stderr);
  for (const bad of [...BAD_NAMES, NON_UTF8_REPORTED]) {
    assert.ok(r.stderr.includes(`warning: left out ${JSON.stringify(bad)}: `), `${JSON.stringify(bad)} in\n${r.stderr}`);
  }
  assert.match(r.stderr, /warning: left out "line\\nbreak.txt": contains a line break\n/);
  assert.match(r.stderr, /warning: left out "#top.txt": a top-level name starting with # reads as a comment\n/);
  assert.match(r.stderr, /warning: left out " lead dir\/": starts or ends with whitespace \(a directory: everything below it\)\n/);
  assert.match(r.stderr, /warning: left out "bad-\\\\xff.txt": its name is not valid UTF-8\n/);
  assert.match(r.stderr, /warning: left out "q\?\.txt": contains "\?": Pulp would read the rest of the name as a URL query\n/);
  assert.match(r.stderr, /warning: left out "pct%dir\/": contains "%": .* \(a directory: everything below it\)\n/);
  assert.match(r.stderr, new RegExp(`^${BAD_NAMES.length + 1} files left out: names Pulp cannot carry$`, 'm'));
  assert.match(r.stderr, /not listed \(not regular files; Pulp serves only files\): 1 symlink, 1 socket, 1 fifo\n/);
  assert.match(r.stderr, /warning: left out symlink "dangling" -> "\/nonexistent": its target does not exist\n/);
  assert.match(r.stderr, /symlinks: 2 followed, 1 left out/);
  assert.match(r.stderr, new RegExp(`^${Object.keys(LISTED_FILES).length} files, `, 'm'));
  assert.match(r.stderr, new RegExp(`tree digest: sha256:${sha256(expectedManifest())}\n`));
  assert.not.match(r.stderr, /\r/); // no progress line when stderr is not a terminal
});

test('`pulpdist manifest` runs from its one-file bundle, which needs no other compiled module', async () => {
  // Only the shim, the bundle and the hash threads' two modules: any other import would fail.
  const install = path.join(dir, 'install');
  fs.mkdirSync(path.join(install, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(install, 'dist', 'manifest'), { recursive: true });
  fs.writeFileSync(path.join(install, 'package.json'), '{"type":"module"}');
  fs.copyFileSync(BIN, path.join(install, 'bin', 'pulpdist.js'));
  for (const f of ['bundle.js', 'hash-worker.js', 'hash-protocol.js']) {
    fs.copyFileSync(path.join(PACKAGE_ROOT, 'dist', 'manifest', f), path.join(install, 'dist', 'manifest', f));
  }
  const shim = path.join(install, 'bin', 'pulpdist.js');
  const out = path.join(dir, 'bundled.manifest');
  const cache = path.join(dir, 'bundled.cache');
  for (const extra of [['--exclude', 'nothing-*'], []]) {
    const r = await runProcess([process.execPath, shim, '--debug', 'manifest', path.join(dir, 'simple'), '-o', out, '--cache', cache, ...extra]);
    assert.is(r.code, 0, r.stderr);
    assert.is(fs.readFileSync(out, 'utf8'), expectedManifest(SIMPLE));
  }
  assert.match((await runProcess([process.execPath, shim, 'manifest', path.join(dir, 'simple'), '--cache', cache])).stderr, /0 hashed \(0 B\), 3 from cache/);
  // Every other command still goes through the whole CLI, which this copy lacks.
  const other = await runProcess([process.execPath, shim, 'validate']);
  assert.is(other.code, 2);
  assert.match(other.stderr, /^error: pulpdist is not built\n/);
});

test('a clean tree exits 0; -o writes the file atomically and leaves stdout empty', async () => {
  const out = path.join(dir, 'simple.manifest');
  const r = await runCli(['manifest', path.join(dir, 'simple'), '-o', out, '--no-cache']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, '');
  assert.is(fs.readFileSync(out, 'utf8'), expectedManifest(SIMPLE));
  assert.equal(fs.readdirSync(dir).filter((n) => n.includes('simple.manifest')), ['simple.manifest']);
});

test('an output file inside the tree does not list itself, on the first run or the next', async () => {
  const root = path.join(dir, 'self');
  fs.mkdirSync(root);
  writeFiles(root, SIMPLE);
  for (const name of ['PULP_MANIFEST', 'sub/MANIFEST.txt']) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    for (let run = 0; run < 2; run++) {
      const r = await runCli(['manifest', root, '-o', path.join(root, name), '--no-cache']);
      assert.is(r.code, 0, r.stderr);
      const text = fs.readFileSync(path.join(root, name), 'utf8');
      // PULP_MANIFEST at the root is never listed; sub/MANIFEST.txt would be, from the second run, were it not omitted.
      assert.is(text, expectedManifest(SIMPLE), `${name}, run ${run}`);
    }
  }
});

test('an output file that cannot be written is an error naming it (exit 1, no stack trace)', async () => {
  const out = path.join(dir, 'no-such-dir', 'PULP_MANIFEST');
  const r = await runCli(['manifest', path.join(dir, 'simple'), '-o', out, '--no-cache']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^error: cannot write the manifest ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(ENOENT\\)`, 'm'));
  assert.not.match(r.stderr, /internal error|at .*\.js:\d+/);
});

test('--json: digest, stats and entries; --exclude applies', async () => {
  const r = await runCli(['manifest', path.join(dir, 'simple'), '--json', '--no-cache', '--exclude', 'c,d.txt']);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const expected = { 'a.txt': 'a', 'd/b.txt': 'bb' };
  assert.is(report.digest, sha256(expectedManifest(expected)));
  assert.equal(report.entries.map((x: { relativePath: string }) => x.relativePath), ['a.txt', 'd/b.txt']);
  assert.equal([report.stats.files, report.stats.bytes, report.stats.excluded], [2, 3, 1]);
  assert.is(report.output, null);
});

test('the default cache goes under $XDG_CACHE_HOME/pulpdist/', async () => {
  const xdg = path.join(dir, 'xdg');
  const r = await runCli(['manifest', path.join(dir, 'simple')], { env: { XDG_CACHE_HOME: xdg } });
  assert.is(r.code, 0, r.stderr);
  const files = fs.readdirSync(path.join(xdg, 'pulpdist'));
  assert.is(files.length, 1);
  assert.match(files[0]!, /^manifest-[0-9a-f]{32}\.cache$/);
});

/**
 * Run the CLI as an unprivileged user when we are root, since root reads everything. The clone may
 * sit below a directory that user cannot enter (a `mktemp -d` is 0700), so the user runs a copy of
 * the program (bin/, dist/, package.json: the manifest command needs no node_modules) in `dir`.
 */
function runAsUser(args: string[]): Promise<CliResult> {
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  let bin = BIN;
  if ('uid' in asNobody) {
    const copy = path.join(dir, 'program');
    if (!fs.existsSync(copy)) {
      const root = path.dirname(path.dirname(BIN));
      for (const part of ['bin', 'dist', 'package.json']) fs.cpSync(path.join(root, part), path.join(copy, part), { recursive: true });
    }
    bin = path.join(copy, 'bin', path.basename(BIN));
  }
  return runProcess([process.execPath, bin, ...args], { ...asNobody, env: { ...process.env, HOME: dir } });
}

test('unreadable files and directories: each named, exit 1, no manifest written', async () => {
  const root = path.join(dir, 'locked');
  fs.mkdirSync(root);
  writeFiles(root, { 'ok.txt': 'ok', 'secret.txt': 'no', 'closed/inside.txt': 'no' });
  fs.chmodSync(path.join(root, 'secret.txt'), 0o000);
  fs.chmodSync(path.join(root, 'closed'), 0o000);
  const outDir = path.join(dir, 'locked-out');
  fs.mkdirSync(outDir);
  for (const d of [dir, root, outDir]) fs.chmodSync(d, 0o777);
  const out = path.join(outDir, 'PULP_MANIFEST');
  fs.writeFileSync(out, 'the previous manifest\n');
  fs.chmodSync(out, 0o666);
  try {
    const r = await runAsUser(['manifest', root, '-o', out, '--no-cache']);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error: 2 paths under .* could not be read: "closed" \(EACCES\), "secret.txt" \(EACCES\); /);
    assert.match(r.stderr, /no manifest was written/);
    assert.not.match(r.stderr, /at .*\.js:\d+/);
    assert.is(r.stdout, '');
    assert.is(fs.readFileSync(out, 'utf8'), 'the previous manifest\n');
  } finally {
    fs.chmodSync(dir, 0o700);
    fs.chmodSync(path.join(root, 'closed'), 0o755);
  }
});

test('on a terminal, a progress line on stderr, cleared before the summary', async () => {
  // script(1) runs the command on a pseudo-terminal, so that stderr.isTTY is true.
  const out = path.join(dir, 'tty.manifest');
  const r = await new Promise<CliResult>((resolve, reject) => {
    const cmd = [process.execPath, BIN, 'manifest', path.join(dir, 'simple'), '-o', out, '--no-cache'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
  });
  assert.is(r.code, 0, r.stdout);
  // No cache: sizes are learnt as the files are read, so the first line cannot know the total.
  assert.match(r.stdout, /\r\x1b\[Khashing: 0\/3 files, 0 B\/\?, /);
  assert.match(r.stdout, /\r\x1b\[Khashing: 3\/3 files, 3 B\/3 B, /);
  assert.match(r.stdout, /\r\x1b\[K3 files, 3 B in /);
  assert.is(fs.readFileSync(out, 'utf8'), expectedManifest(SIMPLE));
});

test('a reader that closes stdout early (| head) gets no stack trace: exit 141', async () => {
  const root = path.join(dir, 'many');
  const files: Record<string, string> = {};
  for (let i = 0; i < 50; i++) files[`f${i}.txt`] = String(i);
  writeFiles(root, files);
  const r = await new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'manifest', root, '--no-cache'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Close our end at once, as `head` does once it has its lines: the child's first write fails.
    child.stdout.destroy();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: '', stderr }));
  });
  assert.is(r.code, 141, r.stderr);
  assert.not.match(r.stderr, /EPIPE|at .*\.js:\d+/);
  assert.match(r.stderr, /^50 files, /m);
});

test('stderr that is a full non-blocking pipe loses no line and keeps their order', async () => {
  // 1,500 names Pulp cannot carry: ~120 KB of warnings, more than a pipe holds (64 KiB here).
  const root = path.join(dir, 'warnings');
  const files: Record<string, string> = {};
  for (let i = 0; i < 1500; i++) files[`q?${String(i).padStart(4, '0')}.txt`] = '';
  writeFiles(root, files);
  const fifo = path.join(dir, 'stderr.fifo');
  assert.is((await runProcess(['mkfifo', fifo])).code, 0);
  // Opened read-write, the FIFO needs no reader to open. Node's spawn makes a child's descriptors
  // 0–2 blocking, so the FIFO goes in as descriptor 3 and sh makes it the command's stderr, still
  // non-blocking (as a parent that is not Node may hand it over).
  const wfd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const rfd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const argv = [process.execPath, BIN, 'manifest', root, '--no-cache', '-o', path.join(dir, 'warnings.manifest')];
  const child = spawn('sh', ['-c', 'exec "$@" 2>&3 3>&-', 'sh', ...argv], { stdio: ['ignore', 'ignore', 'ignore', wfd] });
  fs.closeSync(wfd);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Nothing is read until the pipe has been full for a while: the child's writes met EAGAIN.
  await new Promise((r) => setTimeout(r, 1500));
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  for (;;) {
    let n = 0;
    try {
      n = fs.readSync(rfd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
    if (n > 0) chunks.push(Buffer.from(buf.subarray(0, n)));
    else if (code !== undefined) break;
    else await new Promise((r) => setTimeout(r, 10));
  }
  fs.closeSync(rfd);
  assert.is(code, 3);
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  const warned = lines.filter((l) => l.startsWith('warning: left out "q?'));
  assert.is(warned.length, 1500);
  assert.equal(warned.map((l) => /^warning: left out "q\?(\d{4})\.txt"/.exec(l)?.[1]), Object.keys(files).map((n) => n.slice(2, 6)));
  assert.match(lines.slice(1500).join('\n'), /^1500 files left out: names Pulp cannot carry$/m);
});

test('bad arguments exit 2 with the usage', async () => {
  const cases: [string[], RegExp][] = [
    [['manifest'], /TREE is missing/],
    [['manifest', path.join(dir, 'nope')], /no such directory/],
    [['manifest', path.join(dir, 'simple', 'a.txt')], /not a directory/],
    [['manifest', path.join(dir, 'simple'), '--workers', '0'], /--workers must be an integer from 1 to 256, got "0"/],
    [['manifest', path.join(dir, 'simple'), '--cache', 'x', '--no-cache'], /exclude each other/],
    [['manifest', 'a', 'b'], /one TREE expected, got 2/],
    [['manifest', path.join(dir, 'simple'), '--exclude', '/'], /the exclude pattern "\/" cannot be used: the pattern is empty/],
  ];
  for (const [args, why] of cases) {
    const r = await runCli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /usage: pulpdist manifest TREE/);
  }
});

test('--help documents the exit codes', async () => {
  const r = await runCli(['manifest', '--help']);
  assert.is(r.code, 0);
  for (const line of [/^ {2}0 {2}the manifest was written$/m, /^ {2}1 {2}error: /m, /^ {2}2 {2}bad arguments/m, /^ {2}3 {2}the manifest was written, but files whose names Pulp cannot carry were left out$/m]) {
    assert.match(r.stdout, line);
  }
});

test.run();
