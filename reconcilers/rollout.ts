/**
 * The progressive rollout of a mirror's new tree (issue 20, docs/rollouts.md). Pure: the spec,
 * what the origin publishes, what each site serves, the record kept in the status, the clock and
 * the probe results in; what each site must serve (an override per site, none = the latest), the
 * rollout's status (which is also the next record) and the probes it still wants, out.
 *
 * The rules, in the order a pass meets them:
 * - the origin serves each new tree at once (it imports the source); the tree then goes through
 *   the stages in order; sites of stages not yet begun hold what they serve (no sync);
 * - a stage that asks for approval begins only once its `approved` is a prefix of the tree;
 * - a begun stage is done when all its sites serve the tree and its probes pass; the next stage
 *   begins once its soak has passed, counted from the last of its sites publishing the tree;
 * - a failed probe halts the rollout (Blocked, with the reason): one that got an answer other than
 *   200 or a body of another sha256 (no answer at all is tried again next pass); with rollbackOnFailure the
 *   stage's sites go back to the tree they served before. It stays halted until a newer tree, or
 *   until the stage's probes change in Git (someone fixed a wrong probe);
 * - a newer tree supersedes a running or halted rollout and starts again at the first stage.
 * Probes run again on every pass while their stage is current, so a stage that goes bad during its
 * soak halts before the next stage begins.
 */
import type { MirrorRollout } from '../core/status.js';
import { resolveStageSites } from '../spec/rollout.js';
import type { RolloutProbe, RolloutSpec } from '../spec/types.js';

/**
 * What a site must serve, when not the latest: `tree` a given tree (the rollout's rollback),
 * `hold` what it serves now, without syncing (a stage not begun). The shape of the pass's
 * per-placement serve target (reconcilers/serve-target.ts), `latest` being no override at all.
 */
export type RolloutOverride = { kind: 'tree'; digest: string; why: string } | { kind: 'hold'; why: string };

/** What the pass knows of one site of the mirror. */
export interface RolloutSiteView {
  /** The tree digest it serves now; null when nothing, or unknown (unreachable). */
  serves: string | null;
  /** When it published the tree it serves, when known (history.ts, or its last sync). */
  publishedAt?: string | null;
}

/** One probe to run: `path` under the mirror's base path on `site`'s content app. */
export interface ProbeRequest extends RolloutProbe {
  site: string;
}

/** What a probe found; `detail` says what was wrong ("answered 404", "sha256 3f2a91… instead of 9bc014…"). */
export interface ProbeResult extends ProbeRequest {
  ok: boolean;
  detail: string;
  /** No answer came (a connection error, a timeout): says nothing of the tree, so it is tried again, never a halt. */
  unanswered?: boolean;
}

export interface RolloutInput {
  mirror: { name: string; origin: string; sites: readonly string[]; rollout: RolloutSpec };
  /** The Site labels, for stages that select by matchLabels. */
  labelsOf: (site: string) => Readonly<Record<string, string>> | undefined;
  /** The tree the origin publishes; null when unknown this pass (the record's tree goes on). */
  latest: string | null;
  sites: ReadonlyMap<string, RolloutSiteView>;
  /** The record from the last pass (or the status branch, after a restart). */
  record: MirrorRollout | null;
  /** ISO time of this pass. */
  now: string;
  /** Results of the probes the first evaluation of this pass asked for. */
  probes?: readonly ProbeResult[];
}

export interface RolloutOutput {
  /** Keyed by site; a site without an entry serves the latest. */
  overrides: Map<string, RolloutOverride>;
  /** The rollout's status and next record; null when there is nothing to roll out yet. */
  status: MirrorRollout | null;
  /** Probes wanted and not given: run them, then evaluate again with their results. */
  probes: ProbeRequest[];
}

/** First 12 hex digits, as plan and status show digests. */
export function short(digest: string | null): string {
  return digest === null ? 'nothing' : `${digest.slice(0, 12)}…`;
}

/** The fingerprint of a stage's probes that a halt keeps: a change in Git tries again. */
export function probesKey(verify: readonly RolloutProbe[]): string {
  return JSON.stringify(verify.map((p) => [p.path, p.sha256 ?? null]));
}

/** The stages with the sites each resolves to. */
export function rolloutStages(input: Pick<RolloutInput, 'mirror' | 'labelsOf'>): { name: string; sites: string[]; spec: RolloutSpec['stages'][number] }[] {
  const { mirror } = input;
  const sites = resolveStageSites(mirror.rollout.stages, mirror, input.labelsOf);
  return mirror.rollout.stages.map((spec, i) => ({ name: spec.name, sites: sites[i] ?? [], spec }));
}

/** Evaluate the rollout once. Deterministic: the same input always gives the same output. */
export function evaluateRollout(input: RolloutInput): RolloutOutput {
  const { record, now } = input;
  const stages = rolloutStages(input);
  const digest = input.latest ?? record?.digest ?? null;
  const none: RolloutOutput = { overrides: new Map(), status: null, probes: [] };
  if (digest === null) return none;
  const servesOf = (site: string) => input.sites.get(site)?.serves ?? null;

  let rec: MirrorRollout;
  if (!record || record.digest !== digest) {
    rec = begin(input, stages.flatMap((s) => s.sites), digest, servesOf);
    // A rollout spec added to a mirror every site already serves: nothing to roll out.
    if (!record && stages.every((s) => s.sites.every((site) => servesOf(site) === digest))) {
      rec = { ...rec, stage: stages.length, stages: stages.length, stageName: null, state: 'Done', stageSince: null };
      return { overrides: new Map(), status: rec, probes: [] };
    }
  } else {
    rec = { ...record, published: { ...record.published }, before: { ...record.before } };
  }
  rec.stages = stages.length;

  const wanted: ProbeRequest[] = [];
  for (;;) {
    const k = rec.stage;
    const stage = stages[k];
    if (!stage) {
      rec = { ...rec, stage: stages.length, stageName: null, state: 'Done', reason: '', soakEndsAt: null, stageSince: null };
      delete rec.haltedProbes;
      break;
    }
    rec.stageName = stage.name;
    rec.soakEndsAt = null;
    if (rec.haltedProbes !== undefined) {
      if (rec.haltedProbes === probesKey(stage.spec.verify)) break;
      // The stage's probes changed in Git since they failed: try the stage again.
      delete rec.haltedProbes;
    }
    if (rec.stageSince === null) {
      const { approval, approved } = stage.spec;
      if (approval && !(approved !== undefined && digest.replace(/^sha256:/, '').startsWith(approved))) {
        rec = {
          ...rec, state: 'WaitingApproval',
          reason: `stage ${k + 1}/${stages.length} ${stage.name} waits for approval: set spec.rollout.stages[${k}].approved to ${digest.replace(/^sha256:/, '').slice(0, 12)} by a merge request${approved !== undefined ? ` (it approves ${approved}, another tree)` : ''}`,
        };
        break;
      }
      rec.stageSince = now;
    }
    for (const site of stage.sites) {
      const view = input.sites.get(site);
      if (view?.serves === digest) rec.published[site] ??= view.publishedAt ?? now;
      // A site that stopped serving the tree (a hand edit, a rollback) publishes it again before its soak counts.
      else delete rec.published[site];
    }
    const missing = stage.sites.filter((s) => servesOf(s) !== digest);
    if (missing.length) {
      rec = { ...rec, state: 'Progressing', reason: `stage ${k + 1}/${stages.length} ${stage.name}: waiting for ${list(missing)} to publish ${short(digest)}` };
      break;
    }
    const requests = stage.sites.flatMap((site) => stage.spec.verify.map((p) => ({ site, ...p })));
    const results = requests.map((r) => input.probes?.find((p) => p.site === r.site && p.path === r.path && p.sha256 === r.sha256));
    if (results.some((r) => r === undefined)) {
      wanted.push(...requests.filter((_, i) => results[i] === undefined));
      rec = { ...rec, state: 'Progressing', reason: `stage ${k + 1}/${stages.length} ${stage.name}: verifying ${list(stage.sites)}` };
      break;
    }
    const failed = results.filter((r): r is ProbeResult => r !== undefined && !r.ok && !r.unanswered);
    const unanswered = results.find((r) => r?.unanswered && !r.ok);
    if (!failed.length && unanswered) {
      rec = { ...rec, state: 'Progressing', reason: `stage ${k + 1}/${stages.length} ${stage.name}: probe ${unanswered.path} at ${unanswered.site}: ${unanswered.detail}; tried again next pass` };
      break;
    }
    if (failed.length) {
      const first = failed[0] as ProbeResult;
      const more = failed.length > 1 ? ` (and ${failed.length - 1} more failed probe${failed.length > 2 ? 's' : ''})` : '';
      const back = input.mirror.rollout.rollbackOnFailure ? `; its sites go back to the tree they served before` : '';
      rec = {
        ...rec, state: 'Blocked', haltedProbes: probesKey(stage.spec.verify),
        reason: `rollout of ${short(digest)} halted at stage ${k + 1}/${stages.length} ${stage.name}: probe ${first.path} at ${first.site}: ${first.detail}${more}${back}`,
      };
      break;
    }
    const last = Math.max(Date.parse(rec.stageSince), ...stage.sites.map((s) => Date.parse(rec.published[s] ?? now)));
    const ends = last + stage.spec.soakMs;
    if (Date.parse(now) < ends) {
      const at = new Date(ends).toISOString();
      rec = { ...rec, state: 'Soaking', soakEndsAt: at, reason: `stage ${k + 1}/${stages.length} ${stage.name} soaks until ${at}` };
      break;
    }
    rec = { ...rec, stage: k + 1, stageSince: null };
  }
  return { overrides: overridesOf(rec, stages, input.mirror.rollout.rollbackOnFailure), status: rec, probes: wanted };
}

/** A new rollout of `digest`, superseding `input.record` if there is one. */
function begin(input: RolloutInput, sites: readonly string[], digest: string, servesOf: (site: string) => string | null): MirrorRollout {
  const old = input.record;
  const before: Record<string, string | null> = {};
  for (const site of sites) {
    const serves = servesOf(site);
    // A site serving a tree whose rollout never finished returns, on a rollback, to what it served
    // before that one: the superseded tree was never proven good.
    before[site] = old && old.state !== 'Done' && serves === old.digest ? old.before[site] ?? serves : serves;
  }
  const previous = old ? (old.state === 'Done' ? old.digest : old.previous) : mostCommon(Object.values(before).filter((d): d is string => d !== null && d !== digest));
  return {
    digest, previous, stage: 0, stages: 0, stageName: null, state: 'Progressing', reason: '', soakEndsAt: null,
    since: input.now, stageSince: null, published: {}, before,
  };
}

/** What each site must serve under `rec`: earlier stages the latest, the current one by its state, later ones hold. */
function overridesOf(rec: MirrorRollout, stages: ReturnType<typeof rolloutStages>, rollback: boolean): Map<string, RolloutOverride> {
  const out = new Map<string, RolloutOverride>();
  const k = rec.stage;
  const current = stages[k];
  if (!current) return out;
  const of = `rollout of ${short(rec.digest)}`;
  if (rec.state === 'Blocked' && rollback) {
    for (const site of current.sites) {
      const to = rec.before[site] ?? null;
      const why = `${of} halted at stage ${current.name}: rolled back`;
      out.set(site, to !== null && to !== rec.digest ? { kind: 'tree', digest: to, why } : { kind: 'hold', why: `${why}, but it served no other tree before` });
    }
  } else if (rec.stageSince === null) {
    for (const site of current.sites) out.set(site, { kind: 'hold', why: `${of}: stage ${current.name} waits for approval` });
  }
  stages.forEach((stage, j) => {
    if (j <= k) return;
    for (const site of stage.sites) out.set(site, { kind: 'hold', why: `${of}: stage ${stage.name} waits for stage ${current.name}` });
  });
  return out;
}

function mostCommon(values: readonly string[]): string | null {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  for (const [v, n] of counts) if (best === null || n > (counts.get(best) ?? 0)) best = v;
  return best;
}

function list(sites: readonly string[]): string {
  return sites.length > 5 ? `${sites.slice(0, 5).join(', ')} and ${sites.length - 5} more` : sites.join(', ');
}
