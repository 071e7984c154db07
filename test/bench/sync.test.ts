/**
 * `bench:sync` end to end at a tiny scale: the real benchmark script, a real site, curl and an
 * https upstream (--tls), so that its figures and the site's sync over TLS are what the code does.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { tempDir } from '../../testkit/cli.js';

const run = promisify(execFile);
const SCRIPT = path.join(PACKAGE_ROOT, 'dist', 'bench', 'sync.js');

test('--tls: curl and a site fetch the same tree over https; the update moves only new bytes', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-bench-sync-test-');
  try {
    const out = path.join(dir, 'r.json');
    const { stdout } = await run(process.execPath, [SCRIPT, '--files', '200', '--mib', '4', '--tls', '--out', out], { timeout: 120_000 });
    assert.match(stdout, /concurrency 10, over https/);
    const r = JSON.parse(await readFile(out, 'utf8'));
    assert.is(r.transport, 'https');
    assert.is(r.files, 200);
    assert.ok(r.site.seconds > 0 && r.curl.seconds > 0);
    assert.ok(r.throughputRatio > 0);
    // 2% of 200 files got new content: exactly their bytes were downloaded again.
    assert.is(r.update.changedFiles, 4);
    assert.is(r.update.filesDownloaded, 4);
    assert.is(r.update.movedFileBytes, r.update.newContentBytes);
  } finally {
    await cleanup();
  }
});

test('bad options are usage errors (exit 2) with the usage', async () => {
  const err = await run(process.execPath, [SCRIPT, '--files', 'many']).then(
    () => null,
    (e: { code: number; stderr: string }) => e,
  );
  assert.ok(err);
  assert.is(err.code, 2);
  assert.match(err.stderr, /--tls/);
});

test.run();
