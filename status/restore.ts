/**
 * The last status a controller committed, read back from the status branch at start, so that a
 * restart does not forget the history of the network: the last sync of every placement (time,
 * result, bytes, files, task), the last known state of each, the commit applied and when each
 * site was last seen. The files are ours but live in Git, where anyone can edit them: whatever
 * does not have the shape we write is skipped, never trusted.
 */
import YAML from 'yaml';
import { STATE_ORDER, type LastSync, type MirrorSiteStatus, type MirrorState, type MirrorStatus, type SiteStatus } from '../core/status.js';
import type { GitSource } from '../gitsource/types.js';
import { readTextFiles } from '../gitsource/tree.js';
import { STATUS_DIR } from './files.js';

/** What the status branch said when this process started. */
export interface RestoredStatus {
  /** The status branch commit it was read from. */
  commit: string;
  /** The spec commit the last pass of the previous process applied. */
  observedCommit: string | null;
  mirrors: MirrorStatus[];
  sites: SiteStatus[];
  /** Files skipped because they did not have the shape pulpdist writes. */
  skipped: string[];
}

/** Read the status branch's head; null when there is no status branch yet. */
export async function readLastStatus(source: GitSource, opts: { signal: AbortSignal }): Promise<RestoredStatus | null> {
  const head = await source.statusHead(opts);
  if (!head) return null;
  return { commit: head, ...parseStatusFiles(await readTextFiles(source.repo, head, STATUS_DIR, opts)) };
}

/** The status files (paths relative to `status/`, as files.ts renders them) → what they say. Pure. */
export function parseStatusFiles(files: ReadonlyMap<string, string>): Omit<RestoredStatus, 'commit'> {
  const mirrors: MirrorStatus[] = [];
  const sites: SiteStatus[] = [];
  const skipped: string[] = [];
  let observedCommit: string | null = null;
  for (const [name, text] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (name === 'README.md') continue;
    const v = parseYaml(text);
    if (name === 'controller.yaml') {
      const c = isRecord(v) && typeof v.observedCommit === 'string' && /^[0-9a-f]{40,64}$/.test(v.observedCommit) ? v.observedCommit : null;
      observedCommit = c;
      continue;
    }
    const parsed = name.startsWith('mirrors/') ? mirrorOf(v) : name.startsWith('sites/') ? siteOf(v) : undefined;
    if (parsed === undefined) continue;
    if (parsed === null) skipped.push(name);
    else if ('origin' in parsed) mirrors.push(parsed);
    else sites.push(parsed);
  }
  return { observedCommit, mirrors, sites, skipped };
}

function parseYaml(text: string): unknown {
  try {
    return YAML.parse(text);
  } catch {
    return null;
  }
}

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const count = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);
const time = (v: unknown): string | null => (typeof v === 'string' && Number.isFinite(Date.parse(v)) ? v : null);
const STATES: ReadonlySet<string> = new Set(STATE_ORDER);
const RESULTS: ReadonlySet<string> = new Set(['completed', 'failed', 'canceled', 'skipped']);

function mirrorOf(v: unknown): MirrorStatus | null {
  if (!isRecord(v) || typeof v.name !== 'string' || typeof v.origin !== 'string' || !Array.isArray(v.sites)) return null;
  const sites: MirrorSiteStatus[] = [];
  for (const c of v.sites) {
    if (!isRecord(c) || typeof c.site !== 'string' || typeof c.state !== 'string' || !STATES.has(c.state)) return null;
    sites.push({
      site: c.site,
      state: c.state as MirrorState,
      version: count(c.version),
      treeDigest: str(c.treeDigest),
      files: count(c.files),
      bytes: count(c.bytes),
      lastSync: lastSyncOf(c.lastSync),
      message: str(c.message) ?? '',
      ...(c.lastSuccessAt !== undefined ? { lastSuccessAt: time(c.lastSuccessAt) } : {}),
      ...(c.propagationSeconds !== undefined ? { propagationSeconds: typeof c.propagationSeconds === 'number' && c.propagationSeconds >= 0 ? c.propagationSeconds : null } : {}),
      // A pinned cell stays marked (not stale) on the page until the first pass says it again.
      ...(isRecord(c.pin) && typeof c.pin.why === 'string' ? { pin: { digest: str(c.pin.digest), version: count(c.pin.version), why: c.pin.why } } : {}),
    });
  }
  return { name: v.name, origin: v.origin, treeDigest: str(v.treeDigest), sites };
}

function lastSyncOf(v: unknown): LastSync | null {
  if (!isRecord(v)) return null;
  const result = typeof v.result === 'string' && RESULTS.has(v.result) ? (v.result as LastSync['result']) : null;
  const s: LastSync = {
    startedAt: time(v.startedAt),
    finishedAt: time(v.finishedAt),
    result,
    downloadedBytes: count(v.downloadedBytes),
    downloadedFiles: count(v.downloadedFiles),
    task: str(v.task),
  };
  return s.startedAt || s.finishedAt ? s : null;
}

function siteOf(v: unknown): SiteStatus | null {
  if (!isRecord(v) || typeof v.name !== 'string' || typeof v.url !== 'string') return null;
  return {
    name: v.name,
    url: v.url,
    ...(typeof v.upstream === 'string' ? { upstream: v.upstream } : {}),
    reachable: v.reachable === true,
    pulpVersion: str(v.pulpVersion),
    lastSeen: time(v.lastSeen),
    message: str(v.message) ?? '',
  };
}
