/**
 * The blob store's durability ordering: concurrent syncs share one store, so a `syncDirs` that
 * finds nothing left to flush must still wait for another call's flush that took its renames.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobStore } from '../../site/blobs.js';

for (const mode of ['syncfs', 'fdatasync'] as const) {
  test(`${mode}: a syncDirs that finds the dirty set empty waits for the flush that took it`, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-blobs-'));
    const savedPath = process.env.PATH;
    try {
      // No `sync` on PATH: the store falls back to fdatasync and an fsync per directory.
      if (mode === 'fdatasync') process.env.PATH = dir;
      const blobs = new BlobStore(dir);
      await blobs.init();
      process.env.PATH = savedPath;
      assert.is(blobs.durability, mode);
      await blobs.putBytes(Buffer.from('one blob, renamed into its shard directory\n'));
      const done: string[] = [];
      // The first call takes the dirty directories; the second finds none of its own.
      const first = blobs.syncDirs().then(() => done.push('first'));
      const second = blobs.syncDirs().then(() => done.push('second'));
      await Promise.all([first, second]);
      assert.equal(done, ['first', 'second']);
      // With nothing dirty and nothing in flight, a call returns without flushing.
      await blobs.syncDirs();
    } finally {
      process.env.PATH = savedPath;
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test.run();
