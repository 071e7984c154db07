/**
 * spec.rollout (docs/rollouts.md): its normal form, which sites each stage holds, and the rules
 * across documents that a schema cannot say: every stage site is a known site that carries the
 * mirror, no site is in two stages, the origin is in none (it publishes each new tree first, at
 * once), `"*"` only in the last stage, and no site of the mirror left out of every stage (a site
 * forgotten there would otherwise get each new tree at an unknown point, or never).
 */
import { parseDuration } from '../core/units.js';
import type { MirrorFacts, SiteFacts } from './cross-rules.js';
import type { PathSegment } from './node-position.js';
import { positionOf } from './node-position.js';
import { problemAt, quote } from './problem.js';
import type { Problem, RolloutSpec, RolloutStageSpec } from './types.js';

/** The stage entry that stands for every site of the mirror that no other stage names. */
export const REST = '*';

/** The shape the mirror schema guarantees for spec.rollout. */
export interface RawRollout {
  stages: {
    name?: string;
    sites?: string[];
    matchLabels?: Record<string, string>;
    soak?: string;
    verify?: { path: string; sha256?: string }[];
    approval?: 'required';
    approved?: string;
  }[];
  rollbackOnFailure?: boolean;
}

/** The default name of the stage at `index` (0-based): `stage-1`, `stage-2`… */
export function stageName(index: number): string {
  return `stage-${index + 1}`;
}

/** A schema-valid spec.rollout → the spec model, defaults filled in. */
export function normalizeRollout(raw: RawRollout): RolloutSpec {
  return {
    stages: raw.stages.map((s, i): RolloutStageSpec => {
      const stage: RolloutStageSpec = {
        name: s.name ?? stageName(i),
        sites: [...(s.sites ?? [])],
        soakMs: s.soak === undefined ? 0 : parseDuration(s.soak),
        verify: (s.verify ?? []).map((p) => (p.sha256 === undefined ? { path: p.path } : { path: p.path, sha256: p.sha256 })),
        approval: s.approval === 'required',
      };
      if (s.matchLabels) stage.matchLabels = { ...s.matchLabels };
      if (s.approved !== undefined) stage.approved = s.approved;
      return stage;
    }),
    rollbackOnFailure: raw.rollbackOnFailure ?? false,
  };
}

/** True when `labels` hold every pair of `selector`. */
export function labelsMatch(labels: Readonly<Record<string, string>> | undefined, selector: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/**
 * The sites of each stage, in stage order: the names it lists, then the mirror's sites its
 * matchLabels select, then (last stage) `"*"`: the mirror's sites no stage holds. The origin is
 * never in a stage. Pure; on a valid spec no site comes out twice.
 */
export function resolveStageSites(
  stages: readonly Pick<RolloutStageSpec, 'sites' | 'matchLabels'>[],
  mirror: { origin: string; sites: readonly string[] },
  labelsOf: (site: string) => Readonly<Record<string, string>> | undefined,
): string[][] {
  const taken = new Set<string>([mirror.origin]);
  const out = stages.map((stage) => {
    const sites: string[] = [];
    const add = (name: string) => {
      if (!taken.has(name)) {
        taken.add(name);
        sites.push(name);
      }
    };
    for (const name of stage.sites) if (name !== REST) add(name);
    const selector = stage.matchLabels;
    if (selector) for (const name of mirror.sites) if (labelsMatch(labelsOf(name), selector)) add(name);
    return sites;
  });
  stages.forEach((stage, i) => {
    if (stage.sites.includes(REST)) for (const name of mirror.sites) if (!taken.has(name) && taken.add(name)) out[i]?.push(name);
  });
  return out;
}

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

function labelsOfFacts(site: SiteFacts | undefined): Record<string, string> | undefined {
  const meta = isRecord(site?.source.data) ? site.source.data.metadata : undefined;
  const labels = isRecord(meta) ? meta.labels : undefined;
  if (!isRecord(labels)) return undefined;
  return Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function where(m: MirrorFacts, path: PathSegment[]): string {
  const p = positionOf(m.source, path);
  return `${p.file}:${p.line}:${p.column}`;
}

/** The cross-document rules of every mirror's spec.rollout, read tolerantly (the schema reports shapes). */
export function checkRollouts(mirrors: readonly MirrorFacts[], siteByName: ReadonlyMap<string, SiteFacts>, out: Problem[]): void {
  for (const m of mirrors) {
    const spec = isRecord(m.source.data) ? m.source.data.spec : undefined;
    const rollout = isRecord(spec) ? spec.rollout : undefined;
    if (!isRecord(rollout) || !Array.isArray(rollout.stages)) continue;
    checkMirrorRollout(m, rollout.stages, siteByName, out);
  }
}

function checkMirrorRollout(m: MirrorFacts, stages: unknown[], siteByName: ReadonlyMap<string, SiteFacts>, out: Problem[]): void {
  const carried = new Set(m.sites.map((s) => s.name));
  const base: PathSegment[] = ['spec', 'rollout', 'stages'];
  /** Which stage holds each site so far, and where it was put there. */
  const owner = new Map<string, { stage: string; path: PathSegment[] }>();
  const stageNames = new Map<string, number>();
  let rest = false;
  let unknown = false;
  const last = stages.length - 1;
  stages.forEach((raw, i) => {
    if (!isRecord(raw)) return;
    const at = [...base, i];
    const name = typeof raw.name === 'string' ? raw.name : stageName(i);
    const seen = stageNames.get(name);
    if (seen !== undefined) out.push(problemAt(m.source, typeof raw.name === 'string' ? [...at, 'name'] : at, 'rollout-stage-name', `stage name ${quote(name)} is already used by stages[${seen}]; give each stage its own name`));
    else stageNames.set(name, i);
    const claim = (site: string, path: PathSegment[], how: string) => {
      const prev = owner.get(site);
      if (prev) {
        out.push(problemAt(m.source, path, 'rollout-duplicate-site', `${how} site ${quote(site)}, already in stage ${quote(prev.stage)} (${where(m, prev.path)}); a site belongs to one stage`));
        return;
      }
      owner.set(site, { stage: name, path });
    };
    const sites = Array.isArray(raw.sites) ? raw.sites : [];
    const selector = isRecord(raw.matchLabels) ? raw.matchLabels : undefined;
    if (!Array.isArray(raw.sites) && !selector) {
      out.push(problemAt(m.source, at, 'rollout-empty-stage', 'a stage needs sites, matchLabels or both', { anchor: 'key' }));
    }
    sites.forEach((site, j) => {
      if (typeof site !== 'string') return;
      const path = [...at, 'sites', j];
      if (site === REST) {
        if (i !== last) out.push(problemAt(m.source, path, 'rollout-rest-not-last', `"*" (every site in no other stage) may only be in the last stage`));
        else rest = true;
        return;
      }
      if (site === m.origin) {
        out.push(problemAt(m.source, path, 'rollout-origin', `the origin ${quote(site)} is in no stage: it publishes each new tree first, at once; remove it here`));
        return;
      }
      if (!siteByName.has(site)) {
        unknown = true;
        out.push(problemAt(m.source, path, 'unknown-site', `unknown site ${quote(site)} (known: ${[...siteByName.keys()].sort().slice(0, 20).join(', ') || 'none'})`));
        return;
      }
      if (!carried.has(site)) {
        out.push(problemAt(m.source, path, 'rollout-site-not-in-mirror', `site ${quote(site)} does not carry this mirror (spec.sites: ${[...carried].join(', ')})`));
        return;
      }
      claim(site, path, 'lists');
    });
    if (selector) {
      const pairs = Object.fromEntries(Object.entries(selector).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const path = [...at, 'matchLabels'];
      let matched = 0;
      for (const s of m.sites) {
        if (s.name === m.origin || !labelsMatch(labelsOfFacts(siteByName.get(s.name)), pairs)) continue;
        matched++;
        // A name listed in this same stage and matched again is the same choice, not a conflict.
        if (owner.get(s.name)?.stage === name) continue;
        claim(s.name, path, 'selects');
      }
      if (matched === 0) out.push(problemAt(m.source, path, 'rollout-empty-stage', `matchLabels selects none of the mirror's sites (the origin aside)`, { severity: 'warning', anchor: 'key' }));
    }
    if (raw.approved !== undefined && raw.approval !== 'required') {
      out.push(problemAt(m.source, [...at, 'approved'], 'rollout-approval', 'approved has no effect without approval: required', { severity: 'warning', anchor: 'key' }));
    }
  });
  if (rest || unknown) return;
  const left = m.sites.filter((s) => s.name !== m.origin && siteByName.has(s.name) && !owner.has(s.name)).map((s) => s.name);
  if (left.length) {
    out.push(
      problemAt(m.source, base, 'rollout-uncovered', `${left.length === 1 ? 'site' : 'sites'} ${left.map((s) => quote(s)).join(', ')} of this mirror ${left.length === 1 ? 'is' : 'are'} in no stage: add ${left.length === 1 ? 'it' : 'them'} to a stage, or "*" to the last stage`, { anchor: 'key' }),
    );
  }
}
