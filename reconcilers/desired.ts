/**
 * Desired state: what every mirror should be at every site (DESIGN.md "What a mirror becomes in
 * Pulp"). Pure: a function of the specs only. Whether a site enforces the bandwidth field is an
 * observation, so the limit is computed here and dropped by the remote planner where unsupported.
 */
import type { MirrorSpec, SiteSpec, SpecSet } from '../spec/types.js';
import type { DesiredMirror, DesiredPlacement, DesiredState } from './plan-types.js';
import { managedLabels, objectName } from './names.js';
import { chainOf, feederServing, LATEST, serveTargets, type ServeOverrides } from './serve-target.js';

/** Where the tree served at `site` lives: `{contentOrigin}/pulp/content/{basePath}/PULP_MANIFEST`. */
export function publishedManifestUrl(site: SiteSpec, basePath: string): string {
  return `${site.pulp.contentOrigin.replace(/\/+$/, '')}/pulp/content/${basePath}/PULP_MANIFEST`;
}

/**
 * The origin's remote url: the source's own PULP_MANIFEST (file:// for a tree on disk). A read-only
 * tree's manifest lives in its view in the controller's state directory, `sourceViews/MIRROR/`
 * (sources/view.ts); without `sourceViews` it cannot be read, and the url is the tree's own.
 */
export function sourceManifestUrl(mirror: MirrorSpec, opts: { sourceViews?: string } = {}): string {
  if (mirror.source.kind === 'manifest') return mirror.source.url;
  const views = opts.sourceViews?.replace(/\/+$/, '');
  const root = mirror.source.readOnly && views ? `${views}/${mirror.name}` : mirror.source.path.replace(/\/+$/, '');
  return `file://${encodeURI(root)}/PULP_MANIFEST`;
}

/**
 * The site `siteName` pulls mirror M from: the nearest site up its `upstream` chain that carries
 * M, else M's origin (a hub that does not carry M is skipped, not a dead end).
 */
export function feederOf(mirror: MirrorSpec, siteName: string, sites: ReadonlyMap<string, SiteSpec>): string | null {
  if (siteName === mirror.origin) return null;
  const carried = new Set(mirror.sites);
  const seen = new Set([siteName]);
  let cur = sites.get(siteName)?.upstream;
  // `seen` guards against a cycle that validation should already have refused.
  while (cur !== undefined && !seen.has(cur)) {
    if (carried.has(cur)) return cur;
    seen.add(cur);
    cur = sites.get(cur)?.upstream;
  }
  return mirror.origin;
}

/**
 * Desired state of every mirror at every one of its sites. Sites unknown to the specs are skipped.
 * With `controller`, every object is labelled with it (names.ts CONTROLLER_LABEL).
 */
export function desiredState(specs: SpecSet, opts: { controller?: string; serve?: ServeOverrides; sourceViews?: string } = {}): DesiredState {
  const sites = new Map(specs.sites.map((s) => [s.name, s]));
  const mirrors = new Map<string, DesiredMirror>();
  for (const m of specs.mirrors) mirrors.set(m.name, desiredMirror(m, sites, opts.controller, opts.serve, opts.sourceViews));
  return opts.controller ? { mirrors, sites, controller: opts.controller } : { mirrors, sites };
}

function desiredMirror(m: MirrorSpec, sites: ReadonlyMap<string, SiteSpec>, controller: string | undefined, serve: ServeOverrides | undefined, sourceViews: string | undefined): DesiredMirror {
  const known = [...new Set([m.origin, ...m.sites])].flatMap((s) => {
    const site = sites.get(s);
    return site ? [site] : [];
  });
  const names = known.map((s) => s.name);
  const feeders = new Map(names.map((s) => [s, feederOf(m, s, sites)]));
  const targets = serveTargets(m, serve);
  // Feeder rule (serve-target.ts): a site wanting the latest skips pinned or held sites above it.
  // Depth stays the chain's, so that every site up a chain is planned before the ones below.
  const pulls = [...targets.values()].every((t) => t.kind === 'latest') ? feeders : new Map(names.map((s) => {
    const base = feeders.get(s) ?? null;
    if (base === null || targets.get(s)?.kind !== 'latest') return [s, base] as const;
    return [s, feederServing(chainOf(m, s, sites), (c) => targets.get(c)?.kind === 'latest') ?? m.origin] as const;
  }));
  const depth = (s: string, seen = new Set<string>()): number => {
    const f = feeders.get(s);
    if (f === null || f === undefined || seen.has(s)) return 0;
    seen.add(s);
    return depth(f, seen) + 1;
  };
  const placements: DesiredPlacement[] = known.map((site) => {
    const s = site.name;
    const feeder = pulls.get(s) ?? null;
    const feederSite = feeder === null ? undefined : sites.get(feeder);
    const url = feederSite ? publishedManifestUrl(feederSite, m.basePath) : sourceManifestUrl(m, sourceViews === undefined ? {} : { sourceViews });
    const labels = managedLabels(m.name, controller);
    const name = objectName(m.name);
    const bw = site.limits.bandwidth;
    return {
      mirror: m.name,
      site: s,
      depth: depth(s),
      feeder,
      serve: targets.get(s) ?? LATEST,
      repository: { name, pulp_labels: labels, retain_repo_versions: m.retainVersions, autopublish: true },
      remote: {
        name,
        url,
        pulp_labels: labels,
        policy: 'immediate',
        download_concurrency: site.limits.downloadConcurrency,
        pulpdist_bandwidth_limit: bw === undefined ? null : Math.max(1, Math.floor(bw / site.limits.concurrentSyncs)),
        proxy_url: site.limits.shaper ?? null,
      },
      distribution: { name, base_path: m.basePath, pulp_labels: labels },
    };
  });
  placements.sort((a, b) => a.depth - b.depth || (a.site < b.site ? -1 : a.site > b.site ? 1 : 0));
  return {
    name: m.name,
    origin: m.origin,
    basePath: m.basePath,
    source: m.source,
    schedule: m.schedule,
    suspend: m.suspend,
    placements,
  };
}
