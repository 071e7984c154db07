import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { runCli } from '../../testkit/cli.js';
import { editDistance, nearest } from '../../cli/suggest.js';

test('--help lists every command of the design', async () => {
  const r = await runCli(['--help']);
  assert.is(r.code, 0);
  for (const c of ['validate', 'plan', 'apply', 'run', 'site', 'manifest', 'status', 'demo', 'cleanup']) {
    assert.match(r.stdout, new RegExp(`^  ${c}\\s`, 'm'));
  }
});

test('an unknown command is a usage error (exit 2)', async () => {
  const r = await runCli(['frobnicate']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /error: unknown command "frobnicate"/);
});

test('every command answers --help with its usage', async () => {
  for (const c of ['validate', 'plan', 'apply', 'run', 'site', 'manifest', 'status', 'demo', 'cleanup']) {
    const r = await runCli([c, '--help']);
    assert.is(r.code, 0, c);
    assert.match(r.stdout, new RegExp(`^usage: pulpdist ${c}`), c);
  }
});

test('an unknown option is a usage error naming it', async () => {
  const r = await runCli(['validate', '--no-such-flag']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--no-such-flag/);
  assert.not.match(r.stderr, /at .*\.js:\d+/);
});

test('--version prints the version package.json states', async () => {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const r = await runCli(['--version']);
  assert.is(r.code, 0);
  assert.is(r.stdout.trim(), `pulpdist ${pkg.version}`);
});

test('a mistyped option or command gets the nearest one; a far one gets none', async () => {
  const opt = await runCli(['plan', '--spec', 'mirrors']);
  assert.is(opt.code, 2);
  assert.match(opt.stderr, /^error: unknown option '--spec'; did you mean --specs\?$/m);
  const cmd = await runCli(['stauts']);
  assert.is(cmd.code, 2);
  assert.match(cmd.stderr, /^error: unknown command "stauts"; did you mean "status"\?$/m);
  const far = await runCli(['validate', '--bogus']);
  assert.match(far.stderr, /^error: unknown option '--bogus'$/m);
  const early = await runCli(['--bogus']);
  assert.is(early.code, 2);
  assert.match(early.stderr, /^error: unknown option "--bogus"\nreason: options come after the command/m);
  assert.not.match(early.stderr, /unknown command/);
});

test('nearest: typos within a third of the length, unique prefixes, nothing for other words', () => {
  const table: [string, string[], string | undefined][] = [
    ['--spec', ['--specs', '--format', '--site'], '--specs'],
    ['--fromat', ['--specs', '--format'], '--format'],
    ['--allow-mass-delet', ['--allow-mass-delete'], '--allow-mass-delete'],
    ['--allow', ['--allow-empty', '--context'], '--allow-empty'],
    ['--bogus', ['--specs', '--format', '--site', '--help'], undefined],
    ['vlidate', ['validate', 'plan'], 'validate'],
    ['x', ['plan', 'run'], undefined],
  ];
  for (const [word, known, want] of table) assert.is(nearest(word, known), want, word);
  assert.is(editDistance('kitten', 'sitting'), 3);
  assert.is(editDistance('', 'abc'), 3);
});

test('the README\'s way of running pulpdist from the checkout works, in a subdirectory too', async () => {
  const { readFile } = await import('node:fs/promises');
  const { spawnSync } = await import('node:child_process');
  const readme = await readFile(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
  assert.match(readme, /`npx pulpdist …` from any directory inside the checkout/);
  assert.match(readme, /`npm link` once in the checkout/);
  for (const cwd of [PACKAGE_ROOT, path.join(PACKAGE_ROOT, 'mirrors', 'sites')]) {
    // --no-install: a registry package of the same name must never stand in for this checkout.
    // ignore-scripts: on first use npx installs the checkout into its cache and runs its `prepare`
    // (a full rebuild of dist/ in place), which raced the test files running beside this one: they
    // loaded half-written modules ("does not provide an export named …") on fresh clones.
    const r = spawnSync('npx', ['--no-install', 'pulpdist', '--version'], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, npm_config_ignore_scripts: 'true' } });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim(), 'pulpdist 0.1.0'.replace('0.1.0', JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version));
  }
});

test('the demo prints a pulpdist command that works outside the checkout', async () => {
  const { selfCommand } = await import('../../cli/commands/demo.js');
  assert.is(selfCommand('/usr/local/bin/pulpdist'), 'pulpdist');
  assert.is(selfCommand(path.join(PACKAGE_ROOT, 'bin', 'pulpdist.js')), `node ${path.join(PACKAGE_ROOT, 'bin', 'pulpdist.js')}`);
  assert.is(selfCommand('/opt/my tools/bin/pulpdist.js'), `node '/opt/my tools/bin/pulpdist.js'`);
});

test.run();
