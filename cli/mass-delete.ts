/**
 * Who approves a mass delete for `plan` and `apply`: `--allow-mass-delete`, or the trailer
 * `Pulpdist-Allow-Mass-Delete: yes` on the HEAD commit of the checkout that holds the specs (the
 * same approval the controller reads from the commit it applies), so that `plan` in a merge
 * request's pipeline shows the deletes held or approved as the controller will.
 */
import fs from 'node:fs';
import path from 'node:path';
import { headApproval, MASS_DELETE_TRAILER } from '../gitsource/approval.js';

export interface MassDeleteOptions {
  allowMassDelete: boolean;
  massDeleteApprovedBy?: string;
}

export async function massDeleteOptions(specsPath: string, flag: boolean): Promise<MassDeleteOptions> {
  if (flag) return { allowMassDelete: true, massDeleteApprovedBy: '--allow-mass-delete' };
  const head = await headApproval(fs, path.resolve(specsPath));
  if (head?.approved) return { allowMassDelete: true, massDeleteApprovedBy: `the trailer ${MASS_DELETE_TRAILER} of commit ${head.commit.slice(0, 12)}` };
  return { allowMassDelete: false };
}
