/** PULPDIST_CONTROLLER_ID: what --controller-id says, for every command of a machine or job; checked the same way. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { envControllerId } from '../../cli/options.js';
import { runCli } from '../../testkit/cli.js';

test('the variable gives the id; an empty one is unset; a bad one is a usage error naming it', () => {
  assert.is(envControllerId({ PULPDIST_CONTROLLER_ID: 'mirrors-prod' }), 'mirrors-prod');
  assert.is(envControllerId({ PULPDIST_CONTROLLER_ID: '' }), undefined);
  assert.is(envControllerId({}), undefined);
  assert.throws(() => envControllerId({ PULPDIST_CONTROLLER_ID: 'a,b' }), /PULPDIST_CONTROLLER_ID must be 1 to 63/);
});

test('pulpdist run with a bad PULPDIST_CONTROLLER_ID exits 2 with the rule, before it starts', async () => {
  const r = await runCli(['run', '--repo', '.', '--once'], { env: { PULPDIST_CONTROLLER_ID: 'no(parens)' } });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, 'PULPDIST_CONTROLLER_ID must be 1 to 63');
  assert.not.match(r.stderr, /\n\s+at /);
});

test.run();
