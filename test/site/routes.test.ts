/**
 * The API route table (site/routes.ts) answers for every route: the Allow header it derives, a 405
 * before any lookup for a method the route does not take (as DRF's dispatch does), OPTIONS on every
 * path, and 404 with the default Allow for paths no route names.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { call, startSite, type RunningSite } from '../../testkit/site.js';

let site: RunningSite;
const API = '/pulp/api/v3/';
const MISSING = '00000000-0000-0000-0000-000000000000';

test.before(async () => {
  site = await startSite({ username: 'admin', password: 'routes-pw' });
});

test.after(async () => {
  await site?.stop();
});

const ALLOW: Array<[string, string]> = [
  ['', 'GET, HEAD, OPTIONS'],
  ['status/', 'GET, HEAD, OPTIONS'],
  ['repositories/file/file/', 'GET, POST, HEAD, OPTIONS'],
  [`repositories/file/file/${MISSING}/`, 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS'],
  [`repositories/file/file/${MISSING}/versions/`, 'GET, HEAD, OPTIONS'],
  [`repositories/file/file/${MISSING}/versions/1/`, 'GET, DELETE, HEAD, OPTIONS'],
  [`repositories/file/file/${MISSING}/sync/`, 'POST, OPTIONS'],
  [`repositories/file/file/${MISSING}/modify/`, 'POST, OPTIONS'],
  ['remotes/file/file/', 'GET, POST, HEAD, OPTIONS'],
  [`remotes/file/file/${MISSING}/`, 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS'],
  ['publications/file/file/', 'GET, POST, HEAD, OPTIONS'],
  [`publications/file/file/${MISSING}/`, 'GET, DELETE, HEAD, OPTIONS'],
  ['distributions/file/file/', 'GET, POST, HEAD, OPTIONS'],
  [`distributions/file/file/${MISSING}/`, 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS'],
  ['content/file/files/', 'GET, POST, HEAD, OPTIONS'],
  [`content/file/files/${MISSING}/`, 'GET, HEAD, OPTIONS'],
  ['tasks/', 'GET, HEAD, OPTIONS'],
  [`tasks/${MISSING}/`, 'GET, PATCH, DELETE, HEAD, OPTIONS'],
  ['artifacts/', 'GET, POST, HEAD, OPTIONS'],
  [`artifacts/${MISSING}/`, 'GET, DELETE, HEAD, OPTIONS'],
  ['orphans/cleanup/', 'POST, OPTIONS'],
];

test('every route carries its Allow, on OPTIONS (200) and on a 401 alike', async () => {
  for (const [path, allow] of ALLOW) {
    const o = await call(site, 'OPTIONS', API + path);
    assert.is(o.headers.get('allow'), allow, path);
    if (path === 'status/') continue; // public: OPTIONS is not one of its methods
    assert.is(o.status, 200, path);
    assert.is(o.body.name, path.replace(/\/$/, ''), path);
    const anon = await fetch(site.url + API + path, { method: 'OPTIONS' });
    assert.is(anon.status, 401, path);
    assert.is(anon.headers.get('allow'), allow, path);
  }
});

test('a method the route does not take is 405 before the object is looked up', async () => {
  for (const [method, path] of [
    ['POST', `repositories/file/file/${MISSING}/`],
    ['GET', `repositories/file/file/${MISSING}/sync/`],
    ['PUT', `tasks/${MISSING}/`],
    ['PATCH', `publications/file/file/${MISSING}/`],
    ['DELETE', 'repositories/file/file/'],
  ] as const) {
    const r = await call(site, method, API + path);
    assert.is(r.status, 405, `${method} ${path}`);
    assert.equal(r.body, { detail: `Method "${method}" not allowed.` });
    assert.is(r.headers.get('allow'), ALLOW.find(([p]) => p === path)?.[1] ?? null, path);
  }
  // A method the route takes reaches the handler, which finds nothing.
  const get = await call(site, 'GET', `${API}repositories/file/file/${MISSING}/`);
  assert.equal([get.status, get.body], [404, { detail: 'Not found.' }]);
});

test('uploads Pulp lists in Allow are refused with 405 (the site has content only from syncs)', async () => {
  for (const path of ['content/file/files/', 'artifacts/']) {
    const r = await call(site, 'POST', API + path, {});
    assert.is(r.status, 405, path);
    assert.is(r.headers.get('allow'), 'GET, POST, HEAD, OPTIONS', path);
  }
});

test('paths no route names are 404 with the default Allow; no trailing slash is no route', async () => {
  for (const path of [`repositories/file/file/${MISSING}/foo/`, 'tasks/a/b/', 'orphans/', 'repositories/rpm/rpm/', 'nope/', 'repositories/file/file']) {
    const r = await call(site, 'GET', API + path);
    assert.is(r.status, 404, path);
    assert.is(r.headers.get('allow'), 'GET, HEAD, OPTIONS', path);
  }
});

test.run();
