/**
 * `plan` is honest about what it could not see (issue 15): with one site answering 401, every
 * format says the plan is incomplete and names the site, none says "every site matches", and the
 * exit code is 1. Real sites, the real binary.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startSite, type RunningSite } from '../../testkit/site.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let origin: RunningSite | undefined;
let hub: RunningSite | undefined;
let specs = '';
const env = (): Record<string, string> => ({ XDG_CACHE_HOME: path.join(dir, 'cache'), PULPDIST_HUB_PASSWORD: 'not-the-password' });

/** The setup's outcome: uvu says nothing when a `before` hook throws, so each test rethrows it. */
let setup: Promise<void> = Promise.resolve();

async function prepare(): Promise<void> {
  ({ dir, cleanup } = await tempDir('pulpdist-plan-incomplete-'));
  const tree = path.join(dir, 'trees', 'tools');
  await mkdir(tree, { recursive: true });
  await writeFile(path.join(tree, 'a.txt'), 'a\n');
  origin = await startSite({ dataDir: path.join(dir, 'origin'), allowedImportPaths: [path.join(dir, 'trees')] });
  hub = await startSite({ dataDir: path.join(dir, 'hub'), username: 'admin', password: 'the-password' });
  specs = path.join(dir, 'specs');
  await mkdir(specs);
  await writeFile(path.join(specs, 'specs.yaml'), [
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: origin}', 'spec:', `  pulp: {url: "${origin.url}"}`, '---',
    'apiVersion: pulpdist/v1', 'kind: Site', 'metadata: {name: hub}', 'spec:', `  pulp: {url: "${hub.url}", auth: {username: admin, passwordEnv: PULPDIST_HUB_PASSWORD}}`, '  upstream: origin', '---',
    'apiVersion: pulpdist/v1', 'kind: Mirror', 'metadata: {name: tools}', 'spec:', `  source: {path: "${tree}"}`, '  origin: origin', '  sites: [origin]', '',
  ].join('\n'));
  // The origin converges, so that the only thing plan cannot vouch for is the hub.
  const a = await runCli(['apply', '--specs', specs], { env: env(), timeoutMs: 120_000 });
  assert.ok(/hub/.test(a.stdout + a.stderr), a.stdout + a.stderr);
}

test.before(() => {
  setup = prepare();
  setup.catch(() => undefined); // reported by the first test that awaits it
});

test.after(async () => {
  await Promise.all([origin?.stop(), hub?.stop()]);
  await cleanup();
});

test('text, markdown and JSON all say the plan is incomplete and which site; exit 1', async () => {
  await setup;
  const line = /Plan incomplete: site hub could not be observed; what would change there is unknown\./;
  const text = await runCli(['plan', '--specs', specs], { env: env() });
  assert.is(text.code, 1, text.stderr);
  assert.match(text.stdout, line);
  assert.match(text.stdout, /site hub: unreachable: .*401/);
  assert.not.match(text.stdout, /every site matches/);
  assert.match(text.stdout, /No changes at the sites that were observed\./);
  const md = await runCli(['plan', '--specs', specs, '--format', 'markdown'], { env: env() });
  assert.is(md.code, 1);
  assert.match(md.stdout, line);
  assert.not.match(md.stdout, /every site matches/);
  const json = await runCli(['plan', '--specs', specs, '--json'], { env: env() });
  assert.is(json.code, 1);
  const doc = JSON.parse(json.stdout) as { changes: boolean; complete: boolean; unobserved: string[] };
  assert.equal([doc.changes, doc.complete, doc.unobserved], [false, false, ['hub']]);
});

test('the same plan with the right password is complete and all-clear; exit 0', async () => {
  await setup;
  const ok = await runCli(['plan', '--specs', specs, '--json'], { env: { ...env(), PULPDIST_HUB_PASSWORD: 'the-password' } });
  assert.is(ok.code, 0, ok.stderr);
  const doc = JSON.parse(ok.stdout) as { changes: boolean; complete: boolean; unobserved: string[] };
  assert.equal([doc.changes, doc.complete, doc.unobserved], [false, true, []]);
  const text = await runCli(['plan', '--specs', specs], { env: { ...env(), PULPDIST_HUB_PASSWORD: 'the-password' } });
  assert.match(text.stdout, /No changes: every site matches the specs\./);
  assert.not.match(text.stdout, /incomplete/);
});

test.run();
