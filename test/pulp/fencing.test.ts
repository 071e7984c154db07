/**
 * Fencing (issue 19, controller/lease.ts): the client asks `beforeWrite` before every request that
 * changes something, and a refusal stops the request before it leaves; reads still go. Against a
 * real embedded site, whose own object list is the record checked.
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FencedError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { createPulpClient } from '../../pulp/client.js';
import { tempDir } from '../../testkit/cli.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

let site: RunningSite | undefined;
let cleanup: () => Promise<void> = async () => {};

test.after(async () => {
  await site?.stop();
  await cleanup();
});

test('a replica without the lease: every write refused with FencedError before it is sent, reads still answered', async () => {
  const t = await tempDir('pulpdist-fencing-');
  cleanup = t.cleanup;
  site = await startSite({ dataDir: path.join(t.dir, 'site') });
  let holds = true;
  let asked = 0;
  const client = createPulpClient({
    name: 'origin', labels: {}, pulp: { url: site.url, apiRoot: '/pulp/api/v3/', contentOrigin: site.url, tlsValidation: true },
    limits: { concurrentSyncs: 1, downloadConcurrency: 1 }, position: { file: 'x', line: 1, column: 1 },
  }, {
    log: silentLogger,
    beforeWrite: () => {
      asked++;
      if (!holds) throw new FencedError();
    },
  });
  const labels = { managed_by: 'pulpdist', pulpdist_mirror: 'one' };
  const repo = await client.createRepository({ name: 'pulpdist.one', pulp_labels: labels });
  assert.is(asked, 1, 'asked before the create');
  holds = false;
  const refused = async (what: string, call: () => Promise<unknown>) => {
    const err = await call().then(() => null, (e: unknown) => e);
    assert.ok(err instanceof FencedError, `${what}: ${String(err)}`);
    assert.is((err as FencedError).code, 'FencedError');
  };
  await refused('create', () => client.createRepository({ name: 'pulpdist.two', pulp_labels: { ...labels, pulpdist_mirror: 'two' } }));
  await refused('update', () => client.updateRepository(repo.pulp_href, { retain_repo_versions: 2 }));
  await refused('delete', () => client.deleteRepository(repo.pulp_href));
  // Reads go on (a standby serves status; a fenced pass may still observe).
  const now = await client.listRepositories({});
  assert.equal(now.map((r) => [r.name, r.retain_repo_versions ?? null]), [['pulpdist.one', repo.retain_repo_versions ?? null]]);
  assert.is(asked, 4);
});

test.run();
