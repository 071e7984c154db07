/**
 * `pulpdist run` as a child process, as an operator runs it: for the controller's end-to-end
 * tests and its benchmark. Resolves once the status endpoint's URL is printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './cli.js';

export interface ControllerProcess {
  /** The status endpoint, e.g. `http://127.0.0.1:41234`. */
  url: string;
  pid: number;
  child: ChildProcess;
  /** Everything written to stderr so far (the log). */
  log(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** SIGTERM and wait. */
  stop(): Promise<number | string>;
  /** SIGKILL and wait. */
  kill(): Promise<number | string>;
}

export async function startControllerProcess(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ControllerProcess> {
  const child = spawn(process.execPath, [BIN, 'run', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pulpdist run did not print its URL within ${opts.timeoutMs ?? 20_000} ms; log:\n${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /status at (http:\/\/\S+?)\/?\s/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`pulpdist run exited (${code}) before listening; log:\n${stderr}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    child,
    log: () => stderr,
    exited,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      child.kill('SIGKILL');
      return exited;
    },
  };
}
