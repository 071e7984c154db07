/**
 * How a placement whose target is not simply the latest is planned (serve-target.ts). Pure: the
 * retained versions (retained.ts) and what the sites up the chain will publish come in as values.
 *
 * - `serve`: the site retains the tree: its distribution points at that version's publication
 *   (or at its repository when that version is the latest), and it does not sync: a sync would
 *   make a new version, and `retain_repo_versions` would eventually prune the pinned one.
 * - `pull`: it does not, but a site up its chain serves that tree this pass: it syncs from there.
 * - `keep`: a hold: it serves what it serves now and does not sync.
 * - `error`: nothing can serve what the spec asks (a pruned tree, an ambiguous prefix, a pinned
 *   origin above a site that wants the latest): the placement is left as it is and plan says why.
 */
import type { FileDistribution, FileRemote, FileRepository } from '../pulp/types.js';
import type { SiteSpec } from '../spec/types.js';
import { publishedManifestUrl } from './desired.js';
import { planDistribution } from './distribution.js';
import type { CreateEntryOf, DesiredMirror, DesiredPlacement, PlacementPin, PlanEntry, TreeSummary, UpdateEntryOf } from './plan-types.js';
import type { RetainedTrees, RetainedVersion } from './retained.js';
import { chainOf, feederServing, short, showRef, type TreeRef } from './serve-target.js';
import { syncKey } from './names.js';

export type ServePlan =
  | { kind: 'latest' }
  | { kind: 'keep'; pin: PlacementPin }
  | { kind: 'serve'; version: RetainedVersion; viaRepository: boolean; tree: TreeSummary; pin: PlacementPin; reason: string }
  | { kind: 'pull'; placement: DesiredPlacement; want: TreeSummary; pin: PlacementPin; reason: string }
  | { kind: 'error'; message: string; pin: PlacementPin };

export interface ServeInput {
  mirror: DesiredMirror;
  placement: DesiredPlacement;
  sites: ReadonlyMap<string, SiteSpec>;
  retained: ReadonlyMap<string, RetainedTrees> | undefined;
  /** What each site of the mirror will publish after this plan (plan.ts `willPublish`), or why it is unknown. */
  willPublish: (site: string) => TreeSummary | string | undefined;
  /** What the site publishes now. */
  published: TreeSummary | null;
}

/** The plan of a placement's target; `latest` when nothing differs from today's rules. */
export function planServe(input: ServeInput): ServePlan {
  const { placement: p, mirror: m } = input;
  const t = p.serve;
  if (t.kind === 'latest') {
    const origin = m.placements.find((x) => x.site === m.origin);
    if (p.feeder !== null && p.feeder === m.origin && origin?.serve.kind === 'tree') {
      return {
        kind: 'error', pin: { digest: null, version: null, why: `origin ${m.origin} is ${origin.serve.why}` },
        message: `${p.site} wants the latest tree, but the origin ${m.origin} is ${origin.serve.why} and nothing else up its chain serves the latest: pin ${p.site} too, or remove the origin's pin`,
      };
    }
    return { kind: 'latest' };
  }
  if (t.kind === 'hold') {
    return { kind: 'keep', pin: { digest: input.published?.digest ?? null, version: null, why: t.why } };
  }
  const fail = (message: string, digest: string | null = null): ServePlan => ({ kind: 'error', message, pin: { digest, version: null, why: t.why } });
  const here = input.retained?.get(syncKey(m.name, p.site));
  if (here && 'error' in here) return fail(`cannot read the retained versions at ${p.site}: ${here.error}`);
  // A vN elsewhere (a mirror-wide pin names the origin's versions): resolve it there to a digest.
  let ref: TreeRef = t.ref;
  const named = t.ref;
  if ('version' in named && named.at !== p.site) {
    const there = input.retained?.get(syncKey(m.name, named.at));
    if (!there) return fail(`the versions of ${named.at} are not known (unreachable?), so v${named.version} cannot be resolved`);
    if ('error' in there) return fail(`cannot read the retained versions at ${named.at}: ${there.error}`);
    const v = there.versions.find((x) => x.version === named.version);
    if (!v?.digest) return fail(`${named.at} does not retain v${named.version}; it retains ${listRetained(there.versions)}`);
    ref = { digest: v.digest };
  }
  const versions = here?.versions ?? [];
  const r = ref;
  const matches = 'version' in r ? versions.filter((v) => v.version === r.version) : versions.filter((v) => v.digest?.startsWith(r.digest));
  const digests = new Set(matches.map((v) => v.digest));
  if (digests.size > 1) return fail(`${showRef(ref)} is ambiguous at ${p.site}: it matches ${listRetained(matches)}; give more digits`);
  const found = matches[0];
  if (found?.digest) {
    const tree: TreeSummary = { digest: found.digest, files: found.files, bytes: found.bytes ?? 0, entries: null };
    const pin = { digest: found.digest, version: found.version, why: t.why };
    const viaRepository = here !== undefined && !('error' in here) && here.latest === found.version;
    if (!viaRepository && !found.publication) return fail(`v${found.version} (${short(found.digest)}) at ${p.site} has no publication left; publish it by hand or pin another tree`, found.digest);
    return { kind: 'serve', version: found, viaRepository, tree, pin, reason: servesInstead(found, input.published, versions, t.why) };
  }
  if ('version' in ref) return fail(`${p.site} does not retain v${ref.version}; it retains ${listRetained(versions)}`);
  // Not retained here: the nearest site up the chain that serves it this pass feeds it.
  const want = ref.digest;
  const chain = chainOf({ origin: m.origin, sites: m.placements.map((x) => x.site) }, p.site, input.sites);
  const feeder = feederServing(chain, (c) => {
    const w = input.willPublish(c);
    return typeof w === 'object' && w.digest.startsWith(want);
  });
  const fed = feeder === null ? undefined : input.willPublish(feeder);
  const feederSite = feeder === null ? undefined : input.sites.get(feeder);
  if (feeder === null || typeof fed !== 'object' || !feederSite) {
    return fail(`${p.site} does not retain tree ${showRef(ref)} and no site up its chain serves it; it retains ${listRetained(versions)}`);
  }
  const placement: DesiredPlacement = { ...p, feeder, remote: { ...p.remote, url: publishedManifestUrl(feederSite, m.basePath) } };
  return {
    kind: 'pull', placement, want: fed, pin: { digest: fed.digest, version: null, why: t.why },
    reason: `${p.site} does not retain ${short(fed.digest)}: pulls it from ${feeder} (${t.why})`,
  };
}

/** `3f2a91c04e5d… (v7), 9bc014a2d7e1… (v9)`, newest first; `nothing` when empty. */
export function listRetained(versions: readonly RetainedVersion[]): string {
  if (versions.length === 0) return 'nothing';
  return versions.map((v) => `${v.digest ? short(v.digest) : '(digest unknown)'} (v${v.version})`).join(', ');
}

/** `serves 3f2a91… (v7) instead of 9bc014… (v9) (rollback; pinned by spec.pins.leaf)`. */
function servesInstead(v: RetainedVersion, published: TreeSummary | null, versions: readonly RetainedVersion[], why: string): string {
  const now = published ? versions.find((x) => x.digest === published.digest) : undefined;
  const was = published ? `${short(published.digest)}${now ? ` (v${now.version})` : ''}` : 'nothing';
  const direction = now ? (v.version < now.version ? 'rollback; ' : v.version > now.version ? 'roll-forward; ' : '') : '';
  return `serves ${short(v.digest ?? '')} (v${v.version}) instead of ${was} (${direction}${why})`;
}

/** The reason of the update that returns a pinned distribution to its repository (the latest). */
export function unpinReason(published: TreeSummary | null, repository: { latest_version_href?: string | null } | undefined): string {
  const latest = repository?.latest_version_href ? /\/versions\/(\d+)\/$/.exec(repository.latest_version_href)?.[1] : undefined;
  return `serves the latest${latest ? ` (v${latest})` : ''} again instead of ${published ? short(published.digest) : 'nothing'} (no pin)`;
}

/**
 * The placement as planned: one that pulls a pinned tree from elsewhere pulls it from the feeder
 * planServe chose; one that does not sync keeps its remote as it is (no churn while pinned).
 */
export function servedPlacement(serve: ServePlan, p: DesiredPlacement, remote: FileRemote | undefined): DesiredPlacement {
  if (serve.kind === 'pull') return serve.placement;
  return serve.kind !== 'latest' && remote ? { ...p, remote: { ...p.remote, url: remote.url } } : p;
}

/**
 * The distribution entry under a serve plan: a hold or an error leaves it as it is (created when
 * missing); a retained tree points it at that version's publication; the latest (a pin removed)
 * points it at the repository again. The reason says what it serves instead.
 */
export function planServedDistribution(
  serve: ServePlan,
  p: DesiredPlacement,
  dist: FileDistribution | undefined,
  repo: FileRepository | undefined,
  published: TreeSummary | null,
): CreateEntryOf<'distribution'> | UpdateEntryOf<'distribution'> | null {
  if (serve.kind === 'keep' || serve.kind === 'error') return dist ? null : planDistribution(p, dist, repo);
  if (serve.kind === 'serve' && !serve.viaRepository && serve.version.publication) {
    return withReason(planDistribution(p, dist, repo, { publication: serve.version.publication }), serve.reason);
  }
  return withReason(planDistribution(p, dist, repo), dist?.publication ? unpinReason(published, repo) : null);
}

/** The entry with its reason replaced when what it serves changes; a change of labels alone keeps its own. */
function withReason<E extends PlanEntry>(e: E | null, reason: string | null): E | null {
  const moves = e?.action === 'update' && e.changes?.some((c) => c.field === 'publication' || c.field === 'repository');
  return e && reason && moves ? { ...e, reason } : e;
}
