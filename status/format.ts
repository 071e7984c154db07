/**
 * Small pure formatters shared by the status page and `pulpdist status`, so that the browser and
 * the terminal say the same thing the same way.
 */
import { formatBytes, formatDuration } from '../core/units.js';
import { STATE_ORDER, type MirrorState, type SyncProgress } from '../core/status.js';

/** Background / text colours of each state on the page (text as well as colour: see the page). */
export const STATE_COLOURS: Readonly<Record<MirrorState, { bg: string; fg: string; line: string }>> = {
  Synced: { bg: '#d3f3dc', fg: '#0f5323', line: '#1a7f37' },
  Progressing: { bg: '#d6e6ff', fg: '#0a3069', line: '#0969da' },
  OutOfSync: { bg: '#fff0c2', fg: '#6b4500', line: '#bf8700' },
  Failed: { bg: '#ffd8d3', fg: '#82071e', line: '#cf222e' },
  Blocked: { bg: '#ffe2c7', fg: '#762c00', line: '#bc4c00' },
  Pending: { bg: '#e6e8eb', fg: '#3d444d', line: '#8c959f' },
  Suspended: { bg: '#eadcff', fg: '#3e1f79', line: '#8250df' },
};

/** The worst of some states (gitops-engine's IsWorse); null for none. */
export function worstState(states: Iterable<MirrorState>): MirrorState | null {
  let worst: MirrorState | null = null;
  for (const s of states) {
    if (worst === null || STATE_ORDER.indexOf(s) < STATE_ORDER.indexOf(worst)) worst = s;
  }
  return worst;
}

/** The first 12 hex digits of a tree digest (`sha256:` prefix dropped), or `—`. */
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return '—';
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** A Git commit as people quote it (7 hex digits), or `—`. */
export function shortCommit(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 7) : '—';
}

/** Age of an ISO time relative to `now`: `12s`, `5m`, `3h`, `2d`; `—` when unknown. */
export function formatAge(iso: string | null | undefined, now: Date): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const s = Math.max(0, Math.round((now.getTime() - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Milliseconds between two ISO times, or null. */
export function spanMs(start: string | null | undefined, end: string | null | undefined): number | null {
  if (!start || !end) return null;
  const a = Date.parse(start);
  const b = Date.parse(end);
  return Number.isFinite(a) && Number.isFinite(b) && b >= a ? b - a : null;
}

/** The share done, 0..1, by bytes (files where bytes are unknown); null when neither is known. */
export function shareDone(p: SyncProgress): number | null {
  if (p.bytes.total) return Math.min(1, p.bytes.done / p.bytes.total);
  if (p.files.total) return Math.min(1, p.files.done / p.files.total);
  return null;
}

/** `syncing: 3/10 files, 1.2 MiB of 4.0 MiB, 800 KiB/s, 4s to go`: the message and the terminal line. */
export function progressLine(p: SyncProgress): string {
  return `syncing: ${progressFigures(p)}`;
}

/** `3/10 files, 1.2 MiB of 4.0 MiB, 800 KiB/s, 4s to go`: the figures alone (the page's bar). */
export function progressFigures(p: SyncProgress): string {
  const parts = [`${p.files.done}${p.files.total === null ? '' : `/${p.files.total}`} files`];
  parts.push(p.bytes.total === null ? formatBytes(p.bytes.done) : `${formatBytes(p.bytes.done)} of ${formatBytes(p.bytes.total)}`);
  if (p.bytesPerSecond !== null) parts.push(`${formatBytes(p.bytesPerSecond)}/s`);
  if (p.etaSeconds !== null) parts.push(`${formatDuration(p.etaSeconds * 1000)} to go`);
  return parts.join(', ');
}
