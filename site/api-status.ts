/** `status/` (§2.1, public) and the API root listing (`GET /pulp/api/v3/`). */
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { sendJson, type Ctx } from './http.js';
import { href } from './records.js';
import type { Site } from './site.js';

export async function status(site: Site, ctx: Ctx): Promise<void> {
  const now = new Date().toISOString().replace('Z', '000Z');
  let storage: { total: number; used: number; free: number } | null = null;
  try {
    const s = await statfs(site.dataDir);
    storage = { total: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize, free: s.bavail * s.bsize };
  } catch {
    storage = null;
  }
  sendJson(ctx, 200, {
    versions: [
      // The API level this site answers like; `pulpdist-site` tells it apart from a real Pulp.
      { component: 'core', version: '3.24.1', package: 'pulpcore', domain_compatible: true },
      { component: 'file', version: '1.14.5', package: 'pulp-file', domain_compatible: true },
      { component: 'pulpdist-site', version: site.version, package: 'pulpdist', domain_compatible: false },
    ],
    // `--workers 0`: no worker, as a real Pulp answers while its workers are down (extra4/106).
    online_workers: site.tasks.workers === 0 ? [] : [
      {
        pulp_href: href.worker(site.workerId),
        pulp_created: site.startedAt,
        name: `${process.pid}@${os.hostname()}`,
        last_heartbeat: now,
        current_task: site.tasks.currentTask(),
      },
    ],
    online_content_apps: [{ name: `${process.pid}@${os.hostname()}`, last_heartbeat: now }],
    database_connection: { connected: true },
    redis_connection: { connected: false },
    storage,
    content_settings: { content_origin: site.contentOrigin(), content_path_prefix: '/pulp/content/' },
    domain_enabled: false,
  });
}

const ROOT_ENTRIES = [
  'artifacts',
  'content',
  'distributions',
  'publications',
  'remotes',
  'repositories',
  'tasks',
  'workers',
  'content/file/files',
  'distributions/file/file',
  'publications/file/file',
  'remotes/file/file',
  'repositories/file/file',
];

export function apiRoot(_site: Site, ctx: Ctx): void {
  const body: Record<string, string> = {};
  for (const e of ROOT_ENTRIES) body[e] = `${ctx.origin}/pulp/api/v3/${e}/`;
  sendJson(ctx, 200, body);
}
