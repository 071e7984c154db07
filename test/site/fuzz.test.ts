/**
 * Bad input never gives a 500: random JSON bodies and query strings against every endpoint of a
 * real site, seeded so a failure can be replayed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { call, runTask, startSite, type RunningSite } from '../../testkit/site.js';

let site: RunningSite;
const hrefs: string[] = [];

test.before(async () => {
  site = await startSite();
  const repo = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name: 'fz' })).body.pulp_href;
  const remote = (await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'fz', url: 'http://127.0.0.1:9/PULP_MANIFEST' })).body.pulp_href;
  const dist = (await runTask(site, 'POST', '/pulp/api/v3/distributions/file/file/', { name: 'fz', base_path: 'fz', repository: repo })).created_resources[0];
  hrefs.push(repo, remote, dist, `${repo}versions/0/`, `${repo}sync/`, `${repo}modify/`);
});

test.after(async () => {
  await site?.stop();
});

const LISTS = ['repositories/file/file/', 'remotes/file/file/', 'publications/file/file/', 'distributions/file/file/', 'tasks/', 'content/file/files/', 'artifacts/'];
const FIELDS = ['name', 'url', 'base_path', 'repository', 'publication', 'remote', 'mirror', 'pulp_labels', 'retain_repo_versions', 'download_concurrency', 'policy', 'headers', 'manifest', 'state', 'pulpdist_bandwidth_limit', 'add_content_units', 'remove_content_units', 'repository_version', 'autopublish', 'content_guard', 'base_version'];

test('random bodies and queries get 2xx/4xx answers, never 5xx', async () => {
  const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('/pulp/api/v3/repositories/file/file/x/', '../..', '', null, -1, 1e308, '*', ['*']));
  const body = fc.oneof(fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 4 }), fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 20 }));
  const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS');
  const target = fc.oneof(
    fc.constantFrom(...LISTS).map((l) => `/pulp/api/v3/${l}`),
    fc.constantFrom(...hrefs.map((h) => h)),
    fc.tuple(fc.constantFrom(...LISTS), fc.constantFrom('limit', 'offset', 'ordering', 'name__in', 'pulp_label_select', 'repository', 'sha256', 'state', 'number__range', 'fields'), fc.string({ maxLength: 12 })).map(
      ([l, k, v]) => `/pulp/api/v3/${l}?${k}=${encodeURIComponent(v)}`,
    ),
  );
  await fc.assert(
    fc.asyncProperty(method, target, body, async (m, t, b) => {
      // Never delete the fixtures themselves: a 202 delete is fine input, but it would shrink the space.
      if (m === 'DELETE' && hrefs.includes(t)) return;
      const r = await call(site, m, t, m === 'GET' || m === 'HEAD' || m === 'DELETE' ? undefined : typeof b === 'string' ? b : b);
      assert.ok(r.status < 500, `${m} ${t} ${JSON.stringify(b)} → ${r.status} ${r.text.slice(0, 200)}`);
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: Number(process.env.FUZZ_SEED ?? 4242) },
  );
  assert.not.match(site.stderr(), /internal error/);
});

test.run();
