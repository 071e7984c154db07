import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../../testkit/cli.js';

test('--help lists every command of the design', async () => {
  const r = await runCli(['--help']);
  assert.is(r.code, 0);
  for (const c of ['validate', 'plan', 'apply', 'run', 'site', 'manifest', 'status', 'demo']) {
    assert.match(r.stdout, new RegExp(`^  ${c}\\s`, 'm'));
  }
});

test('an unknown command is a usage error (exit 2)', async () => {
  const r = await runCli(['frobnicate']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /error: unknown command "frobnicate"/);
});

test('every command answers --help with its usage', async () => {
  for (const c of ['validate', 'plan', 'apply', 'run', 'site', 'manifest', 'status', 'demo']) {
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

test.run();
