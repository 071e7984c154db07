/**
 * Who approves a mass delete for `plan` and `apply`: `--allow-mass-delete`, or the trailer
 * `Pulpdist-Allow-Mass-Delete: yes` on the HEAD commit of the checkout that holds the specs (the
 * same approval the controller reads from the commit it applies), so that `plan` in a merge
 * request's pipeline shows the deletes held or approved as the controller will.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PassOptions } from '../reconcilers/pass-types.js';

export function massDeleteOptions(specsPath: string, flag: boolean): Pick<PassOptions, 'allowMassDelete' | 'massDeleteApprovedBy' | 'approveMassDelete'> {
  if (flag) return { allowMassDelete: true, massDeleteApprovedBy: '--allow-mass-delete' };
  return {
    // Loaded only when the guard holds deletes: the Git library costs ~0.2 s of CPU to load,
    // a fifth of a small plan.
    approveMassDelete: async () => {
      const { headApproval, MASS_DELETE_TRAILER } = await import('../gitsource/approval.js');
      const head = await headApproval(fs, path.resolve(specsPath));
      return head?.approved ? `the trailer ${MASS_DELETE_TRAILER} of commit ${head.commit.slice(0, 12)}` : null;
    },
  };
}
