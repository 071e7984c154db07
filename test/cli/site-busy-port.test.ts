/**
 * `pulpdist site` on a port that is taken (issue 15, item 10): a usage error (exit 2) that names
 * the address, no stack trace, and nothing left behind: a data directory the run created is
 * removed, one that existed before is kept as it was.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
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
    // An existing data directory is the operator's: kept, with what it held.
    const kept = path.join(dir, 'kept');
    mkdirSync(kept);
    const k = await runCli(['site', '--listen', `127.0.0.1:${port}`, '--data', kept]);
    assert.is(k.code, 2);
    assert.ok(existsSync(kept));
    assert.ok(readdirSync(kept).length > 0, 'the store the run opened is still there');
  } finally {
    taken.close();
    await cleanup();
  }
});

test.run();
