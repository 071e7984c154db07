/**
 * Deletes, last, after every sync: distributions first, then remotes, then repositories, so that
 * nothing keeps serving a repository on its way out. Held as a whole when the mass-delete guard
 * tripped (plan.ts); an object already gone counts as deleted (pulp/client.ts).
 */
import type { ApplyRun } from './apply-run.js';
import { DELETE_ORDER, KIND_OPS } from './kinds.js';
import type { DeleteEntry, Plan } from './plan-types.js';

export async function applyDeletes(run: ApplyRun, plan: Plan): Promise<void> {
  const deletes = plan.entries
    .filter((e): e is DeleteEntry => e.action === 'delete')
    .sort((a, b) => DELETE_ORDER.indexOf(a.kind) - DELETE_ORDER.indexOf(b.kind));
  // Held as a whole: the pass reports the guard once (failures.ts `deletes-blocked`) and the
  // placements as Blocked (status.ts), not 18 skipped entries with one sentence each.
  if (plan.blockedDeletes) return;
  for (const kind of DELETE_ORDER) {
    await Promise.all(
      deletes.filter((e) => e.kind === kind).map((e) => run.fan.run((signal) =>
        run.apiQueue(e.site).add(
          () => run.run(e, async () => {
            await KIND_OPS[e.kind].remove(run.client(e.site), e.op.href, { signal });
          }),
          { signal },
        ),
      )),
    );
  }
}
