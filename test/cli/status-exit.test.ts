/**
 * `pulpdist status` tells scripts how the network stands: 0 all Synced, 1 something needs a
 * person (Failed, Blocked, a site unreachable, spec errors, no controller), 3 only on the way;
 * the problems come first in the terminal view; --wait polls until the answer is not 3.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/logger.js';
import type { MirrorState, StatusDocument } from '../../core/status.js';
import { statusVerdict } from '../../cli/status-verdict.js';
import { createMetrics } from '../../web/metrics.js';
import { startStatusServer, type StatusServer } from '../../web/server.js';
import { runCli } from '../../testkit/cli.js';
import { COMMIT, sampleStatus } from '../../testkit/status-fixture.js';

/** The sample document with every placement in `state`, every site up and no spec error. */
function uniform(state: MirrorState): StatusDocument {
  const d = sampleStatus();
  d.controller.specErrors = [];
  d.controller.specCommit = d.controller.observedCommit;
  d.sites = d.sites.map((s) => ({ ...s, reachable: true, message: '' }));
  d.mirrors = d.mirrors.map((m) => ({ ...m, sites: m.sites.map((p) => ({ ...p, state, message: '' })) }));
  return d;
}

let current: () => StatusDocument = () => uniform('Synced');
let server: StatusServer;
test.before(async () => {
  server = await startStatusServer({ listen: '127.0.0.1:0', getStatus: () => current(), isReady: () => true, metrics: createMetrics(), log: silentLogger });
});
test.after(() => server.close());

test('verdict table: the exit code of each kind of document', () => {
  const failed = uniform('Synced');
  failed.mirrors[0]!.sites[1] = { ...failed.mirrors[0]!.sites[1]!, state: 'Failed', message: 'sync task failed: 404' };
  const blocked = uniform('Synced');
  (blocked.mirrors[1]!.sites[0] as { state: string }).state = 'Blocked';
  const down = uniform('Synced');
  down.sites[1] = { ...down.sites[1]!, reachable: false, message: 'connect ECONNREFUSED' };
  const specs = uniform('Progressing');
  specs.controller.specErrors = [{ file: 'm.yaml', line: 1, column: 1, message: 'bad' }];
  const mixed = uniform('Synced');
  mixed.mirrors[0]!.sites[0] = { ...mixed.mirrors[0]!.sites[0]!, state: 'Pending' };
  mixed.mirrors[1]!.sites[0] = { ...mixed.mirrors[1]!.sites[0]!, state: 'OutOfSync' };
  const table: [string, StatusDocument, number, RegExp | null][] = [
    ['all Synced', uniform('Synced'), 0, null],
    ['Synced and Suspended', (() => { const d = uniform('Synced'); d.mirrors[2]!.sites[0]!.state = 'Suspended'; return d; })(), 0, null],
    ['Progressing only', uniform('Progressing'), 3, /^fedora-40@origin Progressing$/],
    ['Pending and OutOfSync', mixed, 3, /^fedora-40@origin Pending$/],
    ['a Failed placement', failed, 1, /^fedora-40@hub Failed: sync task failed: 404$/],
    ['a Blocked placement', blocked, 1, /^epel-9@origin Blocked$/],
    ['a site unreachable', down, 1, /^site hub unreachable: connect ECONNREFUSED$/],
    ['spec errors beat Progressing', specs, 1, /^spec errors: 1 in 0123456789ab \(not applied\)$/],
  ];
  for (const [what, doc, code, first] of table) {
    const v = statusVerdict(doc);
    assert.is(v.code, code, what);
    if (first) assert.match(v.lines[0]!, first, what);
    else assert.equal(v.lines, [], what);
  }
  assert.is(statusVerdict(uniform('Synced'), { commit: 'fedcba98' }).code, 3);
  assert.is(statusVerdict(uniform('Synced'), { commit: COMMIT.slice(0, 8) }).code, 0);
});

test('the CLI exits with the verdict; problems are printed before the table', async () => {
  current = () => uniform('Synced');
  const ok = await runCli(['status', '--server', server.url]);
  assert.is(ok.code, 0, ok.stderr);
  assert.not.match(ok.stdout, /problems/);

  current = () => sampleStatus();
  const bad = await runCli(['status', '--server', server.url]);
  assert.is(bad.code, 1, bad.stderr);
  const lines = bad.stdout.split('\n');
  assert.is(lines[1], 'problems (exit 1):');
  assert.is(lines[2], '  spec errors: 1 in fedcba987654 (not applied)');
  assert.ok(lines.indexOf('  fedora-40@edge Failed: site unreachable: connect ECONNREFUSED 10.0.0.9:443') < lines.findIndex((l) => l.startsWith('MIRROR')));
  assert.ok(lines.includes('  site edge unreachable: connect ECONNREFUSED 10.0.0.9:443'));
  const json = await runCli(['status', '--server', server.url, '--json']);
  assert.is(json.code, 1);

  current = () => uniform('Progressing');
  const going = await runCli(['status', '--server', server.url]);
  assert.is(going.code, 3);
  assert.is(going.stdout.split('\n')[1], 'not converged yet (exit 3):');

  const nobody = await runCli(['status', '--server', 'http://127.0.0.1:9']);
  assert.is(nobody.code, 1);
  const usage = await runCli(['status', '--server', server.url, '--timeout', '5s']);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /--timeout only applies with --wait/);
});

test('--wait polls until the answer is no longer 3; --timeout gives up with 3', async () => {
  let calls = 0;
  // Progressing for the first two answers, then Synced.
  current = () => (++calls > 2 ? uniform('Synced') : uniform('Progressing'));
  const waited = await runCli(['status', '--server', server.url, '--wait', '--timeout', '1m']);
  assert.is(waited.code, 0, waited.stdout + waited.stderr);
  assert.ok(calls >= 3, `polled ${calls} times`);
  assert.match(waited.stdout, /^fedora-40\s+Synced/m);

  current = () => uniform('Progressing');
  const gaveUp = await runCli(['status', '--server', server.url, '--wait', '--timeout', '1s']);
  assert.is(gaveUp.code, 3);

  current = () => uniform('Synced');
  const notYet = await runCli(['status', '--server', server.url, '--commit', 'fedcba98']);
  assert.is(notYet.code, 3);
  assert.match(notYet.stdout, /commit fedcba98 not applied yet \(applied: 0123456789ab\)/);
});

test.run();
