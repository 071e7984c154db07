/**
 * Embedded sites for the pulpdist side of `bench:rsync`: real `pulpdist site` child processes (the
 * benchmark needs each one's pid for its CPU time), started on 127.0.0.1 port 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PulpdistError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { stopChild } from './rsync-daemon.js';

/** A site process did not start or did not say where it listens. */
export class BenchSiteError extends PulpdistError {
  constructor(
    message: string,
    readonly site: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** One running `pulpdist site`. */
export interface BenchSite {
  name: string;
  /** Its stderr (a line per request and per task). */
  logFile: string;
  url: string;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

const LISTENING = /pulpdist site listening on (http:\/\/127\.0\.0\.1:\d+)/;

/** Start `pulpdist site` for `name` with its data under `dataDir`; resolves once it listens. */
export async function startBenchSite(opts: { name: string; dataDir: string; allowedImportPath?: string; signal: AbortSignal; timeoutMs?: number }): Promise<BenchSite> {
  await mkdir(opts.dataDir, { recursive: true });
  // Node options for the sites alone, to profile them (e.g. BENCH_SITE_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof").
  const nodeOptions = process.env.BENCH_SITE_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];
  const args = [...nodeOptions, path.join(PACKAGE_ROOT, 'bin', 'pulpdist.js'), 'site', '--listen', '127.0.0.1:0', '--data', opts.dataDir];
  if (opts.allowedImportPath) args.push('--allowed-import-path', opts.allowedImportPath);
  // The site logs a line per request to stderr, and Node writes to a pipe synchronously: a pipe
  // read by this (busy) process could stall the site and bias its figures. A file never blocks.
  const logFile = path.join(opts.dataDir, '..', `${opts.name}.log`);
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', logFd], env: { ...process.env, NO_COLOR: '1' } });
  } finally {
    closeSync(logFd);
  }
  let stdout = '';
  const tail = async () => (await readFile(logFile, 'utf8').catch(() => '')).trim().slice(-500);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => void tail().then((t) => reject(new BenchSiteError(`site ${opts.name} did not report listening within ${timeoutMs} ms: ${t}`, opts.name))), timeoutMs);
      const onAbort = () => reject(opts.signal.reason);
      opts.signal.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
      };
      child.stdout?.on('data', (d) => {
        stdout += d;
        const m = LISTENING.exec(stdout);
        if (m) {
          done();
          resolve(m[1]!);
        }
      });
      child.once('error', (err) => {
        done();
        reject(new BenchSiteError(`cannot start site ${opts.name}: ${err.message}`, opts.name, { cause: err }));
      });
      child.once('exit', (code) => {
        done();
        void tail().then((t) => reject(new BenchSiteError(`site ${opts.name} exited with ${code} before listening: ${t}`, opts.name)));
      });
    });
    // Keep draining stdout so a chatty site never blocks on a full pipe.
    child.stdout?.resume();
    if (child.pid === undefined) throw new BenchSiteError(`site ${opts.name} has no pid`, opts.name);
    return { name: opts.name, logFile, url, pid: child.pid, dataDir: opts.dataDir, stop: () => stopChild(child) };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}
