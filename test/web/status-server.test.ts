/**
 * The status endpoint on 127.0.0.1:0, fed a hand-built StatusDocument: every route, HEAD, 405s,
 * 404s, readiness, metrics text, the schema, caching by identity, redaction and shutdown.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { silentLogger } from '../../core/logger.js';
import { SCHEMA_DIR } from '../../core/paths.js';
import { registerSecret } from '../../core/redact.js';
import type { StatusDocument } from '../../core/status.js';
import type { PassResult } from '../../reconcilers/pass-types.js';
import { createMetrics, type Metrics } from '../../web/metrics.js';
import { parseListen, startStatusServer, type StatusServer } from '../../web/server.js';
import { COMMIT, sampleStatus } from '../../testkit/status-fixture.js';

const NOW = new Date('2026-11-25T12:00:00Z');
let doc: StatusDocument = sampleStatus(NOW);
let ready = false;
let metrics: Metrics;
let server: StatusServer;

test.before(async () => {
  metrics = createMetrics({ version: '0.1.0', countSyncsSince: new Date(0), now: () => NOW });
  server = await startStatusServer({ listen: '127.0.0.1:0', getStatus: () => doc, isReady: () => ready, metrics, log: silentLogger, now: () => NOW, maxBodyBytes: 64 * 1024 });
});

test.after(async () => {
  await server.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with node:http (fetch refuses bodies on GET and hides some headers). */
function http(method: string, p: string, opts: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers, ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}) };
    const req = request(server.url + p, { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const READ_ROUTES = ['/', '/api/v1/status', '/api/v1/mirrors', '/api/v1/mirrors/fedora-40', '/api/v1/sites', '/metrics', '/livez', '/healthz', '/readyz'];

test('GET /api/v1/status serves the document, valid against schemas/status.schema.json', async () => {
  const r = await http('GET', '/api/v1/status');
  assert.is(r.status, 200);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const served = JSON.parse(r.body) as StatusDocument;
  assert.equal(served, doc);
  const ajv = new Ajv.default({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'status.schema.json'), 'utf8')) as object);
  assert.ok(validate(served), JSON.stringify(validate.errors));
  // The schema can fail: an unknown state and a missing field are caught.
  const bad = structuredClone(served) as unknown as { mirrors: { sites: { state: string }[] }[]; sites: Record<string, unknown>[] };
  bad.mirrors[0]!.sites[0]!.state = 'Healthy';
  delete bad.sites[0]!['reachable'];
  assert.not.ok(validate(bad));
  assert.equal(validate.errors?.map((e) => e.instancePath).filter((p) => p === '/sites/0' || p === '/mirrors/0/sites/0/state').sort(), ['/mirrors/0/sites/0/state', '/sites/0']);
});

test('the mirror and site routes; an unknown mirror is a JSON 404', async () => {
  const mirrors = await http('GET', '/api/v1/mirrors');
  assert.equal(JSON.parse(mirrors.body), doc.mirrors);
  const one = await http('GET', '/api/v1/mirrors/epel-9');
  assert.is(one.status, 200);
  assert.equal(JSON.parse(one.body), doc.mirrors.find((m) => m.name === 'epel-9'));
  const sites = await http('GET', '/api/v1/sites');
  assert.equal(JSON.parse(sites.body), doc.sites);
  const missing = await http('GET', '/api/v1/mirrors/no-such-mirror');
  assert.is(missing.status, 404);
  assert.match(String(missing.headers['content-type']), /^application\/json/);
  assert.match((JSON.parse(missing.body) as { message: string }).message, 'no-such-mirror');
  const badEncoding = await http('GET', '/api/v1/mirrors/%E0%A4%A');
  assert.is(badEncoding.status, 400);
  const unknown = await http('GET', '/api/v2/status');
  assert.is(unknown.status, 404);
});

test('HEAD answers like GET without a body, on every read route', async () => {
  ready = true;
  for (const p of READ_ROUTES) {
    const g = await http('GET', p);
    const h = await http('HEAD', p);
    assert.is(h.status, g.status, p);
    assert.is(h.headers['content-type'], g.headers['content-type'], p);
    assert.is(h.headers['content-length'], String(Buffer.byteLength(g.body)), p);
    assert.is(h.body, '', p);
  }
});

test('every other method is 405 with Allow: GET, HEAD', async () => {
  for (const p of READ_ROUTES) {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await http(method, p, { body: '{}', headers: { 'content-type': 'application/json' } });
      assert.is(r.status, 405, `${method} ${p}`);
      assert.is(r.headers['allow'], 'GET, HEAD', `${method} ${p}`);
    }
  }
  // Without a webhook configured, /hooks/git does not exist.
  assert.is((await http('POST', '/hooks/git', { body: '{}' })).status, 404);
});

test('/livez and /healthz always 200; /readyz follows isReady()', async () => {
  ready = false;
  assert.is((await http('GET', '/livez')).status, 200);
  assert.is((await http('GET', '/healthz')).status, 200);
  const notReady = await http('GET', '/readyz');
  assert.is(notReady.status, 503);
  assert.match(notReady.body, /not ready/);
  ready = true;
  assert.is((await http('GET', '/readyz')).status, 200);
  ready = false;
  assert.is((await http('GET', '/readyz')).status, 503);
});

/** name → type from the `# TYPE` lines, and every sample line parsed. */
function parseMetrics(text: string): { types: Map<string, string>; help: Set<string>; samples: { name: string; labels: Record<string, string>; value: number }[] } {
  const types = new Map<string, string>();
  const help = new Set<string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    let m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^# HELP (\S+) .+$/.exec(line);
    if (m) {
      help.add(m[1]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m![1]!, labels, value: Number(m![3]) });
  }
  return { types, help, samples };
}

test('/metrics: HELP and TYPE for every family, conventional names, values from the document', async () => {
  const r = await http('GET', '/metrics');
  assert.is(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const { types, help, samples } = parseMetrics(r.body);
  const expected: Record<string, string> = {
    pulpdist_mirror_state: 'gauge',
    pulpdist_last_sync_success_timestamp_seconds: 'gauge',
    pulpdist_sync_duration_seconds: 'histogram',
    pulpdist_sync_downloaded_bytes_total: 'counter',
    pulpdist_passes_total: 'counter',
    pulpdist_pass_errors_total: 'counter',
    pulpdist_site_reachable: 'gauge',
    pulpdist_propagation_seconds: 'histogram',
  };
  for (const [name, type] of Object.entries(expected)) assert.is(types.get(name), type, name);
  for (const [name, type] of types) {
    assert.ok(help.has(name), `HELP for ${name}`);
    assert.is(name.endsWith('_total'), type === 'counter', `${name}: _total exactly on counters`);
    assert.not.match(name, /_(milliseconds|ms|kilobytes|minutes|hours)(_|$)/, `${name} is in base units`);
  }
  const value = (name: string, labels: Record<string, string>) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  assert.is(value('pulpdist_mirror_state', { mirror: 'fedora-40', site: 'edge', state: 'Failed' }), 1);
  assert.is(value('pulpdist_mirror_state', { mirror: 'fedora-40', site: 'edge', state: 'Synced' }), 0);
  assert.is(value('pulpdist_mirror_state', { mirror: 'epel-9', site: 'hub', state: 'OutOfSync' }), 1);
  assert.is(value('pulpdist_site_reachable', { site: 'edge' }), 0);
  assert.is(value('pulpdist_site_reachable', { site: 'origin' }), 1);
  const hubSync = doc.mirrors[0]!.sites.find((s) => s.site === 'hub')!.lastSync!.finishedAt!;
  assert.is(value('pulpdist_last_sync_success_timestamp_seconds', { mirror: 'fedora-40', site: 'hub' }), Date.parse(hubSync) / 1000);
  // Each finished sync is counted once, however many scrapes see it.
  const bytesBefore = value('pulpdist_sync_downloaded_bytes_total', { mirror: 'fedora-40', site: 'hub' });
  assert.is(bytesBefore, 1_048_576);
  await http('GET', '/metrics');
  const again = parseMetrics((await http('GET', '/metrics')).body);
  assert.is(again.samples.find((s) => s.name === 'pulpdist_sync_downloaded_bytes_total' && s.labels['mirror'] === 'fedora-40' && s.labels['site'] === 'hub')?.value, 1_048_576);

  if (existsSync('/usr/bin/promtool')) {
    // promtool prints lint problems and exits non-zero when there are any.
    const out = execFileSync('/usr/bin/promtool', ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
    assert.is(out.trim(), '');
  }
});

test('/metrics follows a new document: a removed mirror disappears, passes and propagation are counted', async () => {
  const saved = doc;
  try {
    doc = { ...doc, mirrors: doc.mirrors.filter((m) => m.name !== 'epel-9') };
    const pass: PassResult = { converged: false, changes: 4, mirrors: doc.mirrors, sites: doc.sites, nextDueAt: null, failures: [] };
    metrics.recordPass(pass, 2500);
    metrics.recordPass(null, 100, new Error('observe failed'));
    metrics.recordPropagation('fedora-40', 'leaf', 420);
    const { samples } = parseMetrics((await http('GET', '/metrics')).body);
    const find = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    assert.is(find('pulpdist_mirror_state', { mirror: 'epel-9' }).length, 0);
    assert.is(find('pulpdist_mirror_state', { mirror: 'fedora-40' }).length, 4 * 7);
    assert.is(find('pulpdist_passes_total', { result: 'succeeded' })[0]?.value, 1);
    assert.is(find('pulpdist_passes_total', { result: 'failed' })[0]?.value, 1);
    assert.is(find('pulpdist_pass_errors_total')[0]?.value, 1);
    assert.is(find('pulpdist_pass_changes_total')[0]?.value, 4);
    assert.is(find('pulpdist_pass_duration_seconds_sum')[0]?.value, 2.6);
    assert.is(find('pulpdist_propagation_seconds_count', { mirror: 'fedora-40', site: 'leaf' })[0]?.value, 1);
    // 420 s falls in the 600 s bucket, not the 300 s one.
    assert.is(find('pulpdist_propagation_seconds_bucket', { mirror: 'fedora-40', site: 'leaf', le: '300' })[0]?.value, 0);
    assert.is(find('pulpdist_propagation_seconds_bucket', { mirror: 'fedora-40', site: 'leaf', le: '600' })[0]?.value, 1);
    assert.is(find('pulpdist_spec_errors')[0]?.value, 1);
  } finally {
    doc = saved;
  }
});

test('GET / is the HTML page, escaped, cached per document, with ETag and a strict CSP', async () => {
  const a = await http('GET', '/');
  assert.is(a.status, 200);
  assert.match(String(a.headers['content-type']), /^text\/html/);
  assert.match(String(a.headers['content-security-policy']), /default-src 'none'/);
  assert.match(a.body, COMMIT.slice(0, 7));
  assert.match(a.body, 'mirrors/bad.yaml:14:7');
  // 3 of the 11 cells are Synced, 1 Failed, 1 Blocked; one spec error.
  assert.match(a.body, '<title>pulpdist — 3/11 synced, 1 failed, 1 blocked, 1 spec error</title>');
  assert.not.match(a.body, '<script>alert');
  assert.match(a.body, '&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;');
  // Nothing to fetch: every src/href is inline data (the favicon) or a view of the page itself
  // (a filter link), so the page works offline.
  assert.not.match(a.body, /(?:src|href)="(?!data:|\/(?:\?[^"]*)?")/);
  assert.match(a.body, 'href="/?state=Failed"');
  assert.match(a.body, '<link rel="icon" href="data:,">');
  const b = await http('GET', '/');
  assert.is(b.headers['etag'], a.headers['etag']);
  const notModified = await http('GET', '/', { headers: { 'if-none-match': String(a.headers['etag']) } });
  assert.is(notModified.status, 304);
  assert.is(notModified.body, '');
  const saved = doc;
  try {
    doc = { ...doc, controller: { ...doc.controller, observedCommit: 'abcdef1234567890abcdef1234567890abcdef12' } };
    const c = await http('GET', '/');
    assert.is.not(c.headers['etag'], a.headers['etag']);
    assert.match(c.body, '>abcdef1<');
  } finally {
    doc = saved;
  }
});

test('no registered secret or URL credential leaves the process', async () => {
  const secret = 'hunter2-very-secret';
  registerSecret(secret);
  const saved = doc;
  try {
    doc = structuredClone(doc);
    doc.sites[0]!.message = `login failed with password ${secret}`;
    doc.sites[1]!.url = `https://pulpdist:${secret}@pulp.example.com`;
    doc.mirrors[0]!.sites[0]!.message = `GET https://user:pw-in-url@upstream.example.com/PULP_MANIFEST failed`;
    for (const p of READ_ROUTES) {
      const r = await http('GET', p);
      assert.not.match(r.body, secret, p);
      assert.not.match(r.body, 'pw-in-url', p);
    }
    const served = JSON.parse((await http('GET', '/api/v1/status')).body) as StatusDocument;
    assert.is(served.sites[0]!.message, 'login failed with password ***');
    assert.is(served.sites[1]!.url, 'https://pulp.example.com');
  } finally {
    doc = saved;
  }
});

/** GET with gzip asked for: the raw (still compressed) bytes and the headers. */
function gzipGet(p: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(server.url + p, { method, agent: false, headers: { 'accept-encoding': 'gzip, deflate' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('gzip when asked for: the same bytes compressed, for the page, the JSON and /metrics', async () => {
  for (const p of ['/', '/api/v1/status', '/api/v1/mirrors', '/metrics']) {
    const plain = await http('GET', p);
    const gz = await gzipGet(p);
    assert.is(gz.status, 200, p);
    assert.is(gz.headers['content-encoding'], 'gzip', p);
    assert.is(gz.headers['vary'], 'Accept-Encoding', p);
    assert.ok(gz.raw.length < Buffer.byteLength(plain.body), `${p} is smaller compressed`);
    assert.is(gunzipSync(gz.raw).toString('utf8'), plain.body, p);
    if (p !== '/metrics') {
      const head = await gzipGet(p, 'HEAD');
      assert.is(head.headers['content-length'], String(gz.raw.length), `HEAD ${p}`);
    }
  }
  // Small answers and clients that refuse gzip get identity.
  const small = await gzipGet('/livez');
  assert.is(small.headers['content-encoding'], undefined);
  const refused = await http('GET', '/api/v1/status', { headers: { 'accept-encoding': 'gzip;q=0' } });
  assert.is(refused.headers['content-encoding'], undefined);
});

test('conditional GET (fresh) and Accept-Encoding (negotiator) are read as RFC 9110 says', async () => {
  const etag = String((await http('GET', '/api/v1/status')).headers['etag']);
  assert.match(etag, /^W\/"/);
  // Weak comparison: the tag with or without W/, in a list, or `*` all match; another tag does not.
  for (const inm of [etag, etag.slice(2), `"other", ${etag}`, '*']) assert.is((await http('GET', '/api/v1/status', { headers: { 'if-none-match': inm } })).status, 304, inm);
  assert.is((await http('GET', '/api/v1/status', { headers: { 'if-none-match': '"other"' } })).status, 200);
  // A reload (Cache-Control: no-cache) always gets the body.
  assert.is((await http('GET', '/api/v1/status', { headers: { 'if-none-match': etag, 'cache-control': 'no-cache' } })).status, 200);
  for (const [ae, gz] of [['*', true], ['GZIP;q=0.5', true], ['deflate, gzip;q=0.001', true], ['identity', false], ['br, gzip;q=0', false], ['x-gzip', false]] as const) {
    const r = await http('GET', '/api/v1/status', { headers: { 'accept-encoding': ae } });
    assert.is(r.headers['content-encoding'], gz ? 'gzip' : undefined, ae);
  }
});

test('a body over the limit is refused with 413', async () => {
  const r = await http('PUT', '/api/v1/status', { body: Buffer.alloc(128 * 1024, 0x41) });
  assert.is(r.status, 413);
});

test('parseListen accepts host:port forms and refuses the rest', () => {
  assert.equal(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.equal(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.equal(parseListen(':9000'), { host: '0.0.0.0', port: 9000 });
  for (const bad of ['8080', 'localhost', 'host:99999', 'a:b:c']) {
    assert.throws(() => parseListen(bad), (err: Error & { code?: string }) => err.code === 'UsageError' && err.message.includes(bad));
  }
});

test('a taken port is a clear error; close() ends keep-alive connections and stops listening', async () => {
  const port = Number(new URL(server.url).port);
  try {
    await startStatusServer({ listen: `127.0.0.1:${port}`, getStatus: () => doc, isReady: () => true, metrics: createMetrics(), log: silentLogger });
    assert.unreachable('a second server on the same port');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'StatusListenError');
    assert.is((err as { listen?: string }).listen, `127.0.0.1:${port}`);
    assert.match((err as Error).message, `cannot listen on 127.0.0.1:${port}: the address is in use`);
  }
  const ac = new AbortController();
  const other = await startStatusServer({ listen: '127.0.0.1:0', getStatus: () => doc, isReady: () => true, metrics: createMetrics(), log: silentLogger, signal: ac.signal });
  const otherPort = Number(new URL(other.url).port);
  // An idle keep-alive connection must not hold the shutdown up.
  const sock = connect(otherPort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise<void>((resolve) => sock.once('data', () => resolve()));
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  ac.abort();
  await other.close();
  await closed;
  const refused = await new Promise<string>((resolve) => {
    const s = connect(otherPort, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  assert.is(refused, 'ECONNREFUSED');
});

test.run();
