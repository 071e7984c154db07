/**
 * `repositories/file/file/` with `versions/`, `sync/` and `modify/` (pulp-api.md §2.2). Create is
 * synchronous (201); update, delete, sync and modify are tasks (202), validated before the task
 * exists so that bad input is an immediate 400 and no task.
 */
import { badRequest, found, readJsonObject, sendJson, type Ctx, type Params } from './http.js';
import { csv, idFilters, labelSelect, nameFilters, sendList, timeFilters, type Filter } from './listing.js';
import { href, parseHref, timestamp, type RepositoryRecord, type VersionRecord } from './records.js';
import { repositoryJson, versionJson } from './serialize.js';
import { answerTask, commitTask, type Site } from './site.js';
import { runSync } from './sync.js';
import { TaskFailure } from './tasks.js';
import { BodyCheck, checkHref, hrefPath } from './validate.js';
import { relations } from './relations.js';
import { deleteRepositoryOps, deleteVersionOps, firstVersion, latestVersion, newVersion, publish, retainOps, versionKey } from './versions.js';

const FIELDS = ['name', 'description', 'pulp_labels', 'retain_repo_versions', 'remote', 'autopublish', 'manifest'] as const;

function repository(site: Site, p: Params): RepositoryRecord {
  return found(site.store.t.repositories.get(p.id ?? ''));
}

export function getRepository(site: Site, ctx: Ctx, p: Params): void {
  sendJson(ctx, 200, repositoryJson(site.store.t, repository(site, p)));
}

export async function deleteRepository(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const t = site.store.t;
  const repo = repository(site, p);
  return answerTask(site, ctx, {
    name: 'pulpcore.app.tasks.base.general_delete',
    exclusive: [href.repository(repo.id)],
    immediate: true,
    run: commitTask(site, () => {
      const cur = t.repositories.get(repo.id);
      return cur ? deleteRepositoryOps(t, cur) : [];
    }),
  });
}

export function listRepositories(site: Site, ctx: Ctx): void {
  const t = site.store.t;
  const retain = (r: RepositoryRecord) => r.retain_repo_versions;
  const filters: Record<string, Filter<RepositoryRecord>> = {
    ...nameFilters<RepositoryRecord>(),
    ...idFilters<RepositoryRecord>((r) => href.repository(r.id)),
    ...labelSelect<RepositoryRecord>(),
    remote: (r, v) => (v === 'null' ? r.remote === null : r.remote === v),
    retain_repo_versions: (r, v) => retain(r) === Number(v),
    retain_repo_versions__gt: (r, v) => (retain(r) ?? -Infinity) > Number(v),
    retain_repo_versions__gte: (r, v) => (retain(r) ?? -Infinity) >= Number(v),
    retain_repo_versions__lt: (r, v) => (retain(r) ?? Infinity) < Number(v),
    retain_repo_versions__lte: (r, v) => (retain(r) ?? Infinity) <= Number(v),
    retain_repo_versions__isnull: (r, v) => (retain(r) === null) === /^(true|1)$/i.test(v),
  };
  sendList(ctx, { items: t.repositories.values(), serialize: (r) => repositoryJson(t, r), filters });
}

/** Validate a create/update body; returns only the fields given. */
function checkBody(site: Site, body: Record<string, unknown>, partial: boolean, selfId: string | null): Partial<RepositoryRecord> {
  const t = site.store.t;
  const c = new BodyCheck(body, FIELDS, partial);
  const out: Partial<RepositoryRecord> = {};
  const name = c.str('name', { required: true });
  if (name !== undefined && name !== null) {
    if (relations(t).find('repositoriesNamed', name).some((r) => r.id !== selfId)) c.fail('name', 'This field must be unique.');
    out.name = name;
  }
  const description = c.str('description', { nullable: true, allowBlank: true });
  if (description !== undefined) out.description = description;
  const labels = c.labels();
  if (labels !== undefined) out.pulp_labels = labels;
  const retain = c.int('retain_repo_versions', { nullable: true, min: 1 });
  if (retain !== undefined) out.retain_repo_versions = retain;
  const remote = c.href('remote', 'remote', (id) => t.remotes.has(id), { nullable: true });
  if (remote !== undefined) out.remote = remote;
  const autopublish = c.bool('autopublish');
  if (autopublish !== undefined) out.autopublish = autopublish;
  const manifest = c.str('manifest', { nullable: true });
  if (manifest !== undefined) out.manifest = manifest;
  c.done();
  return out;
}

export async function createRepository(site: Site, ctx: Ctx): Promise<void> {
  const fields = checkBody(site, await readJsonObject(ctx), false, null);
  const id = crypto.randomUUID();
  const repo: RepositoryRecord = {
    id,
    pulp_created: timestamp(),
    name: '',
    description: null,
    pulp_labels: {},
    retain_repo_versions: null,
    remote: null,
    autopublish: false,
    manifest: 'PULP_MANIFEST',
    latest_number: 0,
    ...fields,
  };
  await site.store.commit([
    { put: 'repositories', v: repo },
    { put: 'versions', v: firstVersion(id) },
  ]);
  sendJson(ctx, 201, repositoryJson(site.store.t, repo), { Location: href.repository(id) });
}

/** PUT and PATCH (partial). */
export async function updateRepository(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const repo = repository(site, p);
  const fields = checkBody(site, await readJsonObject(ctx), ctx.method === 'PATCH', repo.id);
  const t = site.store.t;
  return answerTask(site, ctx, {
    name: 'pulpcore.app.tasks.base.general_update',
    exclusive: [href.repository(repo.id)],
    immediate: true,
    run: commitTask(site, () => {
      const cur = t.repositories.get(repo.id);
      if (!cur) return [];
      const updated = { ...cur, ...fields };
      // Lowering retain_repo_versions prunes at once, as pulpcore's update does.
      const ops = [{ put: 'repositories' as const, v: updated }];
      return [...ops, ...retainOps(site.store.t, updated)];
    }),
  });
}

export async function syncRepository(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const t = site.store.t;
  const repo = repository(site, p);
  const c = new BodyCheck(await readJsonObject(ctx), ['remote', 'mirror']);
  const given = c.ref('remote', 'remote', (id) => t.remotes.has(id));
  const mirror = c.bool('mirror') ?? false;
  // The repository's own remote when none is given (stored as a relative href).
  const stored = repo.remote === null ? null : parseHref('remote', repo.remote);
  const remote = given ?? (repo.remote !== null && stored !== null ? { href: repo.remote, id: stored } : null);
  if (!c.errors.remote && !remote) c.fail('remote', 'This field is required since a remote is not set on the repository.');
  c.done();
  if (!remote) throw badRequest(c.errors); // done() has thrown already; this tells the type
  const remoteId = remote.id;
  return answerTask(site, ctx, {
    name: 'pulp_file.app.tasks.synchronizing.synchronize',
    exclusive: [href.repository(repo.id)],
    shared: [remote.href],
    run: (tctx) => runSync(site, { repositoryId: repo.id, remoteId, mirror }, tctx),
  });
}

export async function modifyRepository(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const t = site.store.t;
  const repo = repository(site, p);
  const c = new BodyCheck(await readJsonObject(ctx), ['add_content_units', 'remove_content_units', 'base_version']);
  const list = (name: string, allowStar: boolean): string[] => {
    if (!c.has(name)) return [];
    const v = c.body[name];
    if (!Array.isArray(v)) {
      c.fail(name, `Expected a list of items but got type "${typeof v}".`);
      return [];
    }
    const out: string[] = [];
    const errs: Record<string, string[]> = {};
    v.forEach((item, i) => {
      if (allowStar && item === '*') return void out.push('*');
      const msg = checkHref(item, 'content', (id) => t.content.has(id));
      if (msg) errs[i] = [msg];
      else out.push(hrefPath(item as string));
    });
    if (Object.keys(errs).length) c.fail(name, errs);
    return out;
  };
  const add = list('add_content_units', false);
  const remove = list('remove_content_units', true);
  const base = c.ref('base_version', 'version', (id) => t.versions.has(id) && id.startsWith(repo.id + '/'), { nullable: true });
  c.done();
  return answerTask(site, ctx, {
    name: 'pulpcore.app.tasks.repository.add_and_remove',
    exclusive: [href.repository(repo.id)],
    run: async (tctx) => {
      const cur = t.repositories.get(repo.id);
      if (!cur) return;
      // The base version was checked at submit; a delete since then leaves nothing to build on.
      const from = base ? t.versions.get(base.id) : latestVersion(t, cur);
      if (!from) throw new TaskFailure('The base version no longer exists.');
      const removeAll = remove.includes('*');
      const removeIds = new Set(remove.map((h) => parseHref('content', h)));
      let content = removeAll ? [] : from.content.filter((id) => !removeIds.has(id));
      // Units are keyed by relative_path: an added unit replaces the one at its path.
      const addUnits = add.flatMap((h) => t.content.get(parseHref('content', h) ?? '') ?? []);
      const addIds = addUnits.map((u) => u.id);
      const addPaths = new Set(addUnits.map((u) => u.relative_path));
      content = content.filter((id) => !addPaths.has(t.content.get(id)?.relative_path ?? '')).concat(addIds.filter((id) => !content.includes(id)));
      const nv = newVersion(t, cur, [...new Set(content)]);
      if (!nv) return;
      const ops = [...nv.ops];
      const created = [href.version(cur.id, nv.version.number)];
      if (cur.autopublish) {
        // The version's units are all committed already, so the generated manifest sees them.
        const p = await publish(t, site.blobs, nv.version, cur.manifest);
        ops.push(...p.ops);
        created.push(href.publication(p.publication.id));
      }
      await site.blobs.syncDirs();
      const done = site.store.commit(ops);
      const pruned = retainOps(t, nv.repo);
      await Promise.all([done, pruned.length ? site.store.commit(pruned) : undefined]);
      tctx.task.created_resources = created;
    },
  });
}

export function listVersions(site: Site, ctx: Ctx, p: Params): void {
  const t = site.store.t;
  const repo = repository(site, p);
  {
    const mine = relations(t).find('versionsOf', repo.id);
    const num = (v: VersionRecord, s: string) => {
      if (!/^\d+$/.test(s)) throw badRequest({ number: ['Enter a number.'] });
      return Number(s);
    };
    const has = (v: VersionRecord, h: string) => v.content.includes(parseHref('content', h) ?? '');
    const filters: Record<string, Filter<VersionRecord>> = {
      ...idFilters<VersionRecord>((v) => href.version(v.repository_id, v.number), false),
      ...timeFilters<VersionRecord>('pulp_created', (v) => v.pulp_created),
      number: (v, s) => v.number === num(v, s),
      number__lt: (v, s) => v.number < num(v, s),
      number__lte: (v, s) => v.number <= num(v, s),
      number__gt: (v, s) => v.number > num(v, s),
      number__gte: (v, s) => v.number >= num(v, s),
      number__range: (v, s) => {
        const [a, b] = csv(s).map((x) => num(v, x));
        return v.number >= (a ?? 0) && v.number <= (b ?? Infinity);
      },
      content: (v, s) => has(v, s),
      content__in: (v, s) => csv(s).some((h) => has(v, h)),
    };
    sendList(ctx, { items: mine, serialize: versionJson, filters });
  }
}

function version(site: Site, p: Params): { repo: RepositoryRecord; v: VersionRecord } {
  const repo = repository(site, p);
  const number = p.number ?? '';
  const v = /^\d+$/.test(number) ? site.store.t.versions.get(versionKey(repo.id, Number(number))) : undefined;
  return { repo, v: found(v) };
}

export function getVersion(site: Site, ctx: Ctx, p: Params): void {
  sendJson(ctx, 200, versionJson(version(site, p).v));
}

export async function deleteVersion(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const t = site.store.t;
  const { repo, v } = version(site, p);
  return answerTask(site, ctx, {
    name: 'pulpcore.app.tasks.repository.delete_version',
    exclusive: [href.repository(repo.id)],
    run: async () => {
      const left = relations(t).find('versionsOf', repo.id);
      if (left.length <= 1) throw new TaskFailure('Cannot delete repository version. Repositories must have at least one repository version.');
      const cur = t.versions.get(v.id);
      if (cur) await site.store.commit(deleteVersionOps(t, cur));
    },
  });
}
