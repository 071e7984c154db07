/** AbortFan: children follow the parent's abort, and the parent carries one listener at most. */
import { getEventListeners } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AbortFan } from '../../core/abort-fan.js';

const listeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;

test('a thousand live children put one listener on the parent, and none once they settle', async () => {
  const parent = new AbortController();
  const fan = new AbortFan(parent.signal);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const runs = Array.from({ length: 1000 }, () => fan.run(async (signal) => {
    await gate;
    return listeners(signal);
  }));
  assert.is(fan.size, 1000);
  assert.is(listeners(parent.signal), 1);
  release();
  assert.equal(new Set(await Promise.all(runs)), new Set([0]));
  assert.is(fan.size, 0);
  assert.is(listeners(parent.signal), 0);
});

test('the parent aborting aborts every live child with its reason; settled children are left alone', async () => {
  const parent = new AbortController();
  const fan = new AbortFan(parent.signal);
  let early: AbortSignal | null = null;
  await fan.run(async (signal) => void (early = signal));
  const seen: unknown[] = [];
  const live = Array.from({ length: 3 }, () => fan.run((signal) => new Promise<unknown>((resolve) => {
    signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  })));
  const reason = new Error('shutting down');
  parent.abort(reason);
  for (const r of await Promise.all(live)) seen.push(r);
  assert.equal(seen, [reason, reason, reason]);
  assert.is((early as AbortSignal | null)?.aborted, false);
  assert.is(fan.size, 0);
  assert.is(listeners(parent.signal), 0);
});

test('under an aborted parent a child starts aborted, and no listener is added', async () => {
  const parent = new AbortController();
  const reason = new Error('already gone');
  parent.abort(reason);
  const fan = new AbortFan(parent.signal);
  const got = await fan.run(async (signal) => ({ aborted: signal.aborted, reason: signal.reason as unknown, size: fan.size }));
  assert.equal(got, { aborted: true, reason, size: 0 });
  assert.is(listeners(parent.signal), 0);
});

test('a child whose work throws is released, and the error reaches the caller', async () => {
  const parent = new AbortController();
  const fan = new AbortFan(parent.signal);
  const err = await fan.run(async () => {
    throw new RangeError('boom');
  }).catch((e: unknown) => e);
  assert.instance(err, RangeError);
  assert.is(fan.size, 0);
  assert.is(listeners(parent.signal), 0);
});

test.run();
