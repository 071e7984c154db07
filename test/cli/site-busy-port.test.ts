/**
 * `pulpdist site` on a port that is taken (issue 15, item 10): a usage error (exit 2) that names
 * the address, no stack trace, and nothing left behind: a data directory the run created is
 * removed, one that existed before is kept as it was (only what it held). The same for an address
 * this machine does not have, and for `pulpdist shaper`, which also must exit.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';

test('a busy --listen port: exit 2, the address named, no stack, no data directory left', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-busy-port-');
  const taken = net.createServer();
  try {
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const fresh = path.join(dir, 'new-site');
    const r = await runCli(['site', '--listen', `127.0.0.1:${port}`, '--data', fresh]);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`error: --listen 127\\.0\\.0\\.1:${port} is already in use`));
    assert.not.match(r.stderr, /internal error|\n\s+at /);
    assert.not.ok(existsSync(fresh), 'the data directory the run created is gone');
    // An existing data directory is the operator's: kept with what it held, and only that.
    const kept = path.join(dir, 'kept');
    mkdirSync(kept);
    writeFileSync(path.join(kept, 'notes.txt'), 'the operator\'s\n');
    const k = await runCli(['site', '--listen', `127.0.0.1:${port}`, '--data', kept]);
    assert.is(k.code, 2, k.stderr);
    assert.equal(readdirSync(kept), ['notes.txt'], 'what the run added is gone, what was there stays');
    // The shaper: the same error, and it exits (it used to hang with its inner proxy open).
    const s = await runCli(['shaper', '--bandwidth', '1MiB/s', '--listen', `127.0.0.1:${port}`], { timeoutMs: 30_000 });
    assert.is(s.code, 2, `exit ${s.code}: ${s.stderr}`);
    assert.match(s.stderr, new RegExp(`error: --listen 127\\.0\\.0\\.1:${port} is already in use`));
  } finally {
    taken.close();
    await cleanup();
  }
});

test('an address this machine does not have: exit 2 saying so, no data directory left', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-bad-addr-');
  try {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a local address, and binding to it sends nothing.
    const fresh = path.join(dir, 'new-site');
    const r = await runCli(['site', '--listen', '192.0.2.1:24817', '--data', fresh]);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /error: --listen 192\.0\.2\.1:24817 is not an address of this machine/);
    assert.not.match(r.stderr, /internal error|\n\s+at /);
    assert.not.ok(existsSync(fresh));
  } finally {
    await cleanup();
  }
});

test.run();
