/**
 * `pulpdist status` as a user runs it (a child process) against a real status server, and
 * against nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createServer as httpCreateServer } from 'node:http';
import { silentLogger } from '../../core/logger.js';
import type { StatusDocument } from '../../core/status.js';
import { createMetrics } from '../../web/metrics.js';
import { startStatusServer, type StatusServer } from '../../web/server.js';
import { renderStatusText } from '../../cli/commands/status.js';
import { BIN, runCli } from '../../testkit/cli.js';
import { COMMIT, sampleStatus } from '../../testkit/status-fixture.js';

const doc: StatusDocument = sampleStatus();
let server: StatusServer;

test.before(async () => {
  server = await startStatusServer({ listen: '127.0.0.1:0', getStatus: () => doc, isReady: () => true, metrics: createMetrics(), log: silentLogger });
});

test.after(async () => {
  await server.close();
});

test('prints the mirrors × sites table and the sites line', async () => {
  const r = await runCli(['status', '--server', server.url]);
  // The sample has a Failed placement, an unreachable site and spec errors: exit 1.
  assert.is(r.code, 1, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, `spec ${COMMIT.slice(0, 7)} applied`);
  assert.match(r.stdout, 'mirrors/bad.yaml:14:7: spec.sites[2]: unknown site "brq2"');
  const header = lines.find((l) => l.startsWith('MIRROR'))!;
  // Columns upstream first: origin, then what it feeds (edge, hub), then leaf.
  assert.match(header, /^MIRROR\s+ORIGIN\s+EDGE\s+HUB\s+LEAF\s+TREE$/);
  const fedora = lines.find((l) => l.startsWith('fedora-40'))!;
  assert.match(fedora, /Synced v3 5m\s+Failed v2 5m\s+Synced v3 3m\s+Progressing 37% v2 \d+s\s+a1a1a1a1a1a1$/);
  const tools = lines.find((l) => l.startsWith('tools'))!;
  // tools is not carried at origin or edge: a dot there, Suspended at hub and leaf.
  assert.match(tools, /^tools\s+·\s+·\s+Suspended v3\s+Suspended v3\s+b2b2b2b2b2b2$/);
  assert.match(r.stdout, /^sites: origin up \(pulp 3\.24\.0\) · edge unreachable: connect ECONNREFUSED 10\.0\.0\.9:443 · hub up \(pulp 3\.24\.0\) · leaf up \(pulp 3\.24\.0\)$/m);
  assert.not.match(r.stdout, '\u001b[', 'no colour when stdout is not a terminal');
});

test('--json prints the document', async () => {
  const r = await runCli(['status', '--server', server.url + '/', '--json']);
  assert.is(r.code, 1, r.stderr);
  assert.equal(JSON.parse(r.stdout), doc);
});

test('credentials in --server go in an Authorization header and never into the output', async () => {
  const seen: string[] = [];
  const proxy = httpCreateServer((req, res) => {
    seen.push(String(req.headers['authorization']));
    res.writeHead(req.headers['authorization'] === 'Basic ' + Buffer.from('ops:s3cr3t-pw').toString('base64') ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(doc));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const port = (proxy.address() as { port: number }).port;
    const ok = await runCli(['status', '--server', `http://ops:s3cr3t-pw@127.0.0.1:${port}`]);
    assert.is(ok.code, 1, ok.stderr); // answered: the sample's problems give exit 1
    assert.match(ok.stdout, /^MIRROR/m);
    assert.equal(seen, ['Basic ' + Buffer.from('ops:s3cr3t-pw').toString('base64')]);
    const denied = await runCli(['status', '--server', `http://ops:wrong-pw-123@127.0.0.1:${port}`]);
    assert.is(denied.code, 1);
    assert.match(denied.stderr, `cannot reach the controller at http://127.0.0.1:${port}`);
    assert.not.match(denied.stderr + denied.stdout, 'wrong-pw-123');
  } finally {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
});

test('an unreachable controller is exit 1 with the URL and the reason', async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const r = await runCli(['status', '--server', url]);
  assert.is(r.code, 1);
  assert.match(r.stderr, `error: cannot reach the controller at ${url}\n`);
  assert.match(r.stderr, /reason: .*ECONNREFUSED/);
  assert.not.match(r.stderr, /at .*\.js:\d+/);
});

test('a server that is not a controller, and a bad --server, are clear errors', async () => {
  const notFound = await runCli(['status', '--server', server.url + '/nothing-here']);
  assert.is(notFound.code, 1);
  assert.match(notFound.stderr, /reason: GET \/api\/v1\/status answered 404/);
  const bad = await runCli(['status', '--server', 'ftp://example.com']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, '--server must be an http(s) URL');
});

/** Run `pulpdist status` on a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function onTty(args: string[], env: Record<string, string | undefined>): Promise<string> {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, NO_COLOR: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    // The sample document has problems: `status` exits 1 after printing.
    child.on('close', (code) => (code === 1 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
  });
}

test('on a terminal the table is coloured, unless NO_COLOR is set', async () => {
  const coloured = await onTty(['status', '--server', server.url], {});
  assert.match(coloured, '\u001b[31mFailed v2');
  assert.match(coloured, '\u001b[32mSynced v3');
  const plain = await onTty(['status', '--server', server.url], { NO_COLOR: '1' });
  assert.match(plain, 'Failed v2');
  assert.not.match(plain, '\u001b[');
});

test('colour codes follow the state when asked for', () => {
  const text = renderStatusText(doc, { now: new Date(), colour: true });
  assert.match(text, '\u001b[31mFailed v2');
  assert.match(text, '\u001b[32mSynced v3');
  assert.match(text, '\u001b[35mSuspended v3');
  const plain = renderStatusText(doc, { now: new Date(), colour: false });
  assert.not.match(plain, '\u001b[');
});

test.run();
