/**
 * Item 5 of issue 8, the site API: malformed JSON, wrong shapes and types, hostile query strings
 * and oversized bodies sent to a real `pulpdist site` must get a 4xx answer (400 for bad input,
 * 413 for a body over the limit), never a 500, and the site must keep working and log no internal
 * error. Seeded fast-check runs throw generated JSON at every write endpoint.
 */
import http from 'node:http';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { MAX_BODY } from '../../site/http.js';
import { call, startSite, type RunningSite } from '../../testkit/site.js';

let site: RunningSite;
const API = '/pulp/api/v3/';
let repo = '';
let remote = '';
let dist = '';

/** Send raw bytes as a request body; the answer's status and text. */
async function raw(method: string, href: string, body: string | Uint8Array, headers: Record<string, string> = { 'Content-Type': 'application/json' }): Promise<{ status: number; text: string }> {
  const r = await fetch(site.url + href, { method, headers, body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]) });
  return { status: r.status, text: await r.text() };
}

function noInternalError(): void {
  assert.not.match(site.stderr(), /internal error|status=5\d\d/, 'the site logged no internal error and answered no 5xx');
}

test.before(async () => {
  site = await startSite();
  repo = (await call(site, 'POST', `${API}repositories/file/file/`, { name: 'r' })).body.pulp_href;
  remote = (await call(site, 'POST', `${API}remotes/file/file/`, { name: 'm', url: 'http://127.0.0.1:9/PULP_MANIFEST' })).body.pulp_href;
  const t = await call(site, 'POST', `${API}distributions/file/file/`, { name: 'd', base_path: 'd', repository: repo });
  assert.is(t.status, 202);
  for (let end = Date.now() + 10_000; ; ) {
    const list = await call(site, 'GET', `${API}distributions/file/file/?name=d`);
    if (list.body.count === 1) {
      dist = list.body.results[0].pulp_href;
      break;
    }
    if (Date.now() > end) throw new Error('distribution d never appeared');
    await new Promise((r) => setTimeout(r, 20));
  }
});

test.after(async () => {
  await site?.stop();
});

const WRITES = (): [string, string][] => [
  ['POST', `${API}repositories/file/file/`],
  ['POST', `${API}remotes/file/file/`],
  ['POST', `${API}distributions/file/file/`],
  ['POST', `${API}publications/file/file/`],
  ['POST', `${repo}sync/`],
  ['POST', `${repo}modify/`],
  ['PATCH', repo],
  ['PUT', repo],
  ['PATCH', remote],
  ['PUT', remote],
  ['PATCH', dist],
  ['PUT', dist],
  ['POST', `${API}orphans/cleanup/`],
];

test('malformed JSON gets 400 with a DRF parse error at every write endpoint', async () => {
  const bodies = ['{', '{"name": }', '{"name": "x",}', "{'name': 'x'}", 'nul', '{"a": 1}}', '\u0000', '{"name": "\\ud800"', '{"name": NaN}'];
  for (const [method, href] of WRITES()) {
    for (const body of bodies) {
      const r = await raw(method, href, body);
      assert.is(r.status, 400, `${method} ${href} ${JSON.stringify(body)} → ${r.status} ${r.text}`);
      assert.match(r.text, /^\{"detail":"JSON parse error - /, `${method} ${href}`);
    }
  }
  noInternalError();
});

test('a JSON value that is not an object gets 400 non_field_errors', async () => {
  for (const [method, href] of WRITES()) {
    for (const [body, type] of [['[]', 'list'], ['"x"', 'str'], ['1', 'int'], ['1.5', 'float'], ['true', 'bool'], ['null', 'NoneType']]) {
      const r = await raw(method, href, body!);
      assert.is(r.status, 400, `${method} ${href} ${body} → ${r.status} ${r.text}`);
      assert.is(r.text, `{"non_field_errors":["Invalid data. Expected a dictionary, but got ${type}."]}`);
    }
  }
  noInternalError();
});

test('invalid UTF-8 and deep nesting in a body give 400, not 500', async () => {
  for (const [method, href] of WRITES()) {
    const bad = Buffer.concat([Buffer.from('{"name": "'), Buffer.from([0xff, 0xfe, 0xc0]), Buffer.from('"}')]);
    const r = await raw(method, href, bad);
    assert.is(r.status, 400, `${method} ${href} invalid UTF-8 → ${r.status} ${r.text}`);
    assert.match(r.text, /^\{"detail":"JSON parse error - 'utf-8' codec can't decode/);
  }
  // 300 000 nested arrays: JSON.parse must not take the site down.
  const deep = '{"name": ' + '['.repeat(300_000) + ']'.repeat(300_000) + '}';
  const r = await raw('POST', `${API}repositories/file/file/`, deep);
  assert.is(r.status, 400, r.text.slice(0, 300));
  noInternalError();
});

// Only what Pulp itself refuses: DRF's CharField takes numbers (name: 1 becomes "1"), names have no
// length limit, and retain_repo_versions may be null.
test('wrong types and values for each field give 400 naming the field', async () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['POST', `${API}repositories/file/file/`, { name: ['a'] }, 'name'],
    ['POST', `${API}repositories/file/file/`, { name: 'r2', retain_repo_versions: -1 }, 'retain_repo_versions'],
    ['POST', `${API}repositories/file/file/`, { name: 'r2', retain_repo_versions: 'three' }, 'retain_repo_versions'],
    ['POST', `${API}repositories/file/file/`, { name: 'r2', pulp_labels: 'x' }, 'pulp_labels'],
    ['POST', `${API}repositories/file/file/`, { name: 'r2', pulp_labels: { 'bad key!': 'v' } }, 'pulp_labels'],
    ['POST', `${API}repositories/file/file/`, { name: 'r2', pulp_labels: { k: { nested: 1 } } }, 'pulp_labels'],
    ['POST', `${API}remotes/file/file/`, { name: 'm2' }, 'url'],
    ['POST', `${API}remotes/file/file/`, { name: 'm2', url: 42 }, 'url'],
    ['POST', `${API}remotes/file/file/`, { name: 'm2', url: 'not a url' }, 'url'],
    ['POST', `${API}remotes/file/file/`, { name: 'm2', url: 'http://x/PULP_MANIFEST', download_concurrency: 0 }, 'download_concurrency'],
    ['POST', `${API}remotes/file/file/`, { name: 'm2', url: 'http://x/PULP_MANIFEST', policy: 'sometimes' }, 'policy'],
    ['POST', `${API}distributions/file/file/`, { name: 'd2', base_path: 'e', repository: '/pulp/api/v3/repositories/file/file/nope/' }, 'repository'],
    ['POST', `${API}distributions/file/file/`, { name: 'd2', base_path: 'e', repository: 7 }, 'repository'],
    ['POST', `${repo}sync/`, { remote: 'not-an-href' }, 'remote'],
    ['POST', `${repo}sync/`, { remote, mirror: 'yes please' }, 'mirror'],
    ['POST', `${repo}modify/`, { add_content_units: 'x' }, 'add_content_units'],
    ['PATCH', remote, { url: '' }, 'url'],
    ['PATCH', dist, { base_path: null }, 'base_path'],
  ];
  const wrong: string[] = [];
  for (const [method, href, body, field] of cases) {
    const r = await call(site, method, href, body);
    if (r.status !== 400 || !(r.body && typeof r.body === 'object' && field in r.body)) wrong.push(`${method} ${href} ${JSON.stringify(body).slice(0, 80)} → ${r.status} ${r.text.slice(0, 200)}`);
  }
  assert.equal(wrong, []);
  noInternalError();
});

test('hostile query strings on lists give 200 or 400, never 500', async () => {
  const queries = ['limit=-1', 'limit=abc', 'limit=1e99', 'offset=-5', 'offset=99999999999999999999', 'name__in=', 'pulp_label_select=', 'pulp_label_select=!!!',
    'pulp_label_select=a%3D%3Db', 'ordering=-nope', 'name=%00', 'name=%ff', 'fields=x', 'q=' + 'a'.repeat(10_000), 'repository_version=x', 'sha256=zz'];
  for (const kind of ['repositories/file/file/', 'remotes/file/file/', 'distributions/file/file/', 'publications/file/file/', 'content/file/files/', 'tasks/', 'artifacts/']) {
    for (const q of queries) {
      const r = await call(site, 'GET', `${API}${kind}?${q}`);
      assert.ok(r.status === 200 || r.status === 400, `GET ${kind}?${q.slice(0, 40)} → ${r.status} ${r.text.slice(0, 200)}`);
    }
  }
  noInternalError();
});

test(`a body over ${MAX_BODY} bytes is refused with 413, declared or chunked, and the site stays up`, async () => {
  const before = (await call(site, 'GET', `${API}repositories/file/file/`)).body.count;
  const big = Buffer.alloc(MAX_BODY + 1, 0x20);
  const declared = await raw('POST', `${API}repositories/file/file/`, big);
  assert.is(declared.status, 413);
  assert.is(declared.text, `{"detail":"Request body larger than ${MAX_BODY} bytes."}`);
  // Chunked, no Content-Length: the limit must hold while reading.
  const status = await new Promise<number>((resolve, reject) => {
    const port = Number(new URL(site.url).port);
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(`POST ${API}repositories/file/file/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let i = 0; i < 20; i++) sock.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`);
      sock.write('0\r\n\r\n');
    });
    let head = '';
    sock.on('data', (d) => {
      head += d.toString();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) {
        resolve(Number(m[1]));
        sock.destroy();
      }
    });
    sock.on('error', (e) => (head ? undefined : reject(e)));
    sock.setTimeout(10_000, () => reject(new Error('no answer to a chunked oversized body')));
  });
  assert.is(status, 413);
  // Still serving, nothing was created.
  const list = await call(site, 'GET', `${API}repositories/file/file/`);
  assert.is(list.status, 200);
  assert.is(list.body.count, before);
  noInternalError();
});

test('fuzz (seeded): generated JSON bodies at every write endpoint never get a 5xx', async () => {
  const field = fc.oneof(fc.constantFrom('name', 'url', 'base_path', 'repository', 'remote', 'mirror', 'pulp_labels', 'retain_repo_versions',
    'download_concurrency', 'policy', 'add_content_units', 'remove_content_units', 'publication', 'content_guard', 'state', 'manifest'), fc.string({ maxLength: 8 }));
  const body = fc.oneof(
    fc.dictionary(field, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
    fc.jsonValue({ maxDepth: 3 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
  );
  const writes = WRITES();
  await fc.assert(
    fc.asyncProperty(fc.nat(writes.length - 1), body, async (i, b) => {
      const [method, href] = writes[i]!;
      const text = typeof b === 'string' ? b : JSON.stringify(b);
      const r = await raw(method, href, text);
      return r.status < 500;
    }),
    { numRuns: 400, seed: 20261125 },
  );
  noInternalError();
  // The site still works: a sync on the original repository is accepted (and fails on its dead remote).
  const s = await call(site, 'POST', `${repo}sync/`, { remote });
  assert.is(s.status, 202);
});

test('fuzz (seeded): the content app and the API router never answer 5xx to odd paths, methods and Range headers', async () => {
  const port = Number(new URL(site.url).port);
  // node's http.request sends the path as given (fetch would normalize `..` and encode bytes).
  const send = (method: string, p: string, range: string | null): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: range ? { Range: range } : {} }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  const seg = fc.oneof(fc.constantFrom('..', '.', '', '%2e%2e', '%2f', '%00', '%ff', '%E0%A4%A', 'd', 'PULP_MANIFEST', 'index.html', '~', '%', 'a b'), fc.stringMatching(/^[a-z0-9%._-]{0,6}$/));
  const pathArb = fc.tuple(fc.constantFrom('/pulp/content/', '/pulp/api/v3/', '/pulp/api/v3/repositories/file/file/', '/pulpdist/', '/'), fc.array(seg, { maxLength: 5 }))
    .map(([root, segs]) => (root + segs.join('/')).replace(/ /g, '%20'));
  const range = fc.oneof(fc.constant(null), fc.constantFrom('bytes=0-0', 'bytes=-0', 'bytes=5-1', 'bytes=99999999999999999999-', 'bytes=0-1,3-4', 'bytes=', 'items=0-1', 'bytes=-'));
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'PROPFIND'), pathArb, range, async (method, p, r) => (await send(method, p, r)) < 500),
    { numRuns: 300, seed: 20261126 },
  );
  noInternalError();
});

test.run();
