/**
 * The rsync side's server: an rsync daemon on 127.0.0.1 serving one tree read-only, as the mirror
 * networks pulpdist replaces run it. Installs Debian's `rsync` when it is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PulpdistError } from '../core/errors.js';
import { ensurePackage } from './apt.js';

/** rsync is missing and could not be installed, or the daemon would not start. */
export class RsyncDaemonError extends PulpdistError {
  constructor(
    message: string,
    readonly port: number | null,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** The rsync module name the daemon serves the tree under. */
export const RSYNC_MODULE = 'tree';

/** Make sure an `rsync` binary is on PATH; installs the `rsync` package with apt-get if not. */
export function ensureRsync(log: (line: string) => void): void {
  if (!ensurePackage('rsync', () => spawnSync('rsync', ['--version'], { stdio: 'ignore' }).status === 0, log)) {
    throw new RsyncDaemonError('rsync is not installed and `apt-get install rsync` failed: install it (as root: apt-get install rsync) and run again', null);
  }
}

/**
 * A port that was free a moment ago. rsync cannot listen on port 0 and report the port, so we
 * bind one ourselves, note it and close it; `startRsyncDaemon` retries if another process took it.
 */
export function freePort(signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The daemon configuration: no chroot (we are not root everywhere), enough connections for 4 clients. */
export function rsyncdConf(opts: { tree: string; logFile: string; uid: number; gid: number; maxConnections: number }): string {
  return [
    'use chroot = no',
    `max connections = ${opts.maxConnections}`,
    `log file = ${opts.logFile}`,
    // As root the daemon would switch to `nobody`, who cannot enter our 0700 temp dir.
    `uid = ${opts.uid}`,
    `gid = ${opts.gid}`,
    'reverse lookup = no',
    '',
    `[${RSYNC_MODULE}]`,
    `  path = ${opts.tree}`,
    '  read only = yes',
    '  list = yes',
    // pulpdist writes its PULP_MANIFEST into the tree; an rsync mirror has no such file, so
    // serving it would charge rsync for pulpdist's metadata.
    '  exclude = /PULP_MANIFEST /.PULP_MANIFEST.tmp-*',
    '',
  ].join('\n');
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function listsModule(port: number): boolean {
  const r = spawnSync('rsync', [`rsync://127.0.0.1:${port}/`], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 && new RegExp(`^${RSYNC_MODULE}\\s`, 'm').test(r.stdout);
}

/** A running daemon; `stop` ends it and waits for its exit. */
export interface RsyncDaemon {
  port: number;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** Stop a child process: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Start an rsync daemon serving `tree` as `rsync://127.0.0.1:PORT/tree/`; config and log go in `workDir`. */
export async function startRsyncDaemon(opts: { tree: string; workDir: string; signal: AbortSignal; maxConnections?: number }): Promise<RsyncDaemon> {
  const conf = path.join(opts.workDir, 'rsyncd.conf');
  const logFile = path.join(opts.workDir, 'rsyncd.log');
  await writeFile(conf, rsyncdConf({ tree: opts.tree, logFile, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, maxConnections: opts.maxConnections ?? 8 }));
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(opts.signal);
    const child = spawn('rsync', ['--daemon', '--no-detach', `--config=${conf}`, '--address=127.0.0.1', `--port=${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let spawnError: Error | undefined;
    child.stderr?.on('data', (d) => (stderr += d));
    child.once('error', (err) => (spawnError = err));
    const deadline = Date.now() + 10_000;
    while (child.exitCode === null && Date.now() < deadline) {
      if (spawnError) throw new RsyncDaemonError(`cannot run rsync: ${spawnError.message}`, port, { cause: spawnError });
      // Ask for the module list: it proves the listener on the port is our daemon, not a process
      // that took the port between freePort() and the daemon's bind.
      if (child.pid !== undefined && (await connects(port)) && listsModule(port)) {
        return { port, pid: child.pid, url: `rsync://127.0.0.1:${port}/${RSYNC_MODULE}/`, stop: () => stopChild(child) };
      }
      try {
        await delay(25, undefined, { signal: opts.signal });
      } catch (err) {
        await stopChild(child);
        throw err;
      }
    }
    await stopChild(child);
    lastError = stderr.trim() || `no answer on port ${port} within 10 s`;
  }
  throw new RsyncDaemonError(`the rsync daemon did not start: ${lastError} (see ${logFile})`, null);
}
