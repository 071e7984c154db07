/**
 * Records → the JSON Pulp shows, field for field and in Pulp's key order (see the recordings in
 * shared/reference/real-pulp-3.24/). Write-only remote fields appear only in `hidden_fields`.
 */
import { href, type ArtifactRecord, type ContentRecord, type DistributionRecord, type PublicationRecord, type RemoteRecord, type RepositoryRecord, type Tables, type TaskRecord, type VersionRecord } from './records.js';
import { relations } from './relations.js';
import { latestVersion } from './versions.js';

export function repositoryJson(t: Tables, r: RepositoryRecord): Record<string, unknown> {
  const h = href.repository(r.id);
  return {
    pulp_href: h,
    pulp_created: r.pulp_created,
    versions_href: `${h}versions/`,
    pulp_labels: r.pulp_labels,
    latest_version_href: href.version(r.id, latestVersion(t, r).number),
    name: r.name,
    description: r.description,
    retain_repo_versions: r.retain_repo_versions,
    remote: r.remote,
    autopublish: r.autopublish,
    manifest: r.manifest,
  };
}

export function versionJson(v: VersionRecord): Record<string, unknown> {
  const h = href.version(v.repository_id, v.number);
  const summary = (count: number, filter: string) => (count ? { 'file.file': { count, href: `/pulp/api/v3/content/file/files/?${filter}=${h}` } } : {});
  return {
    pulp_href: h,
    pulp_created: v.pulp_created,
    number: v.number,
    repository: href.repository(v.repository_id),
    base_version: v.base_version,
    content_summary: {
      added: summary(v.added.length, 'repository_version_added'),
      removed: summary(v.removed.length, 'repository_version_removed'),
      present: summary(v.content.length, 'repository_version'),
    },
  };
}

const HIDDEN = ['client_key', 'proxy_username', 'proxy_password', 'username', 'password'] as const;

export function remoteJson(r: RemoteRecord): Record<string, unknown> {
  return {
    pulp_href: href.remote(r.id),
    pulp_created: r.pulp_created,
    name: r.name,
    url: r.url,
    ca_cert: r.ca_cert,
    client_cert: r.client_cert,
    tls_validation: r.tls_validation,
    proxy_url: r.proxy_url,
    pulp_labels: r.pulp_labels,
    pulp_last_updated: r.pulp_last_updated,
    download_concurrency: r.download_concurrency,
    max_retries: r.max_retries,
    policy: r.policy,
    total_timeout: r.total_timeout,
    connect_timeout: r.connect_timeout,
    sock_connect_timeout: r.sock_connect_timeout,
    sock_read_timeout: r.sock_read_timeout,
    headers: r.headers,
    rate_limit: r.rate_limit,
    hidden_fields: HIDDEN.map((name) => ({ name, is_set: r[name] !== null && r[name] !== '' })),
    pulpdist_bandwidth_limit: r.pulpdist_bandwidth_limit,
  };
}

export function publicationJson(t: Tables, p: PublicationRecord): Record<string, unknown> {
  const h = href.publication(p.id);
  const distributions = relations(t).find('distributionsServing', h).map((d) => href.distribution(d.id));
  return {
    pulp_href: h,
    pulp_created: p.pulp_created,
    repository_version: href.version(p.repository_id, p.number),
    repository: href.repository(p.repository_id),
    distributions,
    manifest: p.manifest,
  };
}

export function distributionJson(d: DistributionRecord, contentOrigin: string): Record<string, unknown> {
  return {
    pulp_href: href.distribution(d.id),
    pulp_created: d.pulp_created,
    base_path: d.base_path,
    base_url: `${contentOrigin}/pulp/content/${d.base_path}/`,
    content_guard: d.content_guard,
    pulp_labels: d.pulp_labels,
    name: d.name,
    repository: d.repository,
    publication: d.publication,
  };
}

export function contentJson(c: ContentRecord, a: ArtifactRecord | undefined): Record<string, unknown> {
  return {
    pulp_href: href.content(c.id),
    pulp_created: c.pulp_created,
    artifact: a ? href.artifact(a.id) : null,
    relative_path: c.relative_path,
    md5: null,
    sha1: null,
    sha224: a?.sha224 ?? null,
    sha256: c.sha256,
    sha384: a?.sha384 ?? null,
    sha512: a?.sha512 ?? null,
  };
}

export function artifactJson(a: ArtifactRecord): Record<string, unknown> {
  return {
    pulp_href: href.artifact(a.id),
    pulp_created: a.pulp_created,
    file: `artifact/${a.sha256.slice(0, 2)}/${a.sha256.slice(2)}`,
    size: a.size,
    md5: null,
    sha1: null,
    sha224: a.sha224,
    sha256: a.sha256,
    sha384: a.sha384,
    sha512: a.sha512,
  };
}

export function taskJson(r: TaskRecord): Record<string, unknown> {
  return {
    pulp_href: href.task(r.id),
    pulp_created: r.pulp_created,
    state: r.state,
    name: r.name,
    logging_cid: r.logging_cid,
    started_at: r.started_at,
    finished_at: r.finished_at,
    error: r.error,
    worker: r.worker,
    parent_task: null,
    child_tasks: [],
    task_group: null,
    progress_reports: r.progress_reports.map((p) => ({ ...p })),
    created_resources: [...r.created_resources],
    reserved_resources_record: r.reserved_resources_record,
  };
}
