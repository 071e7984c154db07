/** Plain-data builders for the pure plan tests: specs, trees and observed sites. */
import { treeDigest } from '../../manifest/digest.js';
import type { ManifestEntry } from '../../manifest/types.js';
import type { FileDistribution, FileRemote, FileRepository } from '../../pulp/types.js';
import type { DesiredState, ObservedSite, TreeSummary } from '../../reconcilers/plan-types.js';
import type { MirrorSpec, SiteSpec } from '../../spec/types.js';

const POS = { file: 'test.yaml', line: 1, column: 1 };

export function site(name: string, o: { upstream?: string; bandwidth?: number; concurrentSyncs?: number; shaper?: string } = {}): SiteSpec {
  return {
    name,
    labels: {},
    pulp: { url: `http://${name}.test`, apiRoot: '/pulp/api/v3/', contentOrigin: `http://${name}.test`, tlsValidation: true },
    ...(o.upstream ? { upstream: o.upstream } : {}),
    limits: { concurrentSyncs: o.concurrentSyncs ?? 2, downloadConcurrency: 10, ...(o.bandwidth ? { bandwidth: o.bandwidth } : {}), ...(o.shaper ? { shaper: o.shaper } : {}) },
    position: POS,
  };
}

export function mirror(name: string, o: Partial<Omit<MirrorSpec, 'name'>> = {}): MirrorSpec {
  return {
    name,
    labels: {},
    source: { kind: 'path', path: `/srv/${name}` },
    origin: 'origin',
    sites: ['origin', 'hub', 'leaf'],
    basePath: name,
    retainVersions: 3,
    suspend: false,
    position: POS,
    ...o,
  };
}

/** A tree from `[path, content-tag, size]`: the tag stands for the bytes (same tag, same sha256). */
export function tree(files: [string, string, number][]): TreeSummary {
  const entries: ManifestEntry[] = files.map(([relativePath, tag, size]) => ({ relativePath, sha256: tag.padEnd(64, '0'), size }));
  return { digest: treeDigest(entries), files: entries.length, bytes: entries.reduce((a, e) => a + e.size, 0), entries };
}

let seq = 0;
const href = (kind: string) => `/pulp/api/v3/${kind}/file/file/${String(++seq).padStart(8, '0')}-0000-4000-8000-000000000000/`;

export function emptySite(name: string, o: { embedded?: boolean; reachable?: boolean } = {}): ObservedSite {
  return {
    name,
    reachable: o.reachable ?? true,
    error: o.reachable === false ? 'connect ECONNREFUSED' : null,
    pulpVersion: '3.24.1',
    embedded: o.embedded ?? true,
    repositories: new Map(),
    remotes: new Map(),
    distributions: new Map(),
    published: new Map(),
    seenAt: o.reachable === false ? null : '2026-11-25T00:00:00.000Z',
  };
}

/**
 * A site holding exactly what `desired` wants there, publishing `trees[mirror]` (null = never
 * synced: version 0, nothing published).
 */
export function convergedSite(desired: DesiredState, name: string, trees: Record<string, TreeSummary | null>, o: { embedded?: boolean } = {}): ObservedSite {
  const s = emptySite(name, o);
  const repos = s.repositories as Map<string, FileRepository>;
  const remotes = s.remotes as Map<string, FileRemote>;
  const dists = s.distributions as Map<string, FileDistribution>;
  const published = s.published as Map<string, TreeSummary | null>;
  for (const m of desired.mirrors.values()) {
    for (const p of m.placements) {
      if (p.site !== name) continue;
      const t = trees[m.name] ?? null;
      const repoHref = href('repositories');
      repos.set(p.repository.name, {
        pulp_href: repoHref, pulp_created: 'x', name: p.repository.name, description: null, pulp_labels: { ...p.repository.pulp_labels },
        retain_repo_versions: p.repository.retain_repo_versions, remote: null, autopublish: true, manifest: 'PULP_MANIFEST',
        versions_href: `${repoHref}versions/`, latest_version_href: `${repoHref}versions/${t ? 1 : 0}/`,
      });
      const remote: FileRemote = {
        pulp_href: href('remotes'), pulp_created: 'x', name: p.remote.name, url: p.remote.url, pulp_labels: { ...p.remote.pulp_labels },
        policy: 'immediate', tls_validation: true, download_concurrency: p.remote.download_concurrency, rate_limit: null, proxy_url: p.remote.proxy_url,
      };
      if (s.embedded) remote.pulpdist_bandwidth_limit = p.remote.pulpdist_bandwidth_limit;
      remotes.set(p.remote.name, remote);
      dists.set(p.distribution.name, {
        pulp_href: href('distributions'), pulp_created: 'x', name: p.distribution.name, base_path: p.distribution.base_path,
        base_url: `http://${name}.test/pulp/content/${p.distribution.base_path}/`, pulp_labels: { ...p.distribution.pulp_labels },
        publication: null, repository: repoHref, content_guard: null,
      });
      published.set(p.distribution.name, t);
    }
  }
  return s;
}

/** An extra object at a site (managed or not), for prune tests. */
export function addObjects(s: ObservedSite, name: string, labels: Record<string, string>, t: TreeSummary | null = null): void {
  const repoHref = href('repositories');
  (s.repositories as Map<string, FileRepository>).set(name, {
    pulp_href: repoHref, pulp_created: 'x', name, description: null, pulp_labels: labels, retain_repo_versions: 3, remote: null,
    autopublish: true, manifest: 'PULP_MANIFEST', versions_href: `${repoHref}versions/`, latest_version_href: `${repoHref}versions/1/`,
  });
  (s.remotes as Map<string, FileRemote>).set(name, {
    pulp_href: href('remotes'), pulp_created: 'x', name, url: 'http://x/PULP_MANIFEST', pulp_labels: labels, policy: 'immediate',
    tls_validation: true, download_concurrency: 10, rate_limit: null,
  });
  (s.distributions as Map<string, FileDistribution>).set(name, {
    pulp_href: href('distributions'), pulp_created: 'x', name, base_path: name, base_url: '', pulp_labels: labels,
    publication: null, repository: repoHref, content_guard: null,
  });
  (s.published as Map<string, TreeSummary | null>).set(name, t);
}
