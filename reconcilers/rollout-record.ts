/**
 * A rollout record read back from the status branch (status/restore.ts): a file in Git that anyone
 * can edit, so whatever does not have the shape reconcilers/rollout.ts writes is dropped (the
 * rollout then starts again from what the sites serve), never trusted half-way. Pure.
 */
import type { MirrorRollout, RolloutState } from '../core/status.js';

const STATES: ReadonlySet<string> = new Set<RolloutState>(['Progressing', 'Soaking', 'WaitingApproval', 'Blocked', 'Done']);
const DIGEST = /^[0-9a-f]{64}$/;

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is string => typeof v === 'string' && Number.isFinite(Date.parse(v));
const isDigest = (v: unknown): v is string => typeof v === 'string' && DIGEST.test(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** The record in `v`, or null when it is not one. */
export function rolloutRecordOf(v: unknown): MirrorRollout | null {
  if (!isRecord(v)) return null;
  const { digest, previous, stage, stages, stageName, state, reason, soakEndsAt, since, stageSince, published, before, haltedProbes } = v;
  if (!isDigest(digest) || !(previous === null || isDigest(previous)) || !isCount(stage) || !isCount(stages) || stage > stages) return null;
  if (!(stageName === null || typeof stageName === 'string') || typeof state !== 'string' || !STATES.has(state) || typeof reason !== 'string') return null;
  if (!(soakEndsAt === null || isTime(soakEndsAt)) || !isTime(since) || !(stageSince === null || isTime(stageSince))) return null;
  if (!isRecord(published) || !Object.values(published).every(isTime)) return null;
  if (!isRecord(before) || !Object.values(before).every((d) => d === null || isDigest(d))) return null;
  if (!(haltedProbes === undefined || typeof haltedProbes === 'string')) return null;
  const out: MirrorRollout = {
    digest, previous, stage, stages, stageName, state: state as RolloutState, reason, soakEndsAt, since, stageSince,
    published: { ...(published as Record<string, string>) },
    before: { ...(before as Record<string, string | null>) },
  };
  if (haltedProbes !== undefined) out.haltedProbes = haltedProbes;
  return out;
}
