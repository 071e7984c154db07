/** RouteTable: one table gives the handler, the params and the Allow header of every route. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RouteTable } from '../../core/routes.js';

const split = (p: string) => p.split('/');
const table = new RouteTable<string>(
  [
    { path: 'things/', handlers: { GET: 'list', POST: 'create' } },
    { path: 'things/:id/', handlers: { GET: 'read', PUT: 'put', PATCH: 'patch', DELETE: 'delete' } },
    { path: 'things/:id/run/', handlers: { POST: 'run' } },
    { path: 'things/special/', handlers: { GET: 'never: the :id route is listed first' } },
    { path: 'files/*rest', handlers: { GET: 'file' } },
    { path: 'gone/', handlers: { ANY: 'gone' } },
  ],
  { always: ['OPTIONS'] },
);

test('a method the route takes gets its handler; HEAD falls back to GET', () => {
  assert.is(table.match('POST', split('things/'))?.handler, 'create');
  assert.is(table.match('PATCH', split('things/7/'))?.handler, 'patch');
  assert.is(table.match('HEAD', split('things/7/'))?.handler, 'read');
  assert.is(table.match('HEAD', split('things/7/run/'))?.handler, undefined);
});

test('another method gets no handler but the Allow header, in DRF order with HEAD and OPTIONS', () => {
  const m = table.match('DELETE', split('things/'));
  assert.is(m?.handler, undefined);
  assert.is(m?.allow, 'GET, POST, HEAD, OPTIONS');
  assert.is(table.match('GET', split('things/7/'))?.allow, 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS');
  assert.is(table.match('GET', split('things/7/run/'))?.allow, 'POST, OPTIONS');
  assert.is(new RouteTable([{ path: '/x', handlers: { GET: 1 } }]).match('PUT', split('/x'))?.allow, 'GET, HEAD');
});

test('params are raw segments (an empty one too); the first matching route wins', () => {
  assert.equal(table.match('GET', split('things/a%2Fb/'))?.params, { id: 'a%2Fb' });
  assert.equal(table.match('GET', split('things//'))?.params, { id: '' });
  assert.is(table.match('GET', split('things/special/'))?.handler, 'read');
});

test('a rest pattern takes one segment or more, joined again; ANY answers every method', () => {
  assert.equal(table.match('GET', split('files/a/b/c'))?.params, { rest: 'a/b/c' });
  assert.equal(table.match('GET', split('files/'))?.params, { rest: '' });
  assert.is(table.match('GET', split('files')), null);
  assert.is(table.match('TRACE', split('gone/'))?.handler, 'gone');
});

test('paths no route names match nothing: trailing slashes and lengths count', () => {
  for (const p of ['things', 'things/7', 'things/7/run/x/', 'other/', '', 'things/7/run']) assert.is(table.match('GET', split(p)), null, p);
});

test.run();
