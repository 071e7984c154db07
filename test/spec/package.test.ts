/** What `npm pack` ships: the program, its schemas and example specs; no test, benchmark or test kit. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../../core/paths.js';

test('npm pack lists the CLI and no test, bench or testkit file', async () => {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE_ROOT, maxBuffer: 64 * 1024 * 1024 });
  const [pack] = JSON.parse(stdout) as [{ files: { path: string }[] }];
  const paths = pack.files.map((f) => f.path);
  for (const must of ['bin/pulpdist.js', 'dist/cli/main.js', 'dist/manifest/bundle.js', 'dist/manifest/hash-worker.js', 'dist/site/server.js', 'schemas/mirror.schema.json', 'mirrors/sites/origin.yaml']) {
    assert.ok(paths.includes(must), `${must} is shipped`);
  }
  assert.equal(paths.filter((p) => /^dist\/(test|bench|testkit)\//.test(p)), []);
});

test.run();
