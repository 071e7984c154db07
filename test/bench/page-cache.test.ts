import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { warmPageCache } from '../../bench/page-cache.js';
import { tempDir } from '../../testkit/cli.js';

test('warmPageCache reads every regular file below a directory once, and follows no symlink', async () => {
  const d = await tempDir('pulpdist-warm-');
  try {
    const root = path.join(d.dir, 'served');
    await mkdir(path.join(root, 'a', 'b'), { recursive: true });
    await writeFile(path.join(root, 'top'), Buffer.alloc(3 * 1024 * 1024 + 5, 1)); // more than one read
    await writeFile(path.join(root, 'a', 'b', 'deep'), 'x');
    await writeFile(path.join(root, 'a', 'empty'), '');
    await writeFile(path.join(d.dir, 'outside'), Buffer.alloc(1000));
    await symlink(path.join(d.dir, 'outside'), path.join(root, 'a', 'link'));
    await symlink(d.dir, path.join(root, 'loop'));
    const w = await warmPageCache(root, { signal: AbortSignal.timeout(10_000) });
    assert.equal([w.files, w.bytes], [3, 3 * 1024 * 1024 + 6]);
    assert.ok(w.ms >= 0);
    const aborted = await warmPageCache(root, { signal: AbortSignal.abort(new Error('stop')) }).then(() => 'resolved', (err: Error) => err.message);
    assert.is(aborted, 'stop');
  } finally {
    await d.cleanup();
  }
});

test.run();
