/**
 * Assembles the StatusDocument (core/status.ts) from what the controller holds: the last valid
 * specs, the last pass result, the spec errors of the newest commit and the loop's own state.
 * Pure: no clock, no I/O; the same inputs give the same document.
 */
import type { ControllerStatus, MirrorSiteStatus, MirrorStatus, SiteStatus, SpecErrorStatus, StatusDocument } from '../core/status.js';
import type { PassResult } from '../reconcilers/pass-types.js';
import type { Problem, SpecSet } from '../spec/types.js';

/** The last pass as the loop knows it (`finishedAt` null while it runs). */
export interface LastPassSnapshot {
  startedAt: Date;
  finishedAt: Date | null;
  result: 'succeeded' | 'failed' | 'running';
  /** Why it failed. */
  message?: string;
}

export interface ControllerSnapshot {
  version: string;
  startedAt: Date;
  /** The commit whose pass last completed. */
  observedCommit: string | null;
  /** The newest commit seen on the spec branch (valid or not). */
  specCommit: string | null;
  /** Problems of `specCommit` (only errors are shown; warnings do not block a commit). */
  problems: readonly Problem[];
  lastPass: LastPassSnapshot | null;
  /** The specs in force: those of the last valid commit. */
  specs: SpecSet | null;
  /** The last pass's result over `specs` (null before the first pass completes). */
  pass: PassResult | null;
  /**
   * The last known status of each placement and site, from the status branch at start
   * (status/restore.ts): shown where no pass of this process has reported yet, so a restart or a
   * pass cut short never turns known placements into Pending with no version.
   */
  known?: { mirrors: readonly MirrorStatus[]; sites: readonly SiteStatus[] } | null;
  /** Propagation time of each placement (status/propagation.ts `seconds`); absent: the field is left out. */
  propagation?: (mirror: string, site: string) => number | null;
  /** When each placement last synced successfully (status/last-success.ts); absent: the field is left out. */
  lastSuccess?: (mirror: string, site: string) => string | null;
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The spec errors of a commit, in the document's shape. */
export function specErrorsOf(problems: readonly Problem[]): SpecErrorStatus[] {
  return problems.filter((p) => p.severity === 'error').map((p) => ({ file: p.file, line: p.line, column: p.column, message: p.message }));
}

/**
 * The document. Mirrors and sites come from the last pass; those the specs name but the pass did
 * not report (a commit applied since, or no pass yet) show as Pending / not yet seen, and those the
 * specs no longer name are left out (they are being pruned), unless the pass reported them Blocked:
 * a held delete is still served and must stay in sight until Git approves it.
 */
export function buildStatusDocument(s: ControllerSnapshot): StatusDocument {
  const controller: ControllerStatus = {
    version: s.version,
    startedAt: s.startedAt.toISOString(),
    observedCommit: s.observedCommit,
    specCommit: s.specCommit,
    specErrors: specErrorsOf(s.problems),
    lastPass: s.lastPass
      ? {
        startedAt: s.lastPass.startedAt.toISOString(), finishedAt: s.lastPass.finishedAt?.toISOString() ?? null, result: s.lastPass.result,
        ...(s.lastPass.message ? { message: s.lastPass.message } : {}),
      }
      : null,
  };
  // Without a valid commit in this process, the last known status stands as it was: a status
  // written from nothing would say "no mirrors" over a network that serves them.
  if (!s.specs && s.known) return { controller, sites: [...s.known.sites].sort(byName), mirrors: [...s.known.mirrors].sort(byName) };
  const specs = s.specs ?? { sites: [], mirrors: [] };
  const passSites = new Map((s.pass?.sites ?? []).map((x) => [x.name, x]));
  const knownSites = new Map((s.known?.sites ?? []).map((x) => [x.name, x]));
  const knownMirrors = new Map((s.known?.mirrors ?? []).map((x) => [x.name, x]));
  const sites: SiteStatus[] = specs.sites.map(
    (site) =>
      passSites.get(site.name) ?? knownSite(knownSites.get(site.name), site) ?? {
        name: site.name,
        url: site.pulp.url,
        reachable: false,
        pulpVersion: null,
        lastSeen: null,
        message: 'not observed yet',
        ...(site.upstream ? { upstream: site.upstream } : {}),
      },
  );
  const passMirrors = new Map((s.pass?.mirrors ?? []).map((m) => [m.name, m]));
  const mirrors: MirrorStatus[] = specs.mirrors.map((m) => {
    const seen = passMirrors.get(m.name);
    const seenSites = new Map((seen?.sites ?? []).map((x) => [x.site, x]));
    const known = seen ? undefined : knownMirrors.get(m.name);
    const knownCells = new Map((known?.sites ?? []).map((x) => [x.site, x]));
    const cells: MirrorSiteStatus[] = m.sites.map(
      (site) =>
        seenSites.get(site) ?? (m.suspend ? undefined : knownCells.get(site)) ?? {
          site,
          state: m.suspend ? 'Suspended' : 'Pending',
          version: null,
          treeDigest: null,
          files: null,
          bytes: null,
          lastSync: null,
          message: m.suspend ? 'suspended in the spec' : 'waiting for the next pass',
        },
    );
    const named = new Set(m.sites);
    for (const c of seen?.sites ?? []) if (c.state === 'Blocked' && !named.has(c.site)) cells.push(c);
    const { propagation: prop, lastSuccess: success } = s;
    const decorated = prop || success
      ? cells.map((c) => ({
        ...c,
        ...(prop ? { propagationSeconds: prop(m.name, c.site) ?? c.propagationSeconds ?? null } : {}),
        ...(success ? { lastSuccessAt: success(m.name, c.site) ?? c.lastSuccessAt ?? null } : {}),
      }))
      : cells;
    // A rollout only while the spec asks for one; the last known one (restored) until a pass says.
    const rollout = m.rollout ? (seen ? seen.rollout : known?.rollout) : undefined;
    return {
      name: m.name, origin: m.origin, ...(Object.keys(m.labels ?? {}).length ? { labels: m.labels } : {}), ...(seen?.nextSyncAt ? { nextSyncAt: seen.nextSyncAt } : {}),
      treeDigest: seen?.treeDigest ?? known?.treeDigest ?? null, sites: decorated, ...(rollout ? { rollout } : {}),
      ...(seen?.sourceNotes ? { sourceNotes: seen.sourceNotes } : {}),
    };
  });
  const inSpecs = new Set(specs.mirrors.map((m) => m.name));
  for (const m of s.pass?.mirrors ?? []) {
    if (inSpecs.has(m.name)) continue;
    const held = m.sites.filter((c) => c.state === 'Blocked');
    if (held.length) mirrors.push({ ...m, sites: held });
  }
  return { controller, sites: sites.sort(byName), mirrors: mirrors.sort(byName) };
}

/** A site's last known status, under the address and upstream the spec in force gives it. */
function knownSite(k: SiteStatus | undefined, site: SpecSet['sites'][number]): SiteStatus | undefined {
  if (!k) return undefined;
  const { upstream: _old, ...rest } = k;
  return { ...rest, url: site.pulp.url, ...(site.upstream ? { upstream: site.upstream } : {}) };
}

/** Counts of each state over every mirror × site, for commit messages and the log line. */
export function stateCounts(doc: StatusDocument): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of doc.mirrors) for (const c of m.sites) out[c.state] = (out[c.state] ?? 0) + 1;
  return out;
}
