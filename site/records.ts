/**
 * What the embedded site stores: one record type per Pulp object kind, keyed by UUID. Relations are
 * stored as the hrefs Pulp shows, so serializing is a field copy; versions are keyed
 * `<repository id>/<number>`. Records are plain JSON so that the journal can hold them as they are.
 */
import type { ProgressReport } from '../pulp/types.js';

export type Labels = Record<string, string>;

export interface RepositoryRecord {
  id: string;
  pulp_created: string;
  name: string;
  description: string | null;
  pulp_labels: Labels;
  retain_repo_versions: number | null;
  remote: string | null;
  autopublish: boolean;
  manifest: string | null;
  /** Highest version number ever made; numbers are never reused. */
  latest_number: number;
}

export interface VersionRecord {
  /** `<repository id>/<number>`. */
  id: string;
  repository_id: string;
  number: number;
  pulp_created: string;
  base_version: string | null;
  /** Content unit ids present in this version. */
  content: string[];
  added: string[];
  removed: string[];
}

export interface RemoteRecord {
  id: string;
  pulp_created: string;
  pulp_last_updated: string;
  name: string;
  url: string;
  ca_cert: string | null;
  client_cert: string | null;
  client_key: string | null;
  tls_validation: boolean;
  proxy_url: string | null;
  proxy_username: string | null;
  proxy_password: string | null;
  username: string | null;
  password: string | null;
  pulp_labels: Labels;
  download_concurrency: number | null;
  max_retries: number | null;
  policy: 'immediate' | 'on_demand' | 'streamed';
  total_timeout: number | null;
  connect_timeout: number | null;
  sock_connect_timeout: number | null;
  sock_read_timeout: number | null;
  headers: Record<string, string>[] | null;
  rate_limit: number | null;
  /** Ours: bytes per second for all of one sync's downloads; null = no cap. */
  pulpdist_bandwidth_limit: number | null;
}

export interface PublicationRecord {
  id: string;
  pulp_created: string;
  repository_id: string;
  number: number;
  /** Name the manifest file is served under; null = none. */
  manifest: string | null;
  /** sha256 and size of the manifest bytes, kept in the blob store. */
  manifest_sha256: string | null;
  manifest_size: number;
}

export interface DistributionRecord {
  id: string;
  pulp_created: string;
  name: string;
  base_path: string;
  publication: string | null;
  repository: string | null;
  content_guard: string | null;
  pulp_labels: Labels;
}

export interface ContentRecord {
  id: string;
  pulp_created: string;
  relative_path: string;
  sha256: string;
  artifact_id: string;
}

export interface ArtifactRecord {
  id: string;
  pulp_created: string;
  size: number;
  sha224: string | null;
  sha256: string;
  sha384: string | null;
  sha512: string | null;
}

/** The wire shape of a task's progress report: the client's type, since the site must answer as Pulp does. */
export type { ProgressReport };

export interface TaskRecord {
  id: string;
  pulp_created: string;
  state: 'waiting' | 'running' | 'completed' | 'failed' | 'canceling' | 'canceled';
  name: string;
  logging_cid: string;
  started_at: string | null;
  finished_at: string | null;
  error: Record<string, string> | null;
  worker: string | null;
  progress_reports: ProgressReport[];
  created_resources: (string | null)[];
  reserved_resources_record: string[];
}

/** Every kind the store holds, by the name used in journal operations. */
export interface Tables {
  repositories: Map<string, RepositoryRecord>;
  versions: Map<string, VersionRecord>;
  remotes: Map<string, RemoteRecord>;
  publications: Map<string, PublicationRecord>;
  distributions: Map<string, DistributionRecord>;
  content: Map<string, ContentRecord>;
  artifacts: Map<string, ArtifactRecord>;
  tasks: Map<string, TaskRecord>;
}

export type Kind = keyof Tables;
export const KINDS: readonly Kind[] = ['repositories', 'versions', 'remotes', 'publications', 'distributions', 'content', 'artifacts', 'tasks'];

/** One journal operation: put a whole record, or delete one by id. */
export type AnyRecord = RepositoryRecord | VersionRecord | RemoteRecord | PublicationRecord | DistributionRecord | ContentRecord | ArtifactRecord | TaskRecord;
export type Op = { put: Kind; v: AnyRecord } | { del: Kind; id: string };

/** The API prefix every href starts with. */
export const API = '/pulp/api/v3/';

export const href = {
  repository: (id: string) => `${API}repositories/file/file/${id}/`,
  version: (repoId: string, n: number) => `${API}repositories/file/file/${repoId}/versions/${n}/`,
  remote: (id: string) => `${API}remotes/file/file/${id}/`,
  publication: (id: string) => `${API}publications/file/file/${id}/`,
  distribution: (id: string) => `${API}distributions/file/file/${id}/`,
  content: (id: string) => `${API}content/file/files/${id}/`,
  artifact: (id: string) => `${API}artifacts/${id}/`,
  task: (id: string) => `${API}tasks/${id}/`,
  worker: (id: string) => `${API}workers/${id}/`,
};

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const HREF_RES: Record<HrefKind, RegExp> = {
  repository: new RegExp(`^/pulp/api/v3/repositories/file/file/(${UUID})/$`),
  version: new RegExp(`^/pulp/api/v3/repositories/file/file/(${UUID})/versions/(\\d+)/$`),
  remote: new RegExp(`^/pulp/api/v3/remotes/file/file/(${UUID})/$`),
  publication: new RegExp(`^/pulp/api/v3/publications/file/file/(${UUID})/$`),
  distribution: new RegExp(`^/pulp/api/v3/distributions/file/file/(${UUID})/$`),
  content: new RegExp(`^/pulp/api/v3/content/file/files/(${UUID})/$`),
  artifact: new RegExp(`^/pulp/api/v3/artifacts/(${UUID})/$`),
  task: new RegExp(`^/pulp/api/v3/tasks/(${UUID})/$`),
};

export type HrefKind = 'repository' | 'version' | 'remote' | 'publication' | 'distribution' | 'content' | 'artifact' | 'task';

/** The id an href names, or null when it is not an href of that kind (`version` gives `repo/n`). */
export function parseHref(kind: HrefKind, text: string): string | null {
  const m = HREF_RES[kind].exec(text);
  // Every pattern captures the id (and a version its number) whenever it matches.
  const [, id, number] = m ?? [];
  if (id === undefined) return null;
  return kind === 'version' ? `${id}/${Number(number)}` : id;
}

/** True when text is an href of some kind we know (to tell "no URL match" from "incorrect match"). */
export function isAnyHref(text: string): boolean {
  return Object.values(HREF_RES).some((re) => re.test(text));
}

let lastMicros = 0;
/** Pulp-style timestamp (UTC, microseconds, `Z`), strictly increasing within the process so order by time is total. */
export function timestamp(): string {
  const nowMicros = Math.max(Math.floor((performance.timeOrigin + performance.now()) * 1000), lastMicros + 1);
  lastMicros = nowMicros;
  const ms = Math.floor(nowMicros / 1000);
  const iso = new Date(ms).toISOString(); // …sss Z
  return `${iso.slice(0, 23)}${String(nowMicros % 1000).padStart(3, '0')}Z`;
}

/** Make sure timestamps after a restart sort after every stored one. */
export function advanceClockPast(stamp: string): void {
  const ms = Date.parse(stamp.slice(0, 23) + 'Z');
  const micros = ms * 1000 + Number(stamp.slice(23, 26) || 0);
  if (micros > lastMicros) lastMicros = micros;
}
