/**
 * The client's fault paths against small real HTTP servers: retries of safe calls only, typed
 * errors, credentials kept out of messages and away from other origins, task timeouts and aborts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inspect } from 'node:util';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { createPulpClient, type PulpClientOptions } from '../../pulp/client.js';
import { PulpAuthError, PulpHttpError, PulpTaskError, PulpTaskTimeoutError, PulpUnreachableError } from '../../pulp/errors.js';
import { tempDir } from '../../testkit/cli.js';
import { page, rejection, sendJson, siteAt, startFaultServer, taskDoc, type FaultServer, type Handler } from './fault-server.js';

const REPOS = '/pulp/api/v3/repositories/file/file/';
const REPO = REPOS + '0b7e3c5e-7b5e-4a4e-9d0b-3c1f4b0c2a11/';
const TASK = '/pulp/api/v3/tasks/820bb571-502e-4114-8c54-94d7e65484f8/';
const PASSWORD = 'hunter2-very-secret';
const FAST: PulpClientOptions = { retryBaseMs: 5, retryMaxMs: 20, taskPollMinMs: 5, taskPollMaxMs: 20, requestTimeoutMs: 5_000 };

const repo = (name: string) => ({ pulp_href: REPO, pulp_created: '2026-11-24T17:25:23.539061Z', name, pulp_labels: {} });

async function withServer(handler: Handler, fn: (s: FaultServer) => Promise<void>): Promise<void> {
  const server = await startFaultServer(handler);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

function collectingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(JSON.parse(l)) });
  return { log, lines };
}

test('a GET is retried after 503 and then succeeds, with one warning per retry', async () => {
  let n = 0;
  await withServer(
    (req, res) => (++n <= 2 ? sendJson(res, 503, { detail: 'busy' }) : sendJson(res, 200, page([repo('a')]))),
    async (s) => {
      const { log, lines } = collectingLogger();
      const client = createPulpClient(siteAt(s.url), { ...FAST, log });
      const repos = await client.listRepositories();
      assert.equal(repos.map((r) => r.name), ['a']);
      assert.is(s.seen.length, 3);
      assert.ok(s.seen.every((r) => r.method === 'GET'));
      assert.is(lines.filter((l) => l.msg === 'retrying pulp request').length, 2);
    },
  );
});

test('429 is retried after the Retry-After the server asks for', async () => {
  let n = 0;
  await withServer(
    (req, res) => (++n === 1 ? sendJson(res, 429, { detail: 'slow down' }, { 'retry-after': '0' }) : sendJson(res, 200, page([]))),
    async (s) => {
      const client = createPulpClient(siteAt(s.url), FAST);
      assert.equal(await client.listRemotes(), []);
      assert.is(s.seen.length, 2);
    },
  );
});

test('a GET gives up after `retries` with a retryable PulpHttpError carrying Pulp\'s body', async () => {
  await withServer(
    (req, res) => sendJson(res, 502, { detail: 'Bad gateway' }),
    async (s) => {
      const client = createPulpClient(siteAt(s.url), { ...FAST, retries: 2 });
      const err = await rejection(client.listDistributions({ name: 'x' }));
      assert.instance(err, PulpHttpError);
      const e = err as PulpHttpError;
      assert.is(e.code, 'PulpHttpError');
      assert.is(e.status, 502);
      assert.is(e.retryable, true);
      assert.is(e.method, 'GET');
      assert.equal(e.body, { detail: 'Bad gateway' });
      assert.match(e.message, /^test: GET http:\/\/127\.0\.0\.1:\d+\/pulp\/api\/v3\/distributions\/file\/file\/\?… answered 502/);
      assert.is(s.seen.length, 3);
    },
  );
});

test('a POST answered 503 is not retried', async () => {
  await withServer(
    (req, res) => sendJson(res, 503, { detail: 'busy' }),
    async (s) => {
      const client = createPulpClient(siteAt(s.url), FAST);
      const err = await rejection(client.createRepository({ name: 'pulpdist.a' }));
      assert.instance(err, PulpHttpError);
      assert.is((err as PulpHttpError).status, 503);
      assert.is(s.seen.length, 1);
      assert.is(s.seen[0]!.method, 'POST');
      assert.equal(JSON.parse(s.seen[0]!.body), { name: 'pulpdist.a' });
    },
  );
});

test('a POST whose connection drops becomes PulpUnreachableError after exactly one attempt', async () => {
  await withServer(
    (req, res) => res.socket?.destroy(),
    async (s) => {
      const client = createPulpClient(siteAt(s.url), FAST);
      const err = await rejection(client.createRemote({ name: 'pulpdist.a', url: 'http://x/PULP_MANIFEST' }));
      assert.instance(err, PulpUnreachableError);
      const e = err as PulpUnreachableError;
      assert.is(e.retryable, true);
      assert.is(e.method, 'POST');
      assert.is(e.causeCode, 'ECONNRESET');
      assert.is(s.seen.length, 1);
    },
  );
});

test('a closed port is PulpUnreachableError ECONNREFUSED, naming the site and URL', async () => {
  const s = await startFaultServer((req, res) => sendJson(res, 200, {}));
  const url = s.url;
  await s.close();
  const client = createPulpClient(siteAt(url, {}, 'bne'), { ...FAST, retries: 1 });
  const err = await rejection(client.listRepositories());
  assert.instance(err, PulpUnreachableError);
  const e = err as PulpUnreachableError;
  assert.is(e.causeCode, 'ECONNREFUSED');
  assert.is(e.site, 'bne');
  assert.ok(e.url.startsWith(url + '/pulp/api/v3/repositories/file/file/'), e.url);
  assert.match(e.message, /^bne: GET .* failed: ECONNREFUSED; check that Pulp is running/);
});

test('an unreachable error holds no credentials, even for util.inspect of its cause', async () => {
  const s = await startFaultServer((req, res) => sendJson(res, 200, {}));
  await s.close();
  const site = siteAt(s.url, { auth: { username: 'pulpdist', passwordEnv: 'P' } });
  const client = createPulpClient(site, { ...FAST, retries: 0, env: { P: PASSWORD } });
  const err = await rejection(client.listRepositories());
  assert.instance(err, PulpUnreachableError);
  const text = inspect(err, { depth: 20, showHidden: true });
  assert.match(text, /ECONNREFUSED/);
  assert.not.ok(text.includes(PASSWORD));
  assert.not.ok(text.includes(Buffer.from(`pulpdist:${PASSWORD}`).toString('base64')), 'encoded credentials in the cause');
});

test('a server that never answers times out as ETIMEDOUT', async () => {
  await withServer(
    () => {},
    async (s) => {
      const client = createPulpClient(siteAt(s.url), { ...FAST, retries: 0, requestTimeoutMs: 150 });
      const err = await rejection(client.getTask(TASK));
      assert.instance(err, PulpUnreachableError);
      assert.is((err as PulpUnreachableError).causeCode, 'ETIMEDOUT');
    },
  );
});

test('401 is PulpAuthError naming the variable and user, never the password', async () => {
  await withServer(
    (req, res) => sendJson(res, 401, { detail: 'Invalid username/password.' }, { 'www-authenticate': 'Basic realm="api"' }),
    async (s) => {
      const site = siteAt(s.url, { auth: { username: 'pulpdist', passwordEnv: 'PULPDIST_TEST_PASSWORD' } });
      const { log, lines } = collectingLogger();
      const client = createPulpClient(site, { ...FAST, log, env: { PULPDIST_TEST_PASSWORD: PASSWORD } });
      const err = await rejection(client.listRepositories());
      assert.instance(err, PulpAuthError);
      assert.instance(err, PulpHttpError);
      const e = err as PulpAuthError;
      assert.is(e.code, 'PulpAuthError');
      assert.is(e.status, 401);
      assert.is(e.retryable, false);
      assert.match(e.message, /Invalid username\/password\./);
      assert.match(e.message, /environment variable PULPDIST_TEST_PASSWORD/);
      assert.match(e.message, /user "pulpdist"/);
      const basic = Buffer.from(`pulpdist:${PASSWORD}`).toString('base64');
      assert.is(s.seen[0]!.headers.authorization, `Basic ${basic}`);
      assert.not.ok(s.seen[0]!.url.includes(PASSWORD));
      const everything = [e.message, JSON.stringify(e), String(e.stack), ...lines.map((l) => JSON.stringify(l))].join('\n');
      assert.not.ok(everything.includes(PASSWORD), 'password leaked');
      assert.not.ok(everything.includes(basic), 'encoded credentials leaked');
      assert.is(s.seen.length, 1, '401 is not retried');
    },
  );
});

test('a missing password variable is a ConfigError naming it, and nothing is sent', async () => {
  await withServer(
    (req, res) => sendJson(res, 200, page([])),
    async (s) => {
      const site = siteAt(s.url, { auth: { username: 'pulpdist', passwordEnv: 'PULPDIST_NOT_SET' } });
      const client = createPulpClient(site, { ...FAST, env: {} });
      const err = await rejection(client.listRepositories());
      assert.instance(err, ConfigError);
      assert.match((err as Error).message, /environment variable PULPDIST_NOT_SET .*is not set/);
      assert.is(s.seen.length, 0);
      // status/ needs no credentials, so it still works, and sends none.
      await client.status();
      assert.is(s.seen.length, 1);
      assert.is(s.seen[0]!.headers.authorization, undefined);
    },
  );
});

test('a password file is read once, without its trailing newline; a missing one names the file', async () => {
  const t = await tempDir();
  try {
    const file = path.join(t.dir, 'password');
    await writeFile(file, PASSWORD + '\n');
    await withServer(
      (req, res) => sendJson(res, 200, page([])),
      async (s) => {
        const client = createPulpClient(siteAt(s.url, { auth: { username: 'u', passwordFile: file } }), FAST);
        await client.listRepositories();
        await writeFile(file, 'changed-later');
        await client.listRemotes();
        const expected = 'Basic ' + Buffer.from(`u:${PASSWORD}`).toString('base64');
        assert.equal(s.seen.map((r) => r.headers.authorization), [expected, expected]);

        const missing = path.join(t.dir, 'nope');
        const other = createPulpClient(siteAt(s.url, { auth: { username: 'u', passwordFile: missing } }), FAST);
        const err = await rejection(other.listRepositories());
        assert.instance(err, ConfigError);
        assert.match((err as Error).message, new RegExp(`cannot read password file ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} .*ENOENT`));
      },
    );
  } finally {
    await t.cleanup();
  }
});

test('the published manifest comes from the content origin without credentials; 304 and 404 map', async () => {
  const MANIFEST = 'a.txt,4a9a839133f480de52be2cb30dad552b28cdb44c976d1ff9cf5539d82a007399,30\n';
  await withServer(
    (req, res) => {
      if (req.url === '/pulp/content/fedora/40/PULP_MANIFEST') {
        if (req.headers['if-none-match'] === '"abc-1"') {
          res.writeHead(304);
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream', etag: '"abc-1"' });
        res.end(MANIFEST);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404: Not Found');
    },
    async (content) => {
      await withServer(
        (req, res) => sendJson(res, 200, page([])),
        async (api) => {
          const site = siteAt(api.url, { contentOrigin: content.url, auth: { username: 'u', passwordEnv: 'P' } });
          const client = createPulpClient(site, { ...FAST, env: { P: PASSWORD } });
          assert.equal(await client.getPublishedManifest('fedora/40'), { text: MANIFEST, etag: '"abc-1"' });
          assert.is(await client.getPublishedManifest('fedora/40', { etag: '"abc-1"' }), 'not-modified');
          assert.is(await client.getPublishedManifest('nothing/here'), null);
          assert.is(content.seen.length, 3);
          assert.ok(content.seen.every((r) => r.headers.authorization === undefined));
          assert.is(api.seen.length, 0);
        },
      );
    },
  );
});

test('pages are walked by offset on our own URL, never the absolute `next` host', async () => {
  const all = Array.from({ length: 5 }, (_, i) => ({ ...repo(`r${i}`), pulp_href: `${REPOS}${i}/` }));
  await withServer(
    (req, res) => {
      const u = new URL(req.url, 'http://x');
      const limit = Number(u.searchParams.get('limit'));
      const offset = Number(u.searchParams.get('offset') ?? 0);
      const results = all.slice(offset, offset + limit);
      const next = offset + limit < all.length ? `http://internal.invalid:1${REPOS}?limit=${limit}&offset=${offset + limit}` : null;
      sendJson(res, 200, { count: all.length, next, previous: null, results });
    },
    async (s) => {
      const client = createPulpClient(siteAt(s.url), { ...FAST, pageSize: 2 });
      const repos = await client.listRepositories({ name__in: ['r0', 'r1', 'r2', 'r3', 'r4'], pulp_label_select: 'managed_by=pulpdist' });
      assert.equal(repos.map((r) => r.name), ['r0', 'r1', 'r2', 'r3', 'r4']);
      const queries = s.seen.map((r) => new URL(r.url, 'http://x').searchParams);
      assert.equal(queries.map((q) => q.get('offset')), ['0', '2', '4']);
      assert.ok(queries.every((q) => q.get('name__in') === 'r0,r1,r2,r3,r4' && q.get('pulp_label_select') === 'managed_by=pulpdist'));
    },
  );
});

/** A server whose one task stays `running` until cancelled; cancel makes it `canceling`. */
function endlessTask(): Handler {
  return (req, res) => {
    if (req.method === 'PATCH') return sendJson(res, 200, taskDoc(TASK, 'canceling', { created_resources: [null] }));
    if (req.method !== 'GET') return sendJson(res, 202, { task: TASK });
    return sendJson(res, 200, taskDoc(TASK, 'running', { created_resources: [null] }));
  };
}

test('a task past its deadline is cancelled and gives a retryable PulpTaskTimeoutError', async () => {
  await withServer(endlessTask(), async (s) => {
    const client = createPulpClient(siteAt(s.url), FAST);
    const seenStates: string[] = [];
    const err = await rejection(
      client.syncRepository(REPO, { mirror: true }, { timeoutMs: 100, onProgress: (t) => seenStates.push(t.state) }),
    );
    assert.instance(err, PulpTaskTimeoutError);
    const e = err as PulpTaskTimeoutError;
    assert.is(e.retryable, true);
    assert.is(e.task, TASK);
    assert.is(e.state, 'running');
    assert.is(s.seen[0]!.url, REPO + 'sync/');
    assert.equal(JSON.parse(s.seen[0]!.body), { mirror: true });
    const patch = s.seen.filter((r) => r.method === 'PATCH');
    assert.is(patch.length, 1);
    assert.is(patch[0]!.url, TASK);
    assert.equal(JSON.parse(patch[0]!.body), { state: 'canceled' });
    assert.ok(seenStates.length >= 2 && seenStates.every((st) => st === 'running'), seenStates.join());
  });
});

test('a task that finishes just as its deadline passes is returned, not cancelled (409)', async () => {
  const done = taskDoc(TASK, 'completed', { created_resources: [] });
  await withServer(
    (req, res) => {
      if (req.method === 'POST') return sendJson(res, 202, { task: TASK });
      if (req.method === 'PATCH') return sendJson(res, 409, done);
      return sendJson(res, 200, taskDoc(TASK, 'running'));
    },
    async (s) => {
      const client = createPulpClient(siteAt(s.url), FAST);
      const task = await client.syncRepository(REPO, {}, { timeoutMs: 30 });
      assert.is(task.state, 'completed');
      assert.is(s.seen.filter((r) => r.method === 'PATCH').length, 1);
    },
  );
});

test('aborting stops polling at once, cancels the running task and rejects with the reason', async () => {
  await withServer(endlessTask(), async (s) => {
    const client = createPulpClient(siteAt(s.url), FAST);
    const controller = new AbortController();
    const reason = new Error('shutting down');
    let polls = 0;
    const err = await rejection(
      client.deleteRepository(REPO, {
        signal: controller.signal,
        onProgress: () => {
          if (++polls === 2) controller.abort(reason);
        },
      }),
    );
    assert.is(err, reason);
    assert.equal(
      s.seen.map((r) => r.method),
      ['DELETE', 'GET', 'GET', 'PATCH'],
    );
  });
});

test('a cancel that fails at the deadline still gives PulpTaskTimeoutError', async () => {
  await withServer(
    (req, res) => {
      if (req.method === 'PATCH') return sendJson(res, 500, { detail: 'boom' });
      if (req.method !== 'GET') return sendJson(res, 202, { task: TASK });
      sendJson(res, 200, taskDoc(TASK, 'waiting'));
    },
    async (s) => {
      const { log, lines } = collectingLogger();
      const client = createPulpClient(siteAt(s.url), { ...FAST, log });
      const err = await rejection(client.deleteDistribution(REPO, { timeoutMs: 30 }));
      assert.instance(err, PulpTaskTimeoutError);
      assert.is((err as PulpTaskTimeoutError).state, 'waiting');
      assert.is(s.seen.filter((r) => r.method === 'PATCH').length, 1);
      assert.is(lines.filter((l) => l.msg === 'could not cancel overdue pulp task').length, 1);
    },
  );
});

test('changes share a connection of their own, apart from the reads\' pool (reused only within a second of idleness)', async () => {
  await withServer(
    (req, res) => (req.method === 'POST' ? sendJson(res, 201, repo('a'), { location: REPO }) : sendJson(res, 200, page([]))),
    async (s) => {
      const client = createPulpClient(siteAt(s.url), FAST);
      await client.listRepositories();
      await client.listRepositories();
      const created = await client.createRepository({ name: 'a' });
      await client.createRepository({ name: 'a' });
      assert.is(created.pulp_href, REPO);
      const [g1, g2, p1, p2] = s.seen.map((r) => r.clientPort);
      assert.is(g1, g2, 'GETs reuse the connection');
      assert.is(p1, p2, 'back-to-back POSTs reuse theirs');
      assert.is.not(p1, g1, 'a POST never goes on a pooled read connection');
    },
  );
});

test('a failed task is PulpTaskError with its description; canceled too', async () => {
  const description = "404, message='File not found', url=URL('http://127.0.0.1:8000/missing/PULP_MANIFEST')";
  let state = 'failed';
  await withServer(
    (req, res) => {
      if (req.method !== 'GET') return sendJson(res, 202, { task: TASK });
      sendJson(res, 200, taskDoc(TASK, state, { error: state === 'failed' ? { traceback: '  File …', description } : null }));
    },
    async (s) => {
      const client = createPulpClient(siteAt(s.url, {}, 'rdu'), FAST);
      const err = await rejection(client.syncRepository(REPO, {}));
      assert.instance(err, PulpTaskError);
      const e = err as PulpTaskError;
      assert.is(e.state, 'failed');
      assert.is(e.description, description);
      assert.is(e.task, TASK);
      assert.is(e.retryable, false);
      assert.is(e.message, `rdu: task ${TASK} (synchronize) failed: ${description}`);
      assert.not.ok('traceback' in e.toJSON());
      state = 'canceled';
      const err2 = await rejection(client.updateRemote(REPO, { url: 'http://x/PULP_MANIFEST' }));
      assert.instance(err2, PulpTaskError);
      assert.is((err2 as PulpTaskError).state, 'canceled');
      assert.is((err2 as PulpTaskError).description, null);
    },
  );
});

test('a custom API root (domains, proxies) is used for lists, and hrefs are used exactly as given', async () => {
  const root = '/pulp/default/api/v3/';
  const dist = `${root}distributions/file/file/5d0d9a0e-8f1b-4b7e-a1c3-000000000001/`;
  const taskHref = `${root}tasks/5d0d9a0e-8f1b-4b7e-a1c3-000000000002/`;
  await withServer(
    (req, res) => {
      if (req.method === 'POST') return sendJson(res, 202, { task: taskHref });
      if (req.url === taskHref) {
        // A version href from another kind first: the distribution is found by prefix, not position.
        return sendJson(res, 200, taskDoc(taskHref, 'completed', { created_resources: [null, `${root}repositories/file/file/x/versions/1/`, dist] }));
      }
      if (req.url === dist) return sendJson(res, 200, { pulp_href: dist, pulp_created: 'now', name: 'd', base_path: 'd' });
      sendJson(res, 200, page([]));
    },
    async (s) => {
      const client = createPulpClient(siteAt(s.url, { apiRoot: 'pulp/default/api/v3' }), FAST);
      await client.listRepositories();
      const created = await client.createDistribution({ name: 'd', base_path: 'd' });
      assert.is(created.pulp_href, dist);
      assert.equal(
        s.seen.map((r) => `${r.method} ${r.url.split('?')[0]}`),
        [`GET ${root}repositories/file/file/`, `POST ${root}distributions/file/file/`, `GET ${taskHref}`, `GET ${dist}`],
      );
    },
  );
});

test('bad options are refused with the value and its type', () => {
  assert.throws(() => createPulpClient(siteAt('http://127.0.0.1:1'), { retries: -1 }), /PulpClientOptions\.retries must be an integer ≥ 0, got -1 \(number\)/);
  assert.throws(() => createPulpClient(siteAt('http://127.0.0.1:1'), { pageSize: 0 }), /pageSize must be an integer ≥ 1, got 0/);
});

test.run();
