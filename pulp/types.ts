/**
 * Pulp 3 objects as the REST API shows them (pulpcore 3.24 + pulp_file; see
 * shared/reference/pulp-api.md), and the client interface reconcilers are given. Hrefs are
 * opaque strings. Unknown fields from newer Pulp versions are kept but never relied on.
 */

export type Href = string;
export type Labels = Record<string, string>;

export interface PulpObject {
  pulp_href: Href;
  pulp_created: string;
  [field: string]: unknown;
}

export interface FileRepository extends PulpObject {
  name: string;
  description: string | null;
  pulp_labels: Labels;
  retain_repo_versions: number | null;
  remote: Href | null;
  autopublish: boolean;
  manifest: string | null;
  versions_href: Href;
  latest_version_href: Href;
}

export interface FileRemote extends PulpObject {
  name: string;
  url: string;
  pulp_labels: Labels;
  policy: 'immediate' | 'on_demand' | 'streamed';
  tls_validation: boolean;
  download_concurrency: number | null;
  rate_limit: number | null;
  /** The forward proxy downloads go through; null = direct. */
  proxy_url?: string | null;
  /** Embedded sites only: bytes per second for all of one sync's downloads. */
  pulpdist_bandwidth_limit?: number | null;
}

export interface FilePublication extends PulpObject {
  repository_version: Href;
  repository: Href;
  distributions: Href[];
  manifest: string | null;
}

export interface FileDistribution extends PulpObject {
  name: string;
  base_path: string;
  base_url: string;
  pulp_labels: Labels;
  publication: Href | null;
  repository: Href | null;
  content_guard: Href | null;
}

export interface RepositoryVersion extends PulpObject {
  number: number;
  repository: Href;
  base_version: Href | null;
  content_summary: {
    added: Record<string, { count: number; href: string }>;
    removed: Record<string, { count: number; href: string }>;
    present: Record<string, { count: number; href: string }>;
  };
}

/** A stored file (`artifacts/`): its size is what a manifest line needs besides path and sha256. */
export interface Artifact extends PulpObject {
  size: number;
  sha256: string | null;
}

export interface FileContent extends PulpObject {
  relative_path: string;
  sha256: string | null;
  artifact: Href | null;
}

export type TaskState = 'waiting' | 'skipped' | 'running' | 'completed' | 'failed' | 'canceled' | 'canceling';

export interface ProgressReport {
  message: string;
  code: string;
  state: string;
  total: number | null;
  done: number;
  suffix: string | null;
}

export interface Task extends PulpObject {
  state: TaskState;
  name: string;
  logging_cid: string;
  started_at: string | null;
  finished_at: string | null;
  error: { description?: string; traceback?: string; reason?: string } | null;
  worker: Href | null;
  progress_reports: ProgressReport[];
  created_resources: (Href | null)[];
  reserved_resources_record: string[];
}

export interface PulpStatus {
  versions: { component: string; version: string; package: string; domain_compatible?: boolean }[];
  online_workers: unknown[];
  online_content_apps: unknown[];
  database_connection: { connected: boolean };
  storage: { total: number; used: number; free: number } | null;
  content_settings: { content_origin: string; content_path_prefix: string };
  [field: string]: unknown;
}

/** Filters the client passes through to list endpoints. */
export interface ListFilter {
  name?: string;
  name__in?: string[];
  pulp_label_select?: string;
  base_path?: string;
  repository?: Href;
  repository_version?: Href;
  [filter: string]: string | string[] | undefined;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** Options for calls that start a Pulp task and wait for it. */
export interface TaskCallOptions extends CallOptions {
  /** Called with each polled state of the task (progress views, stuck-task deadlines). */
  onProgress?: (task: Task) => void;
  /** Give up waiting (and cancel the task) after this long. @default 3_600_000 */
  timeoutMs?: number;
  /** Poll at least this often (a cap below the client's `taskPollMaxMs`; never below its `taskPollMinMs`). */
  pollMaxMs?: number;
}

export type FileRepositoryCreate = {
  name: string;
  pulp_labels?: Labels;
  retain_repo_versions?: number | null;
  remote?: Href | null;
  autopublish?: boolean;
  description?: string | null;
};
export type FileRemoteCreate = {
  name: string;
  url: string;
  pulp_labels?: Labels;
  policy?: FileRemote['policy'];
  download_concurrency?: number | null;
  tls_validation?: boolean;
  /** A forward proxy for the remote's downloads (a `pulpdist shaper`, or any http proxy). */
  proxy_url?: string | null;
  pulpdist_bandwidth_limit?: number | null;
};
export type FileDistributionCreate = {
  name: string;
  base_path: string;
  pulp_labels?: Labels;
  repository?: Href | null;
  publication?: Href | null;
};

/**
 * What a delete did. An object already gone (404) counts as deleted (Flux's `ssa` does the same):
 * another pulpdist, or a hand, was first; the caller's goal holds either way.
 */
export type DeleteResult = { result: 'deleted'; task: Task } | { result: 'already-gone' };

/** The published tree of a distribution, read from its PULP_MANIFEST. */
export interface PublishedManifest {
  /** The manifest text as served. */
  text: string;
  /** Validator for a conditional re-read, if the content app gave one. */
  etag: string | null;
}

/**
 * What reconcilers may do at one site. Implemented by pulp/client.ts over REST; every call that
 * Pulp answers with a task waits for it and throws PulpTaskError if it fails. A create that finds
 * the name taken throws an error `isPulpConflict` (pulp/errors.ts) recognises.
 */
export interface PulpClient {
  /** The site name, for messages. */
  readonly site: string;
  status(opts?: CallOptions): Promise<PulpStatus>;
  /**
   * POST orphans/cleanup/ and wait for the task: content no repository version references, then
   * artifacts no content references, older than `protectionMinutes` (0 = all), go. Server-wide.
   */
  cleanupOrphans(body: { protectionMinutes: number }, opts?: TaskCallOptions): Promise<Task>;

  listRepositories(filter?: ListFilter, opts?: CallOptions): Promise<FileRepository[]>;
  createRepository(body: FileRepositoryCreate, opts?: CallOptions): Promise<FileRepository>;
  updateRepository(href: Href, patch: Partial<FileRepositoryCreate>, opts?: TaskCallOptions): Promise<Task>;
  deleteRepository(href: Href, opts?: TaskCallOptions): Promise<DeleteResult>;
  /** POST {repository}sync/ and wait for the task. */
  syncRepository(href: Href, body: { remote?: Href; mirror?: boolean }, opts?: TaskCallOptions): Promise<Task>;
  getVersion(href: Href, opts?: CallOptions): Promise<RepositoryVersion>;
  /** The versions of a repository (`versions_href`), newest first; Pulp deletes those beyond `retain_repo_versions`. */
  listVersions(versionsHref: Href, filter?: ListFilter, opts?: CallOptions): Promise<RepositoryVersion[]>;

  listRemotes(filter?: ListFilter, opts?: CallOptions): Promise<FileRemote[]>;
  createRemote(body: FileRemoteCreate, opts?: CallOptions): Promise<FileRemote>;
  updateRemote(href: Href, patch: Partial<FileRemoteCreate>, opts?: TaskCallOptions): Promise<Task>;
  deleteRemote(href: Href, opts?: TaskCallOptions): Promise<DeleteResult>;

  listPublications(filter?: ListFilter, opts?: CallOptions): Promise<FilePublication[]>;
  createPublication(body: { repository?: Href; repository_version?: Href }, opts?: TaskCallOptions): Promise<FilePublication>;

  listDistributions(filter?: ListFilter, opts?: CallOptions): Promise<FileDistribution[]>;
  createDistribution(body: FileDistributionCreate, opts?: TaskCallOptions): Promise<FileDistribution>;
  updateDistribution(href: Href, patch: Partial<FileDistributionCreate>, opts?: TaskCallOptions): Promise<Task>;
  deleteDistribution(href: Href, opts?: TaskCallOptions): Promise<DeleteResult>;

  listContent(filter?: ListFilter, opts?: CallOptions): Promise<FileContent[]>;
  getArtifact(href: Href, opts?: CallOptions): Promise<Artifact>;
  getTask(href: Href, opts?: CallOptions): Promise<Task>;
  cancelTask(href: Href, opts?: CallOptions): Promise<Task>;
  /** Tasks matching `filter` (`state__in`, `name`, `reserved_resources`…). */
  listTasks(filter?: ListFilter, opts?: CallOptions): Promise<Task[]>;
  /** Follow a task someone else started until it ends; throws PulpTaskError when it fails. */
  awaitTask(href: Href, opts?: TaskCallOptions): Promise<Task>;

  /**
   * The PULP_MANIFEST a distribution serves, from the site's content origin
   * (`{contentOrigin}/pulp/content/{basePath}/PULP_MANIFEST`); null when nothing is published.
   * With `etag`, answers `'not-modified'` when the manifest is unchanged.
   */
  getPublishedManifest(basePath: string, opts?: CallOptions & { etag?: string }): Promise<PublishedManifest | 'not-modified' | null>;
}
