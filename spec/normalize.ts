/**
 * Valid documents to the spec model: every default filled in, units parsed, so that nothing
 * downstream reads raw YAML or repeats a default. Only called on documents the schema accepted.
 */
import { parseBandwidth, parseDuration } from '../core/units.js';
import { normalizeRollout, type RawRollout } from './rollout.js';
import type { MirrorSchedule, MirrorSource, MirrorSpec, SiteAuth, SiteSpec, SourcePosition, SymlinkPolicy } from './types.js';

/** Defaults of the spec format (docs/specs.md lists them for users). */
export const SPEC_DEFAULTS = {
  apiRoot: '/pulp/api/v3/',
  tlsValidation: true,
  concurrentSyncs: 2,
  downloadConcurrency: 10,
  retainVersions: 3,
  suspend: false,
  /** Orphan cleanup: daily, sparing orphans younger than an hour (Pulp's own default is a day). */
  orphanCleanupIntervalMs: 86_400_000,
  orphanProtectionMs: 3_600_000,
  /** Free space under this share of the disk is shown as a warning. */
  freeSpaceWarning: 0.1,
} as const;

/** The shape the site schema guarantees. */
interface RawSite {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    pulp: { url: string; apiRoot?: string; contentOrigin?: string; tlsValidation?: boolean; auth?: SiteAuth };
    upstream?: string;
    limits?: { concurrentSyncs?: number; downloadConcurrency?: number; bandwidth?: string; shaper?: string };
    orphanCleanup?: { enabled?: boolean; interval?: string; protectionTime?: string };
    storage?: { freeSpaceWarning?: string };
  };
}

/** The shape the mirror schema guarantees. */
interface RawMirror {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    source: { path?: string; manifest?: string; settle?: string; inProgressMarker?: string; readOnly?: boolean };
    exclude?: string[];
    symlinks?: SymlinkPolicy;
    origin: string;
    sites: string[];
    basePath?: string;
    schedule?: { interval?: string; cron?: string; syncOnChange?: boolean };
    retainVersions?: number;
    suspend?: boolean;
    rollout?: RawRollout;
    pin?: string;
    pins?: Record<string, string>;
  };
}

/** `https://pulp.example.com/` and `https://pulp.example.com` are the same origin: keep one spelling. */
function origin(url: string): string {
  return url.replace(/\/+$/, '');
}

export function normalizeSite(data: unknown, position: SourcePosition): SiteSpec {
  const raw = data as RawSite;
  const { pulp, upstream, limits = {}, orphanCleanup = {}, storage = {} } = raw.spec;
  const url = origin(pulp.url);
  const site: SiteSpec = {
    name: raw.metadata.name,
    labels: { ...(raw.metadata.labels ?? {}) },
    pulp: {
      url,
      apiRoot: pulp.apiRoot ?? SPEC_DEFAULTS.apiRoot,
      contentOrigin: pulp.contentOrigin === undefined ? url : origin(pulp.contentOrigin),
      tlsValidation: pulp.tlsValidation ?? SPEC_DEFAULTS.tlsValidation,
    },
    limits: {
      concurrentSyncs: limits.concurrentSyncs ?? SPEC_DEFAULTS.concurrentSyncs,
      downloadConcurrency: limits.downloadConcurrency ?? SPEC_DEFAULTS.downloadConcurrency,
    },
    orphanCleanup: {
      enabled: orphanCleanup.enabled ?? true,
      intervalMs: orphanCleanup.interval === undefined ? SPEC_DEFAULTS.orphanCleanupIntervalMs : parseDuration(orphanCleanup.interval),
      protectionMs: orphanCleanup.protectionTime === undefined ? SPEC_DEFAULTS.orphanProtectionMs : parseDuration(orphanCleanup.protectionTime),
    },
    storage: { freeSpaceWarning: storage.freeSpaceWarning === undefined ? SPEC_DEFAULTS.freeSpaceWarning : Number(storage.freeSpaceWarning.slice(0, -1)) / 100 },
    position,
  };
  if (pulp.auth) {
    const auth: SiteAuth = { username: pulp.auth.username };
    if (pulp.auth.passwordEnv !== undefined) auth.passwordEnv = pulp.auth.passwordEnv;
    if (pulp.auth.passwordFile !== undefined) auth.passwordFile = pulp.auth.passwordFile;
    site.pulp.auth = auth;
  }
  if (upstream !== undefined) site.upstream = upstream;
  if (limits.bandwidth !== undefined) site.limits.bandwidth = parseBandwidth(limits.bandwidth);
  if (limits.shaper !== undefined) site.limits.shaper = limits.shaper.replace(/\/+$/, '');
  return site;
}

export function normalizeMirror(data: unknown, position: SourcePosition): MirrorSpec {
  const raw = data as RawMirror;
  const s = raw.spec;
  const source: MirrorSource = s.source.path !== undefined ? { kind: 'path', path: s.source.path } : { kind: 'manifest', url: String(s.source.manifest) };
  if (source.kind === 'path') {
    if (s.exclude !== undefined && s.exclude.length > 0) source.exclude = [...s.exclude];
    if (s.symlinks !== undefined) source.symlinks = s.symlinks;
    if (s.source.settle !== undefined) source.settleMs = parseDuration(s.source.settle);
    if (s.source.inProgressMarker !== undefined) source.inProgressMarker = s.source.inProgressMarker;
    if (s.source.readOnly === true) source.readOnly = true;
  }
  const mirror: MirrorSpec = {
    name: raw.metadata.name,
    labels: { ...(raw.metadata.labels ?? {}) },
    source,
    origin: s.origin,
    sites: [...s.sites],
    basePath: s.basePath ?? raw.metadata.name,
    retainVersions: s.retainVersions ?? SPEC_DEFAULTS.retainVersions,
    suspend: s.suspend ?? SPEC_DEFAULTS.suspend,
    position,
  };
  if (s.pin !== undefined) mirror.pin = s.pin;
  if (s.pins !== undefined && Object.keys(s.pins).length > 0) mirror.pins = { ...s.pins };
  if (s.schedule) {
    const schedule: MirrorSchedule =
      s.schedule.interval !== undefined ? { intervalMs: parseDuration(s.schedule.interval) } : { cron: String(s.schedule.cron).trim().split(/\s+/).join(' ') };
    if ('cron' in schedule && s.schedule.syncOnChange === true) schedule.syncOnChange = true;
    mirror.schedule = schedule;
  }
  if (s.rollout) mirror.rollout = normalizeRollout(s.rollout);
  return mirror;
}
