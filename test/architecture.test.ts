/**
 * The layout's import rules (docs/architecture.md): no run-time import cycle, and each top-level
 * folder imports only what it may. scripts/check-imports.mjs is the check; this runs it on the
 * project and shows on a small tree that it finds both kinds of problem.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../core/paths.js';

interface Checker {
  check(root?: string): { files: number; findings: string[] };
}
const load = async (): Promise<Checker> => (await import(pathToFileURL(path.join(PACKAGE_ROOT, 'scripts', 'check-imports.mjs')).href)) as Checker;

test('the project has no run-time import cycle and every folder keeps to its rules', async () => {
  const { files, findings } = (await load()).check();
  assert.ok(files > 100, `read ${files} files`);
  assert.equal(findings, []);
});

test('the check finds a run-time cycle, a forbidden import and a file outside a folder\'s allowed files, and ignores a type-only cycle', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-imports-'));
  try {
    const put = async (rel: string, text: string) => {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), text);
    };
    await put('core/a.ts', "import { b } from './b.js';\nexport const a = b;\n");
    await put('core/b.ts', "import { a } from './a.js';\nexport const b = () => a;\n");
    await put('core/c.ts', "import type { D } from './d.js';\nexport type C = D;\n");
    await put('core/d.ts', "import { type C } from './c.js';\nexport type D = C | 1;\n");
    await put('reconcilers/x.ts', "import { y } from '../cli/y.js';\nexport const x = y;\n");
    await put('cli/y.ts', 'export const y = 1;\n');
    // reconcilers/ may reach manifest/'s pure parser, not its scanner (fs, worker threads).
    await put('reconcilers/p.ts', "import { parseManifest } from '../manifest/parse.js';\nexport const p = parseManifest;\n");
    await put('reconcilers/s.ts', "import { scanTree } from '../manifest/scan.js';\nexport const s = scanTree;\n");
    await put('manifest/parse.ts', 'export const parseManifest = 1;\n');
    await put('manifest/scan.ts', 'export const scanTree = 1;\n');
    const { findings } = (await load()).check(dir);
    assert.equal(findings.sort(), [
      'reconcilers/s.ts: imports manifest/scan.ts, but reconcilers/ may import from manifest/ only manifest/digest.ts, manifest/parse.ts, manifest/types.ts',
      'reconcilers/x.ts: imports cli/y.ts, but reconcilers/ may not import cli/',
      'run-time import cycle: core/a.ts ↔ core/b.ts',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
