/**
 * `publications/file/file/` (§2.4) and `distributions/file/file/` (§2.5). Publishing and every
 * distribution change are tasks; distribution create runs on the worker, updates and deletes are
 * immediate. Base paths are unique and may not overlap (`a` vs `a/b`).
 */
import { found, readJsonObject, sendJson, type Ctx, type Params } from './http.js';
import { csv, idFilters, labelSelect, nameFilters, sendList, timeFilters, type Filter } from './listing.js';
import { href, parseHref, timestamp, type DistributionRecord, type PublicationRecord, type Tables } from './records.js';
import { distributionJson, publicationJson } from './serialize.js';
import { answerTask, commitTask, type Site } from './site.js';
import { TaskFailure } from './tasks.js';
import { BodyCheck } from './validate.js';
import { parentsOf, relations } from './relations.js';
import { deletePublicationOps, latestVersion, publish, servedPublication, versionKey } from './versions.js';

/** The lock every distribution change takes (recorded without the `/pulp` prefix). */
const DIST_LOCK = '/api/v3/distributions/';

export function listPublications(site: Site, ctx: Ctx): void {
  const t = site.store.t;
  const inVersion = (p: PublicationRecord, contentHref: string) => t.versions.get(versionKey(p.repository_id, p.number))?.content.includes(parseHref('content', contentHref) ?? '') ?? false;
  const filters: Record<string, Filter<PublicationRecord>> = {
    ...idFilters<PublicationRecord>((p) => href.publication(p.id)),
    ...timeFilters<PublicationRecord>('pulp_created', (p) => p.pulp_created),
    repository: (p, v) => href.repository(p.repository_id) === v,
    repository_version: (p, v) => href.version(p.repository_id, p.number) === v,
    content: (p, v) => inVersion(p, v),
    content__in: (p, v) => csv(v).some((h) => inVersion(p, h)),
  };
  sendList(ctx, { items: t.publications.values(), serialize: (p) => publicationJson(t, p), filters });
}

export async function createPublication(site: Site, ctx: Ctx): Promise<void> {
  const t = site.store.t;
  const c = new BodyCheck(await readJsonObject(ctx), ['repository', 'repository_version', 'manifest']);
  const repo = c.ref('repository', 'repository', (id) => t.repositories.has(id));
  const version = c.ref('repository_version', 'version', (id) => t.versions.has(id));
  const manifest = c.str('manifest', { nullable: true });
  if (!c.errors.repository && !c.errors.repository_version) {
    if (repo && version) c.fail('non_field_errors', "Only one of the attributes 'repository' and 'repository_version' may be provided.");
    if (!repo && !version) c.fail('non_field_errors', "Either the 'repository' or 'repository_version' need to be specified");
  }
  c.done();
  // A version id is `<repository id>/<number>`.
  const repoId = repo?.id ?? version?.id.split('/')[0] ?? '';
  return answerTask(site, ctx, {
    name: 'pulp_file.app.tasks.publishing.publish',
    shared: [href.repository(repoId)],
    run: async (tctx) => {
      const r = t.repositories.get(repoId);
      const v = version ? t.versions.get(version.id) : r ? latestVersion(t, r) : undefined;
      if (!v) throw new TaskFailure('The repository version to publish no longer exists.');
      const p = await publish(t, site.blobs, v, manifest === undefined ? 'PULP_MANIFEST' : manifest);
      await site.blobs.syncDirs();
      await site.store.commit(p.ops);
      tctx.task.created_resources = [href.publication(p.publication.id)];
    },
  });
}

export function getPublication(site: Site, ctx: Ctx, p: Params): void {
  const t = site.store.t;
  sendJson(ctx, 200, publicationJson(t, found(t.publications.get(p.id ?? ''))));
}

export async function deletePublication(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const t = site.store.t;
  await site.store.commit(deletePublicationOps(t, found(t.publications.get(p.id ?? ''))));
  sendJson(ctx, 204, undefined);
}

export function listDistributions(site: Site, ctx: Ctx): void {
  const t = site.store.t;
  const filters: Record<string, Filter<DistributionRecord>> = {
    ...nameFilters<DistributionRecord>(),
    ...idFilters<DistributionRecord>((d) => href.distribution(d.id)),
    ...labelSelect<DistributionRecord>(),
    base_path: (d, v) => d.base_path === v,
    base_path__in: (d, v) => csv(v).includes(d.base_path),
    base_path__contains: (d, v) => d.base_path.includes(v),
    base_path__icontains: (d, v) => d.base_path.toLowerCase().includes(v.toLowerCase()),
    repository: (d, v) => d.repository === v,
    repository__in: (d, v) => d.repository !== null && csv(v).includes(d.repository),
    with_content: (d, v) => {
      const p = servedPublication(t, d);
      return !!p && (t.versions.get(versionKey(p.repository_id, p.number))?.content.includes(parseHref('content', v) ?? '') ?? false);
    },
  };
  sendList(ctx, { items: t.distributions.values(), serialize: (d) => distributionJson(d, site.contentOrigin()), filters });
}

export async function createDistribution(site: Site, ctx: Ctx): Promise<void> {
  const t = site.store.t;
  const fields = checkBody(t, await readJsonObject(ctx), false, null);
  const id = crypto.randomUUID();
  return answerTask(site, ctx, {
    name: 'pulpcore.app.tasks.base.general_create',
    exclusive: [DIST_LOCK],
    run: async (tctx) => {
      const d: DistributionRecord = { id, pulp_created: timestamp(), name: '', base_path: '', publication: null, repository: null, content_guard: null, pulp_labels: {}, ...fields };
      // Re-check under the lock: another create may have taken the name or base path meanwhile.
      const clash = conflicts(t, d.name, d.base_path, null);
      if (clash) throw new TaskFailure(clash);
      await site.store.commit([{ put: 'distributions', v: d }]);
      tctx.task.created_resources = [href.distribution(id)];
    },
  });
}

export function getDistribution(site: Site, ctx: Ctx, p: Params): void {
  sendJson(ctx, 200, distributionJson(found(site.store.t.distributions.get(p.id ?? '')), site.contentOrigin()));
}

/** PUT and PATCH (partial). */
export async function updateDistribution(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const t = site.store.t;
  const dist = found(t.distributions.get(p.id ?? ''));
  const fields = checkBody(t, await readJsonObject(ctx), ctx.method === 'PATCH', dist);
  return answerTask(site, ctx, {
    name: 'pulpcore.app.tasks.base.general_update',
    exclusive: [DIST_LOCK],
    immediate: true,
    run: commitTask(site, () => {
      const cur = t.distributions.get(dist.id);
      return cur ? [{ put: 'distributions', v: { ...cur, ...fields } }] : [];
    }),
  });
}

export async function deleteDistribution(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const t = site.store.t;
  const dist = found(t.distributions.get(p.id ?? ''));
  return answerTask(site, ctx, {
    name: 'pulpcore.app.tasks.base.general_delete',
    exclusive: [DIST_LOCK],
    immediate: true,
    run: commitTask(site, () => (t.distributions.has(dist.id) ? [{ del: 'distributions', id: dist.id }] : [])),
  });
}

function checkBody(t: Tables, body: Record<string, unknown>, partial: boolean, self: DistributionRecord | null): Partial<DistributionRecord> {
  const c = new BodyCheck(body, ['name', 'base_path', 'publication', 'repository', 'content_guard', 'pulp_labels'], partial);
  const out: Partial<DistributionRecord> = {};
  const name = c.str('name', { required: true });
  if (name) {
    if (relations(t).find('distributionsNamed', name).some((d) => d.id !== self?.id)) c.fail('name', 'This field must be unique.');
    out.name = name;
  }
  const basePath = c.str('base_path', { required: true });
  if (basePath) {
    const msg = basePathError(t, basePath, self?.id ?? null);
    if (msg) c.fail('base_path', msg);
    out.base_path = basePath;
  }
  const pub = c.href('publication', 'publication', (id) => t.publications.has(id), { nullable: true });
  if (pub !== undefined) out.publication = pub;
  const repo = c.href('repository', 'repository', (id) => t.repositories.has(id), { nullable: true });
  if (repo !== undefined) out.repository = repo;
  // No content guards exist on this site, so any guard href names nothing.
  const guard = c.href('content_guard', 'content', () => false, { nullable: true });
  if (guard !== undefined) out.content_guard = guard;
  const labels = c.labels();
  if (labels !== undefined) out.pulp_labels = labels;
  // PATCH merges the stored values before this check, as pulpcore's serializer does.
  const finalPub = out.publication !== undefined ? out.publication : (self?.publication ?? null);
  const finalRepo = out.repository !== undefined ? out.repository : (self?.repository ?? null);
  if (finalPub && finalRepo) c.fail('non_field_errors', "Only one of the attributes 'repository' and 'publication' may be used simultaneously.");
  c.done();
  return out;
}

/** Pulp's base_path rules: a relative URL path, unique, and not nested in or around another. */
function basePathError(t: Tables, basePath: string, selfId: string | null): unknown {
  if (basePath.startsWith('/')) return "Relative path cannot begin with '/'.";
  if (basePath.endsWith('/')) return "Relative path cannot end with '/'.";
  if (/\s/.test(basePath)) return 'Relative path cannot contain spaces.';
  if (basePath.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'Enter a valid relative path.';
  const related = relations(t);
  if (related.find('distributionsAt', basePath).some((d) => d.id !== selfId)) return ['This field must be unique.'];
  const other = overlapping(t, basePath, selfId);
  return other ? { base_path: `Overlaps with existing distribution '${other.name}'` } : null;
}

function conflicts(t: Tables, name: string, basePath: string, selfId: string | null): string | null {
  const related = relations(t);
  if (related.find('distributionsNamed', name).some((d) => d.id !== selfId)) return `A distribution named '${name}' already exists.`;
  const other = related.find('distributionsAt', basePath).find((d) => d.id !== selfId) ?? overlapping(t, basePath, selfId);
  return other ? `Base path '${basePath}' overlaps with existing distribution '${other.name}'.` : null;
}

/** Another distribution whose base path is nested in `basePath` or holds it. */
function overlapping(t: Tables, basePath: string, selfId: string | null): DistributionRecord | undefined {
  const related = relations(t);
  const around = parentsOf(basePath).flatMap((p) => related.find('distributionsAt', p));
  return [...related.find('distributionsBelow', basePath), ...around].find((d) => d.id !== selfId);
}

