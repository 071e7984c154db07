/**
 * `remotes/file/file/` (pulp-api.md §2.3) plus our `pulpdist_bandwidth_limit`. Create answers 201;
 * update and delete are immediate tasks. file:// URLs must resolve under an `--allowed-import-path`
 * (Pulp's ALLOWED_IMPORT_PATHS), checked at create and update as Pulp does.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { found, readJsonObject, sendJson, type Ctx, type Params } from './http.js';
import { idFilters, labelSelect, nameFilters, sendList, timeFilters } from './listing.js';
import { href, timestamp, type RemoteRecord } from './records.js';
import { relations } from './relations.js';
import { remoteJson } from './serialize.js';
import { answerTask, commitTask, type Site } from './site.js';
import { BodyCheck } from './validate.js';

const STRINGS = ['ca_cert', 'client_cert', 'client_key', 'proxy_url', 'proxy_username', 'proxy_password', 'username', 'password'] as const;
const FLOATS = ['total_timeout', 'connect_timeout', 'sock_connect_timeout', 'sock_read_timeout'] as const;
const FIELDS = ['name', 'url', 'policy', 'tls_validation', 'pulp_labels', 'download_concurrency', 'max_retries', 'rate_limit', 'headers', 'pulpdist_bandwidth_limit', ...STRINGS, ...FLOATS];

export function listRemotes(site: Site, ctx: Ctx): void {
  const t = site.store.t;
  sendList(ctx, {
    items: t.remotes.values(),
    serialize: remoteJson,
    filters: {
      ...nameFilters<RemoteRecord>(),
      ...idFilters<RemoteRecord>((r) => href.remote(r.id)),
      ...labelSelect<RemoteRecord>(),
      ...timeFilters<RemoteRecord>('pulp_last_updated', (r) => r.pulp_last_updated),
    },
  });
}

export async function createRemote(site: Site, ctx: Ctx): Promise<void> {
  const fields = checkBody(site, await readJsonObject(ctx), false, null);
  const now = timestamp();
  const r: RemoteRecord = {
    id: crypto.randomUUID(),
    pulp_created: now,
    pulp_last_updated: now,
    name: '',
    url: '',
    ca_cert: null,
    client_cert: null,
    client_key: null,
    tls_validation: true,
    proxy_url: null,
    proxy_username: null,
    proxy_password: null,
    username: null,
    password: null,
    pulp_labels: {},
    download_concurrency: null,
    max_retries: null,
    policy: 'immediate',
    total_timeout: null,
    connect_timeout: null,
    sock_connect_timeout: null,
    sock_read_timeout: null,
    headers: null,
    rate_limit: null,
    pulpdist_bandwidth_limit: null,
    ...fields,
  };
  await site.store.commit([{ put: 'remotes', v: r }]);
  sendJson(ctx, 201, remoteJson(r), { Location: href.remote(r.id) });
}

export function getRemote(site: Site, ctx: Ctx, p: Params): void {
  sendJson(ctx, 200, remoteJson(found(site.store.t.remotes.get(p.id ?? ''))));
}

/** PUT and PATCH (partial). */
export async function updateRemote(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const t = site.store.t;
  const remote = found(t.remotes.get(p.id ?? ''));
  const fields = checkBody(site, await readJsonObject(ctx), ctx.method === 'PATCH', remote.id);
  return answerTask(site, ctx, {
    name: 'pulpcore.app.tasks.base.general_update',
    exclusive: [href.remote(remote.id)],
    immediate: true,
    run: commitTask(site, () => {
      const cur = t.remotes.get(remote.id);
      return cur ? [{ put: 'remotes', v: { ...cur, ...fields, pulp_last_updated: timestamp() } }] : [];
    }),
  });
}

export async function deleteRemote(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const t = site.store.t;
  const remote = found(t.remotes.get(p.id ?? ''));
  const h = href.remote(remote.id);
  return answerTask(site, ctx, {
    name: 'pulpcore.app.tasks.base.general_delete',
    exclusive: [h],
    immediate: true,
    run: commitTask(site, () => {
      if (!t.remotes.has(remote.id)) return [];
      // Repositories that used it as their default remote keep working without one (FK SET_NULL).
      const repos = relations(t).find('repositoriesUsing', h).map((r) => ({ put: 'repositories' as const, v: { ...r, remote: null } }));
      return [...repos, { del: 'remotes', id: remote.id }];
    }),
  });
}

function checkBody(site: Site, body: Record<string, unknown>, partial: boolean, selfId: string | null): Partial<RemoteRecord> {
  const t = site.store.t;
  const c = new BodyCheck(body, FIELDS, partial);
  const out: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) out[k] = v;
  };
  const name = c.str('name', { required: true });
  if (name && relations(t).find('remotesNamed', name).some((r) => r.id !== selfId)) c.fail('name', 'This field must be unique.');
  set('name', name);
  const url = c.str('url', { required: true });
  if (url) {
    const msg = checkUrl(url, site.allowedImportPaths);
    if (msg) c.fail('url', msg);
  }
  set('url', url);
  set('policy', c.choice('policy', ['immediate', 'on_demand', 'streamed'] as const));
  set('tls_validation', c.bool('tls_validation'));
  set('pulp_labels', c.labels());
  set('download_concurrency', c.int('download_concurrency', { nullable: true, min: 1 }));
  set('max_retries', c.int('max_retries', { nullable: true, min: 0 }));
  set('rate_limit', c.int('rate_limit', { nullable: true, min: 0 }));
  set('pulpdist_bandwidth_limit', c.int('pulpdist_bandwidth_limit', { nullable: true, min: 1 }));
  for (const f of STRINGS) set(f, c.str(f, { nullable: true, allowBlank: true }));
  for (const f of FLOATS) set(f, c.num(f, { nullable: true, min: 0 }));
  if (c.has('headers')) {
    const hs = c.body.headers;
    const ok = hs === null || (Array.isArray(hs) && hs.every((h) => h && typeof h === 'object' && !Array.isArray(h) && Object.values(h).every((x) => typeof x === 'string')));
    if (!ok) c.fail('headers', 'Expected a list of objects mapping header names to string values.');
    else set('headers', hs);
  }
  // pulpcore's RemoteSerializer: proxy credentials in their own write-only fields, never in the URL.
  if (typeof out.proxy_url === 'string' && out.proxy_url.includes('@')) c.fail('proxy_url', 'proxy_url must not contain credentials');
  const pu = out.proxy_username ?? null;
  const pp = out.proxy_password ?? null;
  if ((c.has('proxy_username') || c.has('proxy_password')) && (pu === null) !== (pp === null)) {
    c.fail('non_field_errors', "Both 'proxy_username' and 'proxy_password' must be provided together or not at all.");
  }
  const current = selfId && partial ? t.remotes.get(selfId) : undefined;
  const proxyUrl = c.has('proxy_url') ? (out.proxy_url ?? null) : (current?.proxy_url ?? null);
  if ((pu !== null || pp !== null) && !proxyUrl) c.fail('non_field_errors', 'proxy credentials cannot be specified without a proxy');
  c.done();
  return out as Partial<RemoteRecord>;
}

/** Pulp's URL rules: no credentials inside; file:// only under an allowed import path. */
function checkUrl(url: string, allowed: string[]): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'Enter a valid URL.';
  }
  if (u.username || u.password) return 'The remote url cannot contain credentials; use the username and password fields.';
  if (u.protocol !== 'file:') return null;
  const p = fileURLToPath(u);
  if (!path.isAbsolute(p)) return `The path '${p}' needs to be an absolute pathname.`;
  let real = path.resolve(p);
  try {
    real = realpathSync(p);
  } catch {
    // Like os.path.realpath, a path that does not exist yet is taken as written.
  }
  if (!allowed.some((a) => real.startsWith(a))) return `The path '${real}' does not start with any of the allowed import paths`;
  return null;
}
