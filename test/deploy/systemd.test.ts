/**
 * deploy/systemd/pulpdist.service: systemd itself checks it (`systemd-analyze verify` prints every
 * setting it cannot parse, even when it exits 0, so any output fails), and its exposure score
 * (`systemd-analyze security --offline`) stays in systemd's "OK" band.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../../core/paths.js';

const UNIT = path.join(PACKAGE_ROOT, 'deploy', 'systemd', 'pulpdist.service');
const run = promisify(execFile);

/** `systemd-analyze ARGS`: exit code and everything it printed. */
async function analyze(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('systemd-analyze', args, { env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('systemd-analyze is missing (apt-get install -y systemd)');
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function withCopy(edit: (text: string) => string, fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-unit-'));
  try {
    const file = path.join(dir, 'pulpdist.service');
    await copyFile(UNIT, file);
    await writeFile(file, edit(await readFile(file, 'utf8')));
    await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('systemd-analyze verify accepts the unit without a single complaint', async () => {
  await withCopy((t) => t, async (file) => {
    const r = await analyze(['verify', file]);
    assert.equal(r, { code: 0, out: '' });
  });
});

test('a setting systemd cannot parse is caught (verify exits 0 but prints it)', async () => {
  await withCopy((t) => t.replace('ProtectSystem=strict', 'ProtectSystem=bogus'), async (file) => {
    const r = await analyze(['verify', file]);
    assert.match(r.out, /protect system value.*bogus/i);
  });
});

test('the exposure score is in systemd\'s OK band (≤ 2.0), and an unhardened unit is not', async () => {
  const exposure = async (file: string): Promise<number> => {
    const r = await analyze(['security', '--offline=true', '--no-pager', file]);
    const m = /Overall exposure level for [^:]+: ([\d.]+)/.exec(r.out);
    assert.ok(m, r.out.slice(-400));
    return Number(m[1]);
  };
  await withCopy((t) => t, async (file) => assert.ok((await exposure(file)) <= 2.0));
  await withCopy((t) => t.replace(/^(NoNewPrivileges|CapabilityBoundingSet|ProtectSystem|ProtectHome|PrivateTmp|SystemCallFilter|RestrictAddressFamilies|ProtectKernel\w+|PrivateDevices)=.*$/gm, ''), async (file) => {
    assert.ok((await exposure(file)) > 5, 'the score reacts to the hardening');
  });
});

test('the unit runs `pulpdist run` as its own user with a state directory and a graceful stop', async () => {
  const text = await readFile(UNIT, 'utf8');
  assert.match(text, /^User=pulpdist$/m);
  assert.match(text, /^ExecStart=\/usr\/bin\/node \/usr\/lib\/pulpdist\/bin\/pulpdist\.js run --repo \$\{PULPDIST_REPO\}/m);
  // More options (--lease on two machines) from the environment file, split on spaces.
  assert.match(text, /^ExecStart=.* \$PULPDIST_ARGS$/m);
  assert.match(await readFile(path.join(path.dirname(UNIT), 'pulpdist.env.example'), 'utf8'), /^#PULPDIST_ARGS=--lease 30s$/m);
  assert.match(text, /^Restart=on-failure$/m);
  assert.match(text, /^StateDirectory=pulpdist$/m);
  assert.match(text, /^KillSignal=SIGTERM$/m);
  // Secrets come from the environment file, never the unit (which is world-readable).
  assert.not.match(text, /PASSWORD=|TOKEN=/);
});

test.run();
