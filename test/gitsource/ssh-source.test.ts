/**
 * The SSH Git source against a real OpenSSH server on 127.0.0.1 (Debian's openssh-server, started
 * here with a temp host key and an authorized_keys holding a temp deploy key): clone, fetch after
 * a force-push, status commits pushed with compare-and-swap, `ssh://` and scp-like URLs, and the
 * two failures an operator meets first (unknown host key, a key the server refuses), whose
 * messages name files but never a key's contents. Then `pulpdist run --once` end to end over SSH.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/logger.js';
import type { StatusDocument } from '../../core/status.js';
import { openGitSource } from '../../gitsource/source.js';
import { isSshUrl } from '../../gitsource/ssh.js';
import { createStatusWriter } from '../../status/writer.js';
import { runCli, tempDir } from '../../testkit/cli.js';
import { commitAndPush, makeRepo, runGit, writeFiles } from '../../testkit/git-server.js';

const SSHD = '/usr/sbin/sshd';
const signal = new AbortController().signal;
const user = os.userInfo().username;
let dir = '';
let cleanup: () => Promise<void> = async () => {};
let sshd: ChildProcess | undefined;
let sshdLog = '';
let port = 0;
let env: NodeJS.ProcessEnv = {};
let bare = '';
let work = '';

function keygen(file: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pulpdist-test', '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const p = (srv.address() as net.AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  return p;
}

/** Resolves once the server sends its SSH banner. */
async function banner(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1');
    s.setTimeout(2_000);
    s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('SSH-2.0'))));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

test.before(async () => {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing (apt-get install -y openssh-server; .ci/run installs it)`);
  ({ dir, cleanup } = await tempDir('pulpdist-ssh-'));
  keygen(path.join(dir, 'host_key'));
  keygen(path.join(dir, 'deploy_key'));
  keygen(path.join(dir, 'other_key'));
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'deploy_key.pub')));
  port = await freePort();
  writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      `AllowUsers ${user}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The temp dir's modes are not sshd's business here.
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  // sshd's privilege separation directory (the package's tmpfiles.d makes it at boot).
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  sshd = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd.stderr!.setEncoding('utf8').on('data', (d: string) => (sshdLog = (sshdLog + d).slice(-8000)));
  const end = Date.now() + 15_000;
  while (!(await banner(port))) {
    if (Date.now() > end || sshd.exitCode !== null) throw new Error(`sshd did not start on ${port}:\n${sshdLog}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const hostPub = readFileSync(path.join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`);
  writeFileSync(path.join(dir, 'empty_known_hosts'), '');
  // An ssh config that names the server, so that an scp-like URL (which has no port) reaches it.
  writeFileSync(path.join(dir, 'ssh_config'), `Host gitlab.test\n  HostName 127.0.0.1\n  Port ${port}\n`);
  env = { PATH: process.env.PATH, HOME: process.env.HOME, PULPDIST_GIT_SSH_CONFIG: path.join(dir, 'ssh_config'), PULPDIST_GIT_SSH_KEY_FILE: path.join(dir, 'deploy_key'), PULPDIST_GIT_SSH_KNOWN_HOSTS: path.join(dir, 'known_hosts') };
  ({ bare, work } = makeRepo(dir, 'specs', { 'mirrors/a.yaml': 'a: 1\n' }));
});

test.after(async () => {
  if (sshd && sshd.exitCode === null) {
    const exited = new Promise((resolve) => sshd!.once('exit', resolve));
    sshd.kill('SIGTERM');
    await exited;
  }
  await cleanup();
});

function status(at: string): StatusDocument {
  return {
    controller: { version: '0.1.0', startedAt: at, observedCommit: 'a'.repeat(40), specCommit: 'a'.repeat(40), specErrors: [], lastPass: { startedAt: at, finishedAt: at, result: 'succeeded' } },
    sites: [],
    mirrors: [],
  };
}

test('isSshUrl: ssh:// and scp-like URLs, not paths or http', () => {
  for (const u of ['ssh://git@gitlab.example.com/infra/mirrors.git', 'ssh://host:2222/x.git', 'git+ssh://git@h/x', 'git@gitlab.example.com:infra/mirrors.git', 'gitlab.example.com:infra/mirrors.git']) assert.ok(isSshUrl(u), u);
  for (const u of ['/srv/repo', './repo', 'repo', 'https://gitlab.example.com/x.git', 'file:///srv/x', '../a:b']) assert.not.ok(isSshUrl(u), u);
});

test('ssh://: clone, fetch after a force-push, status commits pushed; a stale push is rejected', async () => {
  const url = `ssh://${user}@127.0.0.1:${port}${bare}`;
  const src = await openGitSource({ repo: url, path: 'mirrors', stateDir: `${dir}/state`, env, log: silentLogger });
  assert.is(src.kind, 'remote');
  const h1 = await src.refresh({ signal });
  assert.is(h1, runGit(['rev-parse', 'HEAD'], work), sshdLog);
  assert.equal((await src.readSpecFiles(h1, { signal })).map((f) => [f.path, Buffer.from(f.content).toString()]), [['mirrors/a.yaml', 'a: 1\n']]);
  writeFiles(work, { 'mirrors/a.yaml': 'a: rewritten\n' });
  const h2 = commitAndPush(work, 'rewrite', { amend: true, force: true });
  assert.is(await src.refresh({ signal }), h2, 'polling sees the force-pushed head');
  assert.is(Buffer.from((await src.readSpecFiles(h2, { signal }))[0]!.content).toString(), 'a: rewritten\n');

  const writer = createStatusWriter(src, { log: silentLogger, now: () => new Date() });
  const first = await writer.write(status('2026-01-01T00:00:00.000Z'), { signal });
  assert.ok(first.commit);
  assert.is(runGit(['rev-parse', 'refs/heads/pulpdist/status'], bare), first.commit);
  assert.is(await src.statusHead({ signal }), first.commit);
  assert.is(runGit(['rev-parse', 'main'], bare), h2, 'the spec branch is untouched');

  // Someone else moved the branch: a push that expects the old head is refused, nothing changes.
  const tree = runGit(['rev-parse', `${first.commit}^{tree}`], bare);
  const theirs = runGit(['commit-tree', tree, '-p', first.commit!, '-m', 'someone else'], bare);
  runGit(['update-ref', 'refs/heads/pulpdist/status', theirs], bare);
  const ours = runGit(['commit-tree', tree, '-p', first.commit!, '-m', 'ours'], bare);
  // Our commit exists only on the server so far: fetch it so that we can push it back.
  assert.is(await src.statusHead({ signal }), theirs);
  assert.is(await src.publishStatus(ours, first.commit, { signal }), 'rejected');
  assert.is(runGit(['rev-parse', 'refs/heads/pulpdist/status'], bare), theirs);
  // The writer re-reads and retries on top of the other commit.
  const next = await writer.write({ ...status('2026-01-01T01:00:00.000Z'), controller: { ...status('x').controller, observedCommit: 'c'.repeat(40), startedAt: '2026-01-01T01:00:00.000Z', lastPass: { startedAt: 'x', finishedAt: 'x', result: 'succeeded' } } }, { signal });
  assert.ok(next.commit);
  assert.is(runGit(['rev-parse', 'refs/heads/pulpdist/status^'], bare), theirs);
});

test('scp-like URL (git@host:path) through PULPDIST_GIT_SSH_CONFIG', async () => {
  const src = await openGitSource({ repo: `${user}@gitlab.test:${bare}`, path: 'mirrors', stateDir: `${dir}/state-scp`, env, log: silentLogger });
  assert.is(await src.refresh({ signal }), runGit(['rev-parse', 'HEAD'], work), sshdLog);
});

test('an unknown host key and a refused key: GitSourceError naming the files, not retryable, no key contents', async () => {
  const url = `ssh://${user}@127.0.0.1:${port}${bare}`;
  const unknown = await openGitSource({ repo: url, stateDir: `${dir}/state-u`, env: { ...env, PULPDIST_GIT_SSH_KNOWN_HOSTS: path.join(dir, 'empty_known_hosts') }, log: silentLogger });
  const e1 = (await unknown.refresh({ signal }).then(() => null, (e: unknown) => e)) as { code: string; message: string; retryable: boolean } | null;
  assert.ok(e1, 'an unknown host must not be trusted');
  assert.is(e1.code, 'GitSourceError');
  assert.match(e1.message, /host key is not in .*empty_known_hosts; add it \(ssh-keyscan/);
  assert.is(e1.retryable, false);

  const refused = await openGitSource({ repo: url, stateDir: `${dir}/state-r`, env: { ...env, PULPDIST_GIT_SSH_KEY_FILE: path.join(dir, 'other_key') }, log: silentLogger });
  const e2 = (await refused.refresh({ signal }).then(() => null, (e: unknown) => e)) as { code: string; message: string; retryable: boolean } | null;
  assert.ok(e2, 'a key the server does not know must be refused');
  assert.match(e2.message, new RegExp(`authentication failed: the key ${path.join(dir, 'other_key')} \\(PULPDIST_GIT_SSH_KEY_FILE\\) is not accepted`));
  assert.is(e2.retryable, false);
  const keyBody = readFileSync(path.join(dir, 'other_key'), 'utf8').split('\n')[1]!;
  assert.not.ok(e2.message.includes(keyBody.slice(0, 20)));

  const missing = await openGitSource({ repo: url, stateDir: `${dir}/state-m`, env: { ...env, PULPDIST_GIT_SSH_KEY_FILE: path.join(dir, 'nope') }, log: silentLogger }).then(() => null, (e: unknown) => e as Error);
  assert.match(String(missing?.message), /PULPDIST_GIT_SSH_KEY_FILE names the key file .*nope, which cannot be read \(ENOENT\)/);
});

test('pulpdist run --once over SSH: reads the commit and pushes its status commit', async () => {
  const { work: w2, bare: b2 } = makeRepo(dir, 'bad', { 'specs/m.yaml': 'apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: Bad_Name}\n' });
  const r = await runCli(['run', '--repo', `ssh://${user}@127.0.0.1:${port}${b2}`, '--path', 'specs', '--once', '--state-dir', `${dir}/state-run`], { env: env as Record<string, string> });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /spec commit is invalid and is not applied/);
  assert.not.match(r.stderr, /BEGIN OPENSSH PRIVATE KEY/);
  const controller = runGit(['show', 'pulpdist/status:status/controller.yaml'], b2);
  assert.match(controller, /file: specs\/m\.yaml/);
  assert.match(controller, new RegExp(`specCommit: ${runGit(['rev-parse', 'HEAD'], w2)}`));
});

test.run();
