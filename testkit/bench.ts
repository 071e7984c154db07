/**
 * The benchmark scripts as the suite runs them (test/bench/): `dist/bench/NAME.js` in a process of
 * its own, with a temp dir for its `--out` JSON, and the refusals of bad options.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../core/paths.js';
import { tempDir } from './cli.js';

const run = promisify(execFile);

const script = (name: string) => path.join(PACKAGE_ROOT, 'dist', 'bench', `${name}.js`);

/** Run `bench/NAME` with `args` and `--out FILE`; its stdout, stderr and the JSON it wrote. Rejects on a non-zero exit. */
export async function runBench(name: string, args: string[], timeoutMs = 120_000): Promise<{ stdout: string; stderr: string; json: any }> {
  const { dir, cleanup } = await tempDir(`pulpdist-bench-${name}-test-`);
  try {
    const out = path.join(dir, 'out.json');
    const { stdout, stderr } = await run(process.execPath, [script(name), ...args, '--out', out], { timeout: timeoutMs });
    return { stdout, stderr, json: JSON.parse(await readFile(out, 'utf8')) };
  } finally {
    await cleanup();
  }
}

/** Run `bench/NAME` with options it must refuse; its exit code and what it printed. */
export async function refusedBench(name: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const err = await run(process.execPath, [script(name), ...args], { timeout: 30_000 }).then(
    () => null,
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  return err ? { code: err.code, output: `${err.stderr}${err.stdout}` } : { code: 0, output: '' };
}
