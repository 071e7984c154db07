/**
 * The rsync side's clients: `rsync -a --delete --stats` pulling the daemon's tree into one
 * destination each, all at once, with the bytes on the wire taken from each client's `--stats`.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { PulpdistError } from '../core/errors.js';

/** A client exited non-zero or printed no statistics. */
export class RsyncClientError extends PulpdistError {
  constructor(
    message: string,
    readonly dest: string,
    readonly exitCode: number | null,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** What one client's `--stats` says. */
export interface RsyncStats {
  /** "Total bytes sent": client → daemon (file list request, block checksums). */
  sent: number;
  /** "Total bytes received": daemon → client (file list, literal data, delta instructions). */
  received: number;
  /** "Literal data": file bytes sent as they are, not matched against the basis. */
  literal: number;
  /** "Matched data": bytes rebuilt from the client's own basis files. */
  matched: number;
  /** "Number of regular files transferred". */
  filesTransferred: number;
}

function statNumber(text: string, label: string): number {
  const m = new RegExp(`^${label}:\\s*([\\d,.]+)`, 'm').exec(text);
  if (!m) throw new RangeError(`rsync --stats output has no "${label}" line`);
  // rsync groups digits with commas (or the locale's separator); bytes are whole numbers.
  return Number(m[1]!.replace(/[,.]/g, ''));
}

/** Parse the statistics block `rsync --stats` prints at the end. */
export function parseRsyncStats(text: string): RsyncStats {
  return {
    sent: statNumber(text, 'Total bytes sent'),
    received: statNumber(text, 'Total bytes received'),
    literal: statNumber(text, 'Literal data'),
    matched: statNumber(text, 'Matched data'),
    filesTransferred: statNumber(text, 'Number of regular files transferred'),
  };
}

/** One client pull into `dest`; resolves with its statistics. */
export async function rsyncPull(url: string, dest: string, opts: { signal: AbortSignal }): Promise<RsyncStats> {
  await mkdir(dest, { recursive: true });
  const args = ['-a', '--delete', '--stats', url, dest.endsWith('/') ? dest : `${dest}/`];
  return new Promise((resolve, reject) => {
    // LC_ALL=C: one number format for the parser.
    const child = spawn('rsync', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, signal: opts.signal });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', (e) => reject(opts.signal.aborted ? opts.signal.reason : new RsyncClientError(`cannot run rsync: ${e.message}`, dest, null, { cause: e })));
    child.once('close', (code) => {
      if (code !== 0) {
        reject(new RsyncClientError(`rsync ${args.join(' ')} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`, dest, code));
        return;
      }
      try {
        resolve(parseRsyncStats(out));
      } catch (e) {
        reject(new RsyncClientError(`rsync into ${dest}: ${(e as Error).message}`, dest, code, { cause: e }));
      }
    });
  });
}

/** The clients of one run, together. */
export interface RsyncRun {
  /** Sum over clients of sent + received. */
  wireBytes: number;
  wallS: number;
  clients: RsyncStats[];
}

/** Run one client per destination at the same time; wall time is first start to last exit. */
export async function rsyncPullAll(url: string, dests: readonly string[], opts: { signal: AbortSignal }): Promise<RsyncRun> {
  const t0 = process.hrtime.bigint();
  const clients = await Promise.all(dests.map((d) => rsyncPull(url, d, opts)));
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  return { wireBytes: clients.reduce((s, c) => s + c.sent + c.received, 0), wallS, clients };
}
