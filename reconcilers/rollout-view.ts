/**
 * How a rollout reads for people: one line per stage for `plan` (which sites serve what, what
 * waits for what, when the soak ends), and one summary line for the page and `pulpdist status`
 * from the status alone. Pure; times in UTC as `HH:MM` (with the date when it is not today's).
 */
import type { MirrorRollout } from '../core/status.js';
import { short } from './rollout.js';

/** A stage with its resolved sites (rollout.ts rolloutStages). */
export interface StageView {
  name: string;
  sites: readonly string[];
}

/** `14:32`, or `2026-12-06 14:32` when not on the day of `now`. */
export function clock(iso: string, now: string): string {
  const t = new Date(iso).toISOString();
  const day = t.slice(0, 10);
  return day === new Date(now).toISOString().slice(0, 10) ? t.slice(11, 16) : `${day} ${t.slice(11, 16)}`;
}

/** One line: `stage 1/2 canary: Soaking, soak ends 14:32`, `Blocked: …`, `Done`. */
export function rolloutSummary(r: MirrorRollout, now: string): string {
  if (r.state === 'Done') return `rollout of ${short(r.digest)} done (${r.stages} stage${r.stages === 1 ? '' : 's'})`;
  const where = `stage ${r.stage + 1}/${r.stages} ${r.stageName ?? ''}`.trimEnd();
  if (r.state === 'Soaking' && r.soakEndsAt) return `${where}: soaking, soak ends ${clock(r.soakEndsAt, now)}`;
  if (r.state === 'Blocked') return `${where}: Blocked: ${r.reason}`;
  if (r.state === 'WaitingApproval') return `${where}: waiting for approval of ${r.digest.replace(/^sha256:/, '').slice(0, 12)}`;
  return `${where}: ${r.reason || 'in progress'}`;
}

/**
 * The rollout's position, a line per stage:
 * `stage 1/2 canary: leaf serves 9bc014…` · `stage 2/2 rest waits: soak ends 14:32` ·
 * `stage 2/2 rest waits for approval` · `stage 1/2 canary halted: …`.
 */
export function rolloutLines(r: MirrorRollout, stages: readonly StageView[], serves: (site: string) => string | null, now: string): string[] {
  const lines = [`rollout of ${short(r.digest)} (previous ${short(r.previous)}): ${r.state}`];
  const n = stages.length;
  stages.forEach((stage, i) => {
    const head = `stage ${i + 1}/${n} ${stage.name}`;
    const who = stage.sites.length ? stage.sites.map((s) => `${s} serves ${short(serves(s))}`).join(', ') : 'no sites';
    if (i < r.stage || r.state === 'Done') lines.push(`${head}: ${who}`);
    else if (i === r.stage) {
      if (r.state === 'WaitingApproval') lines.push(`${head} waits for approval: ${r.reason}`);
      else if (r.state === 'Blocked') lines.push(`${head} halted: ${r.reason}`);
      else if (r.state === 'Soaking' && r.soakEndsAt) lines.push(`${head}: ${who}; soak ends ${clock(r.soakEndsAt, now)}`);
      else lines.push(`${head}: ${who}`);
    } else {
      const wait = i === r.stage + 1 && r.state === 'Soaking' && r.soakEndsAt ? `soak ends ${clock(r.soakEndsAt, now)}` : `after stage ${r.stage + 1}`;
      lines.push(`${head} waits (${wait}): ${who}`);
    }
  });
  return lines;
}
