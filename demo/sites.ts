/**
 * The demo's embedded sites: `pulpdist site` child processes on free loopback ports, each with its
 * data dir under the demo's temp dir. A site is ready when it prints its listening line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PulpdistError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/paths.js';

export interface DemoSite {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface StartDemoSiteOptions {
  name: string;
  dataDir: string;
  /** Directories the site may import `file://` manifests from. */
  allowedImportPaths: string[];
  /** Basic auth for the API; the password travels to the child in `passwordEnv`. */
  auth?: { username: string; passwordEnv: string; password: string };
  /** Lines of the site's log, prefixed with its name (the demo shows them with --verbose). */
  onLog?: (line: string) => void;
  signal: AbortSignal;
  /** @default 30_000 */
  readyTimeoutMs?: number;
}

const BIN = path.join(PACKAGE_ROOT, 'bin', 'pulpdist.js');

/** Spawn one site and wait until it listens. */
export async function startDemoSite(o: StartDemoSiteOptions): Promise<DemoSite> {
  const args = [BIN, 'site', '--listen', '127.0.0.1:0', '--data', o.dataDir];
  for (const p of o.allowedImportPaths) args.push('--allowed-import-path', p);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (o.auth) {
    args.push('--username', o.auth.username, '--password-env', o.auth.passwordEnv);
    env[o.auth.passwordEnv] = o.auth.password;
  }
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
    for (const line of d.split('\n')) if (line) o.onLog?.(`${o.name}: ${line}`);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new PulpdistError(`site ${o.name} did not start within ${o.readyTimeoutMs ?? 30_000} ms`)), o.readyTimeoutMs ?? 30_000);
    const onAbort = () => fail(o.signal.reason);
    o.signal.addEventListener('abort', onAbort, { once: true });
    function fail(err: unknown): void {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      child.kill('SIGKILL');
      reject(err);
    }
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        o.signal.removeEventListener('abort', onAbort);
        resolve(m[1].replace(/\/$/, ''));
      }
    });
    child.once('exit', (code) => fail(new PulpdistError(`site ${o.name} exited (code ${code}) before listening: ${stderr.trim().split('\n').slice(-3).join(' / ')}`)));
  });
  return { name: o.name, url, pid: child.pid!, stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
