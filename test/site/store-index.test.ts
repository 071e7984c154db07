/**
 * The site's digest index (site/store-index.ts) against a real store in a temp dir: it answers
 * what a scan of the tables would, after puts, after deletes of the indexed record (another record
 * with the same digest takes over), and after a reopen (rebuilt from the snapshot and journal).
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ArtifactRecord, ContentRecord } from '../../site/records.js';
import { Store } from '../../site/store.js';
import { tempDir } from '../../testkit/cli.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const art = (id: string, sha256: string): ArtifactRecord => ({ id, pulp_created: '2026-01-01T00:00:00.000000Z', size: 1, sha224: null, sha256, sha384: null, sha512: null });
const unit = (id: string, relative_path: string, sha256: string, artifact_id: string): ContentRecord => ({ id, pulp_created: '2026-01-01T00:00:00.000000Z', relative_path, sha256, artifact_id });

test('lookups follow puts and deletes, and survive a reopen', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-store-index-');
  try {
    const data = path.join(dir, 'data');
    const store = await Store.open(data);
    assert.is(store.index.artifactId(SHA_A), undefined);
    await store.commit([{ put: 'artifacts', v: art('a1', SHA_A) }, { put: 'content', v: unit('c1', 'x/f.bin', SHA_A, 'a1') }]);
    assert.is(store.index.artifactId(SHA_A), 'a1');
    assert.is(store.index.contentId('x/f.bin', SHA_A), 'c1');
    assert.is(store.index.contentId('x/other.bin', SHA_A), undefined, 'same digest, other path: another unit');
    assert.is(store.index.artifactId(SHA_B), undefined);

    // Two records with one digest (as an older store may hold): deleting the indexed one falls back to the other.
    await store.commit([{ put: 'artifacts', v: art('a0', SHA_A) }, { put: 'content', v: unit('c0', 'x/f.bin', SHA_A, 'a0') }]);
    assert.is(store.index.artifactId(SHA_A), 'a0');
    await store.commit([{ del: 'artifacts', id: 'a0' }, { del: 'content', id: 'c0' }]);
    assert.is(store.index.artifactId(SHA_A), 'a1');
    assert.is(store.index.contentId('x/f.bin', SHA_A), 'c1');
    await store.commit([{ del: 'artifacts', id: 'a1' }, { del: 'content', id: 'c1' }]);
    assert.is(store.index.artifactId(SHA_A), undefined);
    assert.is(store.index.contentId('x/f.bin', SHA_A), undefined);

    await store.commit([{ put: 'artifacts', v: art('b1', SHA_B) }, { put: 'content', v: unit('cb', 'y.bin', SHA_B, 'b1') }]);
    await store.close();
    const again = await Store.open(data);
    assert.is(again.index.artifactId(SHA_B), 'b1');
    assert.is(again.index.contentId('y.bin', SHA_B), 'cb');
    assert.is(again.index.artifactId(SHA_A), undefined);
    await again.close();
  } finally {
    await cleanup();
  }
});

test.run();
