/** `pulpdist run` and `pulpdist demo` as a user meets them: usage errors, bad repositories, --once. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { makeRepo, runGit } from '../../testkit/git-server.js';

test('run: a missing --repo and a bad duration are usage errors (exit 2), no stack', async () => {
  const a = await runCli(['run']);
  assert.is(a.code, 2);
  assert.match(a.stderr, /error: --repo is required/);
  const b = await runCli(['run', '--repo', '.', '--interval', 'soon']);
  assert.is(b.code, 2);
  assert.match(b.stderr, /--interval must be a duration such as 500ms, 30s, 5m or 1h, got "soon"/);
  const c = await runCli(['run', '--repo', '.', '--log-format', 'xml']);
  assert.is(c.code, 2);
  for (const r of [a, b, c]) assert.not.match(r.stderr, /at .*\.js:\d+/);
});

test('run: --lease and --lease-renew are checked before anything starts (exit 2, the reason)', async () => {
  const cases: [string[], RegExp][] = [
    [['--lease', '2s'], /--lease must be at least 3s/],
    [['--lease-renew', '5s'], /--lease-renew needs --lease/],
    [['--lease', '30s', '--lease-renew', '20s'], /--lease-renew must be between 500ms and a third of --lease \(30s\), got 20s/],
    [['--lease', '30s', '--lease-renew', 'often'], /--lease-renew must be a duration such as 500ms, 30s, 5m or 1h, got "often"/],
  ];
  for (const [args, want] of cases) {
    const r = await runCli(['run', '--repo', '.', ...args]);
    assert.is(r.code, 2, args.join(' '));
    assert.match(r.stderr, want);
    assert.not.match(r.stderr, /at .*\.js:\d+/);
  }
});

test('run: a repository that does not exist, or an unset webhook secret, exits 1 saying what to fix', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const a = await runCli(['run', '--repo', `${dir}/nope`, '--once']);
    assert.is(a.code, 1);
    assert.match(a.stderr, /error: repository .*nope does not exist \(--repo\)/);
    const b = await runCli(['run', '--repo', dir, '--webhook-secret-env', 'PULPDIST_TEST_UNSET_SECRET'], { env: { PULPDIST_TEST_UNSET_SECRET: undefined } });
    assert.is(b.code, 1);
    assert.match(b.stderr, /PULPDIST_TEST_UNSET_SECRET, but that environment variable is not set/);
  } finally {
    await cleanup();
  }
});

test('run --once: an invalid commit exits 1 and its problems are in the status commit', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { work } = makeRepo(dir, 'specs', { 'specs/m.yaml': 'apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: Bad_Name}\n' });
    const r = await runCli(['run', '--repo', work, '--path', 'specs', '--once', '--state-dir', `${dir}/state`]);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /spec commit is invalid and is not applied/);
    const controller = runGit(['show', 'pulpdist/status:status/controller.yaml'], work);
    assert.match(controller, /file: specs\/m\.yaml/);
    assert.match(controller, /observedCommit: null/);
  } finally {
    await cleanup();
  }
});

test.run();
