/**
 * Which repository version a distribution serves, from one list of publications: the rules of
 * real Pulp 3.24's content app (reference recordings extra4 §4 and 63-67), as a table.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FileDistribution, FileRepository } from '../../pulp/types.js';
import { repositoryOfVersion, servedPublications } from '../../reconcilers/served.js';

const R = '/pulp/api/v3/repositories/file/file/e43274a1-4688-4fc7-b06e-d2a7b70fc60b/';
const R2 = '/pulp/api/v3/repositories/file/file/ed248966-6f7f-4076-bf79-1fb63db79170/';
const v = (repo: string, n: number) => `${repo}versions/${n}/`;
const pub = (repo: string, n: number) => ({ repository_version: v(repo, n) });
const repo = (href: string, latest: number): FileRepository => ({
  pulp_href: href, pulp_created: 'x', name: `pulpdist.${href.slice(-5, -1)}`, description: null, pulp_labels: {}, retain_repo_versions: 3,
  remote: null, autopublish: true, manifest: 'PULP_MANIFEST', versions_href: `${href}versions/`, latest_version_href: v(href, latest),
});
const dist = (name: string, o: { repository?: string; publication?: string }): FileDistribution =>
  ({ pulp_href: `/d/${name}/`, pulp_created: 'x', name, base_path: name, pulp_labels: {}, repository: o.repository ?? null, publication: o.publication ?? null }) as FileDistribution;

function run(pubs: { repository_version: string }[], repos: FileRepository[], dists: FileDistribution[]) {
  return servedPublications(pubs, new Map(repos.map((r) => [r.name, r])), new Map(dists.map((d) => [d.name, d])));
}

test('repositoryOfVersion strips versions/N/', () => {
  assert.is(repositoryOfVersion(v(R, 12)), R);
});

test('a repository distribution serves the highest published version; two publications of one version count once', () => {
  for (const pubs of [[pub(R, 2), pub(R, 2), pub(R, 1)], [pub(R, 1), pub(R, 2)]]) {
    const s = run(pubs, [repo(R, 2)], [dist('m', { repository: R })]);
    assert.equal(s.served.get('m'), { version: v(R, 2), direct: null });
    assert.is(s.unpublished.size, 0);
  }
});

test('latest publication deleted by hand: falls back to the older version (extra4/63-65), and the latest is unpublished', () => {
  const s = run([pub(R, 1)], [repo(R, 2)], [dist('m', { repository: R })]);
  assert.equal(s.served.get('m'), { version: v(R, 1), direct: null });
  assert.equal(s.unpublished.get('m'), { latest: v(R, 2), served: v(R, 1) });
});

test('every publication deleted (extra4/25-32): serves nothing, latest unpublished; version 0 is never "unpublished"', () => {
  const s = run([pub(R, 1)], [repo(R, 2), repo(R2, 1)], [dist('auto', { repository: R2 })]);
  assert.equal(s.served.get('auto'), { version: null, direct: null });
  assert.equal(s.unpublished.get('auto'), { latest: v(R2, 1), served: null });
  const fresh = run([], [repo(R2, 0)], [dist('auto', { repository: R2 })]);
  assert.is(fresh.served.get('auto')!.version, null);
  assert.is(fresh.unpublished.size, 0);
});

test('a distribution naming a publication itself: served directly, never reported as unpublished', () => {
  const href = '/pulp/api/v3/publications/file/file/f258c3ed/';
  const s = run([pub(R, 1)], [repo(R, 2)], [dist('pinned', { publication: href })]);
  assert.equal(s.served.get('pinned'), { version: null, direct: href });
  assert.is(s.unpublished.size, 0);
});

test.run();
