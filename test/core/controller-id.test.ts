/** The controller id: validation and the default derived from where the specs come from. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkControllerId, defaultControllerId, normalizeRepository, normalizeSpecPath } from '../../core/controller-id.js';
import { UsageError } from '../../core/errors.js';

test('one repository written four ways normalizes to one string', () => {
  const forms = [
    'https://ci-token:secret@GitLab.example.com/infra/mirrors.git',
    'https://gitlab.example.com/infra/mirrors/',
    'ssh://git@gitlab.example.com/infra/mirrors.git',
    'git@gitlab.example.com:infra/mirrors.git',
  ];
  assert.equal(forms.map(normalizeRepository), forms.map(() => 'gitlab.example.com/infra/mirrors'));
  assert.is(normalizeRepository('https://gitlab.example.com:8443/infra/mirrors'), 'gitlab.example.com:8443/infra/mirrors');
  assert.is(normalizeRepository('/srv/git/mirrors.git/'), '/srv/git/mirrors');
  assert.is(normalizeRepository('file:///srv/git/mirrors.git'), '/srv/git/mirrors');
});

test('spec paths: ./mirrors/, mirrors and /mirrors are one; the root is empty', () => {
  assert.equal(['./mirrors/', 'mirrors', '/mirrors'].map(normalizeSpecPath), ['mirrors', 'mirrors', 'mirrors']);
  assert.equal(['', '.', './', '/'].map(normalizeSpecPath), ['', '', '', '']);
});

test('the default id is stable, readable, a valid label value, and differs by repository, branch and path', () => {
  const base = { repo: 'git@gitlab.example.com:infra/mirrors.git', branch: 'main', path: 'mirrors' };
  const id = defaultControllerId(base);
  assert.match(id, /^mirrors-[0-9a-f]{12}$/);
  assert.is(defaultControllerId({ ...base, repo: 'https://gitlab.example.com/infra/mirrors', path: './mirrors/' }), id);
  assert.ok(checkControllerId(id));
  const others = [
    defaultControllerId({ ...base, repo: 'git@gitlab.example.com:other/mirrors.git' }),
    defaultControllerId({ ...base, branch: 'staging' }),
    defaultControllerId({ ...base, path: '' }),
  ];
  assert.is(new Set([id, ...others]).size, 4);
  assert.match(defaultControllerId({ repo: 'https://example.com/', branch: 'main', path: '' }), /^example-com-[0-9a-f]{12}$/);
});

test('--controller-id refuses what a Pulp label value or selector cannot carry, naming the option', () => {
  for (const bad of ['', 'a,b', 'team(a)', 'has space', '-lead', 'x'.repeat(64), 'é']) {
    assert.throws(() => checkControllerId(bad), (e: unknown) => e instanceof UsageError && /--controller-id must be/.test((e as Error).message), bad);
  }
  for (const ok of ['team-a', 'Staging.2', 'a', 'x'.repeat(63)]) assert.is(checkControllerId(ok), ok);
});

test.run();
