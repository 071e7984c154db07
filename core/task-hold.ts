/**
 * Held task polls: an extension between pulpdist and its embedded site. A task GET may carry the
 * request header `Pulpdist-Wait-Ms: N`; a site that honours it holds its answer while the task is
 * unfinished, until it finishes or N ms pass, and says so by sending the same header back (and on
 * each 202 that names a task, with the most it holds, so that a client's very first poll is held). The
 * controller then learns of a finished sync at once instead of at its next poll, with fewer
 * requests. Real Pulp ignores the header and never sends it back, so the client keeps its polling
 * schedule there: nothing changes against a real Pulp.
 */

/** The request and answer header (lower case, as Node gives headers). */
export const TASK_HOLD_HEADER = 'pulpdist-wait-ms';

/**
 * How long the client asks a site to hold one poll. Short enough that a running task's progress
 * (the live status) is read again every second; far below any request timeout.
 */
export const TASK_HOLD_MS = 1_000;

/** The most a site holds one answer, whatever is asked. */
export const TASK_HOLD_MAX_MS = 10_000;

/** The hold a request asks for, in ms; null when it asks for none (or says something else). */
export function askedHoldMs(value: string | string[] | undefined): number | null {
  if (typeof value !== 'string' || !/^\d{1,6}$/.test(value.trim())) return null;
  return Math.min(Number(value.trim()), TASK_HOLD_MAX_MS);
}
