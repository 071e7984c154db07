/**
 * Which publication a distribution serves, from one list of publications: the rules of real
 * Pulp 3.24's content app (reference recordings extra4 §4 and 63-67), as a table.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FileDistribution, FilePublication, FileRepository } from '../../pulp/types.js';
import { servedPublications } from '../../reconcilers/served.js';

const R = '/pulp/api/v3/repositories/file/file/e43274a1-4688-4fc7-b06e-d2a7b70fc60b/';
const R2 = '/pulp/api/v3/repositories/file/file/ed248966-6f7f-4076-bf79-1fb63db79170/';
const v = (repo: string, n: number) => `${repo}versions/${n}/`;
const pub = (id: string, repo: string, n: number, created: string): Pick<FilePublication, 'pulp_href' | 'pulp_created' | 'repository' | 'repository_version'> =>
  ({ pulp_href: `/pulp/api/v3/publications/file/file/${id}/`, pulp_created: created, repository: repo, repository_version: v(repo, n) });
const repo = (href: string, latest: number): FileRepository => ({
  pulp_href: href, pulp_created: 'x', name: `pulpdist.${href.slice(-5, -1)}`, description: null, pulp_labels: {}, retain_repo_versions: 3,
  remote: null, autopublish: true, manifest: 'PULP_MANIFEST', versions_href: `${href}versions/`, latest_version_href: v(href, latest),
});
const dist = (name: string, o: { repository?: string; publication?: string }): FileDistribution =>
  ({ pulp_href: `/d/${name}/`, pulp_created: 'x', name, base_path: name, pulp_labels: {}, repository: o.repository ?? null, publication: o.publication ?? null }) as FileDistribution;

const P1 = pub('f258c3ed', R, 1, '2026-12-05T06:45:41.775317Z');
const P2 = pub('c8245983', R, 2, '2026-12-05T06:45:54.891685Z');
const P2b = pub('aaaaaaaa', R, 2, '2026-12-05T06:50:00.000000Z');

function run(pubs: (typeof P1)[], repos: FileRepository[], dists: FileDistribution[]) {
  return servedPublications(pubs, new Map(repos.map((r) => [r.name, r])), new Map(dists.map((d) => [d.name, d])));
}

test('a repository distribution serves the newest publication of the highest version; none → nothing', () => {
  // The list comes newest first on real Pulp; order must not matter.
  for (const pubs of [[P2, P1], [P1, P2]]) {
    const s = run(pubs, [repo(R, 2)], [dist('m', { repository: R })]);
    assert.equal(s.served.get('m'), { publication: P2.pulp_href, repository: R, version: v(R, 2) });
    assert.is(s.unpublished.size, 0);
  }
  assert.is(run([P1, P2, P2b], [repo(R, 2)], [dist('m', { repository: R })]).served.get('m')!.publication, P2b.pulp_href);
});

test('latest publication deleted by hand: falls back to the older one (extra4/63-65), and the latest is unpublished', () => {
  const s = run([P1], [repo(R, 2)], [dist('m', { repository: R })]);
  assert.equal(s.served.get('m'), { publication: P1.pulp_href, repository: R, version: v(R, 1) });
  assert.equal(s.unpublished.get('m'), { latest: v(R, 2), served: v(R, 1) });
});

test('every publication deleted (extra4/25-32): serves nothing, latest unpublished; version 0 is never "unpublished"', () => {
  const s = run([P1], [repo(R, 2), repo(R2, 1)], [dist('auto', { repository: R2 })]);
  assert.equal(s.served.get('auto'), { publication: null, repository: null, version: null });
  assert.equal(s.unpublished.get('auto'), { latest: v(R2, 1), served: null });
  const fresh = run([], [repo(R2, 0)], [dist('auto', { repository: R2 })]);
  assert.is(fresh.served.get('auto')!.publication, null);
  assert.is(fresh.unpublished.size, 0);
});

test('a publication distribution serves that publication while it exists; never reported as unpublished', () => {
  const s = run([P1, P2], [repo(R, 2)], [dist('pinned', { publication: P1.pulp_href }), dist('gone', { publication: '/pulp/api/v3/publications/file/file/deadbeef/' })]);
  assert.equal(s.served.get('pinned'), { publication: P1.pulp_href, repository: R, version: v(R, 1) });
  assert.is(s.served.get('gone')!.publication, null);
  assert.is(s.unpublished.size, 0);
});

test.run();
