/**
 * `pulpdist` run by a user who cannot write a tree, and the check that it wrote nothing there. As
 * root (CI containers) that user is root without the capabilities that bypass file permissions
 * (`setpriv`): it still owns and can read the project wherever CI cloned it, which a switch to
 * nobody could not count on (a clone under a 0700 temp dir is out of nobody's reach).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BIN, runProcess, type CliResult } from './cli.js';

export const AS_ROOT = process.getuid?.() === 0;

/** `pulpdist ARGS` without write access to files it does not own (as root: without DAC overrides), with only PATH and `env` set. */
export function runUnprivileged(args: string[], env: Record<string, string>): Promise<CliResult> {
  const argv = AS_ROOT ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  return runProcess(argv, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
}

/** Every path below `root` with its mode and mtime, sorted: what "untouched" means. */
export function treeSnapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(root, p)} ${st.mode.toString(8)} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}
