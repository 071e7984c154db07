/**
 * `tasks/` (§2.6, §3): list and read show live progress; PATCH `{"state":"canceled"}` cancels (200
 * with the task now `canceling`, 409 with the unchanged task once it is final, 400 for any other
 * body); DELETE removes a finished task (204) and refuses an unfinished one (409).
 */
import { askedHoldMs, TASK_HOLD_HEADER } from '../core/task-hold.js';
import { ApiError, found, readJsonObject, sendJson, type Ctx, type Params } from './http.js';
import { csv, idFilters, sendList, timeFilters, type Filter } from './listing.js';
import { href, type TaskRecord } from './records.js';
import { taskJson } from './serialize.js';
import type { Site } from './site.js';

const FINAL = new Set(['completed', 'failed', 'canceled', 'skipped']);

function live(site: Site, r: TaskRecord): TaskRecord {
  return site.tasks.get(r.id) ?? r;
}

function task(site: Site, p: Params): TaskRecord {
  return live(site, found(site.store.t.tasks.get(p.id ?? '')));
}

export function listTasks(site: Site, ctx: Ctx): void {
  const t = site.store.t;
  const reserved = (r: TaskRecord, v: string) => r.reserved_resources_record.some((x) => x === v || x === `shared:${v}`);
  const filters: Record<string, Filter<TaskRecord>> = {
    ...idFilters<TaskRecord>((r) => href.task(r.id)),
    ...timeFilters<TaskRecord>('started_at', (r) => r.started_at),
    ...timeFilters<TaskRecord>('finished_at', (r) => r.finished_at),
    state: (r, v) => r.state === v,
    state__in: (r, v) => csv(v).includes(r.state),
    name: (r, v) => r.name === v,
    name__contains: (r, v) => r.name.includes(v),
    name__in: (r, v) => csv(v).includes(r.name),
    logging_cid: (r, v) => r.logging_cid === v,
    logging_cid__contains: (r, v) => r.logging_cid.includes(v),
    worker: (r, v) => r.worker === v,
    worker__in: (r, v) => r.worker !== null && csv(v).includes(r.worker),
    worker__isnull: (r, v) => (r.worker === null) === /^(true|1)$/i.test(v),
    parent_task: () => false,
    parent_task__isnull: (_r, v) => /^(true|1)$/i.test(v),
    created_resources: (r, v) => r.created_resources.includes(v),
    reserved_resources: (r, v) => reserved(r, v),
    reserved_resources__in: (r, v) => csv(v).some((x) => reserved(r, x)),
    exclusive_resources: (r, v) => r.reserved_resources_record.includes(v),
    exclusive_resources__in: (r, v) => csv(v).some((x) => r.reserved_resources_record.includes(x)),
    shared_resources: (r, v) => r.reserved_resources_record.includes(`shared:${v}`),
    shared_resources__in: (r, v) => csv(v).some((x) => r.reserved_resources_record.includes(`shared:${x}`)),
  };
  sendList(ctx, { items: [...t.tasks.values()].map((r) => live(site, r)), serialize: taskJson, filters });
}

export async function getTask(site: Site, ctx: Ctx, p: Params): Promise<void> {
  let rec = task(site, p);
  const hold = askedHoldMs(ctx.req.headers[TASK_HOLD_HEADER]);
  if (hold !== null) {
    if (hold > 0 && !FINAL.has(rec.state)) {
      await heldUntilFinal(site, rec.id, hold, ctx);
      rec = task(site, p);
    }
    ctx.res.setHeader(TASK_HOLD_HEADER, String(hold));
  }
  sendJson(ctx, 200, taskJson(rec));
}

/** Until the task is final, `ms` pass, the client goes away or the site shuts down. */
async function heldUntilFinal(site: Site, id: string, ms: number, ctx: Ctx): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let stop: (() => void) | undefined;
  try {
    await Promise.race([
      site.tasks.wait(id),
      new Promise<void>((resolve) => {
        stop = () => resolve();
        timer = setTimeout(stop, ms);
        ctx.req.socket.once('close', stop);
        ctx.signal.addEventListener('abort', stop, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (stop) {
      ctx.req.socket.off('close', stop);
      ctx.signal.removeEventListener('abort', stop);
    }
  }
}

export async function cancelTask(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const current = task(site, p);
  const body = await readJsonObject(ctx);
  if (!('state' in body)) throw new ApiError(400, ["'state' must be provided with the request."]);
  if (body.state !== 'canceled') throw new ApiError(400, ["The only acceptable value for 'state' is 'canceled'."]);
  if (FINAL.has(current.state)) throw new ApiError(409, taskJson(current));
  const now = await site.tasks.cancel(current.id);
  sendJson(ctx, 200, taskJson(now ?? site.tasks.get(current.id) ?? current));
}

export async function deleteTask(site: Site, ctx: Ctx, p: Params): Promise<void> {
  const current = task(site, p);
  if (!FINAL.has(current.state)) throw new ApiError(409, undefined);
  await site.store.commit([{ del: 'tasks', id: current.id }]);
  sendJson(ctx, 204, undefined);
}
