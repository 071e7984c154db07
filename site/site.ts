/** The pieces of one running site that API handlers and the content app share. */
import type { Logger } from '../core/logger.js';
import { TASK_HOLD_HEADER, TASK_HOLD_MAX_MS } from '../core/task-hold.js';
import type { BlobReads } from './blob-reads.js';
import type { BlobStore } from './blobs.js';
import { ApiError, sendJson, type Ctx } from './http.js';
import { href, type Op } from './records.js';
import type { Store } from './store.js';
import type { SiteMetrics } from './sync.js';
import type { TaskManager, TaskSpec } from './tasks.js';

export interface Site {
  store: Store;
  blobs: BlobStore;
  /** How the content app opens and reads blobs (blob-reads.ts). */
  reads: BlobReads;
  tasks: TaskManager;
  metrics: SiteMetrics;
  log: Logger;
  /** Origin for `base_url`: `--content-origin`, else the origin the site listens on. */
  contentOrigin: () => string;
  allowedImportPaths: string[];
  workerId: string;
  startedAt: string;
  version: string;
  dataDir: string;
  /** Batch fetches offered and used (SiteOptions.batch). */
  batch: boolean;
}

/** Start a task and answer 202 `{"task": href}`. */
export async function answerTask(site: Site, ctx: Ctx, spec: Omit<TaskSpec, 'cid'>): Promise<void> {
  const rec = await site.tasks.submit({ ...spec, cid: ctx.cid });
  // This site holds task polls (core/task-hold.ts): said here, so that even the first poll of a
  // client that has not polled it yet goes out at once and is held.
  sendJson(ctx, 202, { task: href.task(rec.id) }, { [TASK_HOLD_HEADER]: String(TASK_HOLD_MAX_MS) });
}

/** A task body that only commits store operations computed when it runs. */
export function commitTask(site: Site, ops: () => Op[], created: () => string[] = () => []): TaskSpec['run'] {
  return async (tctx) => {
    const list = ops();
    if (list.length) await site.store.commit(list);
    tctx.task.created_resources = created();
  };
}

/** The method is not one the endpoint allows: 405 as DRF words it. */
export function methodNotAllowed(method: string): ApiError {
  return new ApiError(405, { detail: `Method "${method}" not allowed.` });
}
