/**
 * `content/file/files/` and `artifacts/` (read-only here: units come from syncs), and
 * `orphans/cleanup/`, which removes content in no version and then artifacts no content uses.
 */
import { rm } from 'node:fs/promises';
import { ApiError, found, readJsonObject, sendJson, type Ctx, type Params } from './http.js';
import { idFilters, sendList, timeFilters, type Filter } from './listing.js';
import { href, parseHref, type ArtifactRecord, type ContentRecord, type Op } from './records.js';
import { artifactJson, contentJson } from './serialize.js';
import { answerTask, methodNotAllowed, type Site } from './site.js';
import { BodyCheck } from './validate.js';

/** Content ids of the version an href names (empty for an unknown one). */
function versionContent(site: Site, h: string, which: 'content' | 'added' | 'removed'): Set<string> {
  const id = parseHref('version', h);
  const v = id ? site.store.t.versions.get(id) : undefined;
  return new Set(v ? v[which] : []);
}

function contentOf(site: Site, c: ContentRecord) {
  return contentJson(c, site.store.t.artifacts.get(c.artifact_id));
}

export function listContent(site: Site, ctx: Ctx): void {
  const t = site.store.t;
  const cache = new Map<string, Set<string>>();
  const inV = (which: 'content' | 'added' | 'removed') => (c: ContentRecord, v: string) => {
    const key = `${which} ${v}`;
    let ids = cache.get(key);
    if (!ids) cache.set(key, (ids = versionContent(site, v, which)));
    return ids.has(c.id);
  };
  const filters: Record<string, Filter<ContentRecord>> = {
    ...idFilters<ContentRecord>((c) => href.content(c.id)),
    ...timeFilters<ContentRecord>('pulp_created', (c) => c.pulp_created),
    relative_path: (c, v) => c.relative_path === v,
    sha256: (c, v) => c.sha256 === v,
    repository_version: inV('content'),
    repository_version_added: inV('added'),
    repository_version_removed: inV('removed'),
  };
  sendList(ctx, { items: t.content.values(), serialize: (c) => contentOf(site, c), filters });
}

export function getContent(site: Site, ctx: Ctx, p: Params): void {
  sendJson(ctx, 200, contentOf(site, found(site.store.t.content.get(p.id ?? ''))));
}

export function listArtifacts(site: Site, ctx: Ctx): void {
  const t = site.store.t;
  const digest = (k: 'sha224' | 'sha256' | 'sha384' | 'sha512'): Filter<ArtifactRecord> => (a, v) => a[k] === v;
  const filters: Record<string, Filter<ArtifactRecord>> = {
    ...idFilters<ArtifactRecord>((a) => href.artifact(a.id)),
    sha256: digest('sha256'),
    sha224: digest('sha224'),
    sha384: digest('sha384'),
    sha512: digest('sha512'),
    md5: () => false,
    sha1: () => false,
    repository_version: (a, v) => {
      const ids = versionContent(site, v, 'content');
      for (const id of ids) if (t.content.get(id)?.artifact_id === a.id) return true;
      return false;
    },
  };
  sendList(ctx, { items: t.artifacts.values(), serialize: artifactJson, filters });
}

export function getArtifact(site: Site, ctx: Ctx, p: Params): void {
  sendJson(ctx, 200, artifactJson(found(site.store.t.artifacts.get(p.id ?? ''))));
}

export async function deleteArtifact(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const t = site.store.t;
  const a = found(t.artifacts.get(p.id ?? ''));
  for (const c of t.content.values()) {
    if (c.artifact_id === a.id) throw new ApiError(409, { detail: 'The artifact is used by content and cannot be deleted.' });
  }
  await site.store.commit([{ del: 'artifacts', id: a.id }]);
  if (![...t.publications.values()].some((pub) => pub.manifest_sha256 === a.sha256)) await rm(site.blobs.pathOf(a.sha256), { force: true });
  sendJson(ctx, 204, undefined);
}

/** POST to content/ and artifacts/: uploads, which Pulp takes and the site does not (its content comes from syncs). */
export function refuseUpload(_site: Site, ctx: Ctx): never {
  throw methodNotAllowed(ctx.method);
}

export async function orphansCleanup(site: Site, ctx: Ctx): Promise<void> {
  const c = new BodyCheck(await readJsonObject(ctx), ['orphan_protection_time', 'content_hrefs']);
  const minutes = c.int('orphan_protection_time', { nullable: true, min: 0 }) ?? 1440;
  c.done();
  const t = site.store.t;
  return answerTask(site, ctx, {
    name: 'pulpcore.app.tasks.orphan.orphan_cleanup',
    exclusive: ['/api/v3/orphans/cleanup/'],
    run: async (tctx) => {
      const cutoff = new Date(Date.now() - minutes * 60_000).toISOString();
      const used = new Set<string>();
      for (const v of t.versions.values()) for (const id of v.content) used.add(id);
      const contentOps: Op[] = [];
      for (const cr of t.content.values()) if (!used.has(cr.id) && cr.pulp_created <= cutoff) contentOps.push({ del: 'content', id: cr.id });
      const r1 = tctx.report('clean-up.content', 'Clean up orphan Content', { total: contentOps.length });
      if (contentOps.length) await site.store.commit(contentOps);
      r1.done = contentOps.length;
      r1.state = 'completed';
      const usedArt = new Set([...t.content.values()].map((x) => x.artifact_id));
      const dead = [...t.artifacts.values()].filter((a) => !usedArt.has(a.id) && a.pulp_created <= cutoff);
      const r2 = tctx.report('clean-up.content', 'Clean up orphan Artifacts', { total: dead.length });
      if (dead.length) await site.store.commit(dead.map((a) => ({ del: 'artifacts' as const, id: a.id })));
      // A publication's manifest may share its blob with an artifact (same bytes): keep those files.
      const manifests = new Set([...t.publications.values()].map((p) => p.manifest_sha256));
      for (const a of dead) if (!manifests.has(a.sha256)) await rm(site.blobs.pathOf(a.sha256), { force: true });
      r2.done = dead.length;
      r2.state = 'completed';
    },
  });
}
