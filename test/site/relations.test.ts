/**
 * The site's relations (site/relations.ts) against a real store in a temp dir: after creates,
 * updates that move a record to other keys, and deletes, every lookup answers what a scan of the
 * table would, whether the relations were built before the commits (kept in step) or after them
 * (built from the tables, as after a reopen).
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { href, type AnyRecord, type DistributionRecord, type Op, type PublicationRecord, type RepositoryRecord, type Tables, type VersionRecord } from '../../site/records.js';
import { parentsOf, relations } from '../../site/relations.js';
import { Store } from '../../site/store.js';
import { tempDir } from '../../testkit/cli.js';

const T = '2026-01-01T00:00:00.000000Z';
const dist = (id: string, name: string, base_path: string, more: Partial<DistributionRecord> = {}): DistributionRecord => ({
  id, pulp_created: T, name, base_path, publication: null, repository: null, content_guard: null, pulp_labels: {}, ...more,
});
const repo = (id: string, name: string, remote: string | null = null): RepositoryRecord => ({
  id, pulp_created: T, name, description: null, pulp_labels: {}, retain_repo_versions: null, remote, autopublish: false, manifest: null, latest_number: 0,
});
const version = (repoId: string, number: number): VersionRecord => ({ id: `${repoId}/${number}`, repository_id: repoId, number, pulp_created: T, base_version: null, content: [], added: [], removed: [] });
const publication = (id: string, repoId: string, number: number): PublicationRecord => ({ id, pulp_created: T, repository_id: repoId, number, manifest: null, manifest_sha256: null, manifest_size: 0 });

/** Every lookup a test makes, with the scan it stands for. */
const SCANS: { name: Parameters<ReturnType<typeof relations>['find']>[0]; keys: (t: Tables) => string[]; scan: (t: Tables, key: string) => AnyRecord[] }[] = [
  { name: 'distributionsNamed', keys: (t) => [...t.distributions.values()].map((d) => d.name).concat('nobody'), scan: (t, k) => [...t.distributions.values()].filter((d) => d.name === k) },
  { name: 'distributionsAt', keys: (t) => [...t.distributions.values()].flatMap((d) => [d.base_path, ...parentsOf(d.base_path)]), scan: (t, k) => [...t.distributions.values()].filter((d) => d.base_path === k) },
  {
    name: 'distributionsBelow',
    keys: (t) => [...t.distributions.values()].flatMap((d) => [d.base_path, ...parentsOf(d.base_path)]),
    scan: (t, k) => [...t.distributions.values()].filter((d) => d.base_path.startsWith(k + '/')),
  },
  { name: 'distributionsServing', keys: (t) => [...t.publications.keys()].map(href.publication), scan: (t, k) => [...t.distributions.values()].filter((d) => d.publication === k) },
  { name: 'distributionsOfRepository', keys: (t) => [...t.repositories.keys()].map(href.repository), scan: (t, k) => [...t.distributions.values()].filter((d) => d.repository === k) },
  { name: 'repositoriesNamed', keys: (t) => [...t.repositories.values()].map((r) => r.name).concat('nobody'), scan: (t, k) => [...t.repositories.values()].filter((r) => r.name === k) },
  { name: 'repositoriesUsing', keys: () => ['/remote/a/', '/remote/b/'], scan: (t, k) => [...t.repositories.values()].filter((r) => r.remote === k) },
  { name: 'versionsOf', keys: (t) => [...t.repositories.keys()], scan: (t, k) => [...t.versions.values()].filter((v) => v.repository_id === k) },
  { name: 'publicationsOf', keys: (t) => [...t.repositories.keys()], scan: (t, k) => [...t.publications.values()].filter((p) => p.repository_id === k) },
];

/** Assert that every lookup of `t`'s relations gives the scan's records (as sets of ids). */
function assertAgree(t: Tables, when: string): number {
  let checked = 0;
  for (const { name, keys, scan } of SCANS) {
    for (const key of new Set(keys(t))) {
      const got = relations(t).find(name, key).map((r) => r.id).sort();
      const want = scan(t, key).map((r) => r.id).sort();
      assert.equal(got, want, `${when}: ${name}(${key})`);
      checked += 1;
    }
  }
  return checked;
}

/** Commits that create, move and delete records of every related kind. */
const STEPS: Op[][] = [
  [
    { put: 'repositories', v: repo('r1', 'one', '/remote/a/') },
    { put: 'repositories', v: repo('r2', 'two') },
    { put: 'versions', v: version('r1', 0) },
    { put: 'versions', v: version('r1', 1) },
    { put: 'versions', v: version('r2', 0) },
    { put: 'publications', v: publication('p1', 'r1', 1) },
    { put: 'distributions', v: dist('d1', 'fedora', 'fedora/40', { publication: href.publication('p1') }) },
    { put: 'distributions', v: dist('d2', 'epel', 'epel/9/x86_64', { repository: href.repository('r2') }) },
  ],
  // Moves: a new base path, name, publication and remote; the old keys must forget them.
  [
    { put: 'distributions', v: dist('d1', 'fedora-41', 'fedora/41', { repository: href.repository('r1') }) },
    { put: 'repositories', v: repo('r1', 'one', '/remote/b/') },
    { put: 'publications', v: publication('p2', 'r2', 0) },
    { put: 'distributions', v: dist('d3', 'epel-s', 'epel/9/s390x', { publication: href.publication('p2') }) },
  ],
  [
    { del: 'distributions', id: 'd2' },
    { del: 'versions', id: 'r1/0' },
    { del: 'publications', id: 'p1' },
    { del: 'repositories', id: 'r2' },
  ],
];

test('lookups answer what a scan would, kept in step with creates, moves and deletes, and built anew after a reopen', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-relations-');
  try {
    const data = path.join(dir, 'data');
    const store = await Store.open(data);
    relations(store.t); // built now, so every step below must keep it in step
    let checked = assertAgree(store.t, 'empty');
    for (const [i, ops] of STEPS.entries()) {
      await store.commit(ops);
      checked += assertAgree(store.t, `after step ${i + 1}`);
    }
    assert.equal(relations(store.t).find('distributionsBelow', 'epel/9').map((d) => d.id), ['d3'], 'nested below a parent path');
    assert.equal(relations(store.t).find('distributionsAt', 'fedora/40'), [], 'a moved base path is forgotten');
    assert.equal(relations(store.t).find('distributionsNamed', 'fedora-41').map((d) => d.id), ['d1']);
    assert.equal(relations(store.t).find('repositoriesUsing', '/remote/a/'), []);
    assert.ok(checked > 40, `${checked} lookups checked`);
    await store.close();

    const again = await Store.open(data);
    assertAgree(again.t, 'after a reopen');
    assert.equal(relations(again.t).find('versionsOf', 'r1').map((v) => v.id), ['r1/1']);
    await again.close();
  } finally {
    await cleanup();
  }
});

test('parentsOf: the proper parents of a base path, shortest first', () => {
  assert.equal(parentsOf('a/b/c'), ['a', 'a/b']);
  assert.equal(parentsOf('a'), []);
});

test.run();
