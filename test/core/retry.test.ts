/** withRetries: counts, what is not retried, the delays asked for, and an abort winning over a retry. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withRetries } from '../../core/retry.js';

class Flaky extends Error {
  constructor(readonly retry: boolean) {
    super(retry ? 'flaky' : 'fatal');
  }
}

function failing(times: number, retry = true): { fn: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    fn: async () => {
      if (++calls <= times) throw new Flaky(retry);
      return `ok after ${calls}`;
    },
    calls: () => calls,
  };
}

const base = { retryable: (e: unknown) => e instanceof Flaky && e.retry, delayMs: () => 0 };

test('retries up to `retries` times, then throws the last error', async () => {
  assert.is(await withRetries(failing(3).fn, { ...base, retries: 3 }), 'ok after 4');
  const f = failing(4);
  const err = await withRetries(f.fn, { ...base, retries: 3 }).catch((e: Error) => e);
  assert.instance(err, Flaky);
  assert.is(f.calls(), 4);
});

test('a failure that may not be retried, or retries: 0, fails at once', async () => {
  const fatal = failing(1, false);
  assert.is(((await withRetries(fatal.fn, { ...base, retries: 5 }).catch((e: Error) => e)) as Error).message, 'fatal');
  assert.is(fatal.calls(), 1);
  const once = failing(1);
  await withRetries(once.fn, { ...base, retries: 0 }).catch(() => undefined);
  assert.is(once.calls(), 1);
});

test('delays are asked for with the 1-based attempt and the error, and reported before each wait', async () => {
  const asked: number[] = [];
  const told: { attempt: number; retries: number; delayMs: number }[] = [];
  await withRetries(failing(2).fn, {
    ...base,
    retries: 3,
    delayMs: (attempt, err) => {
      assert.instance(err, Flaky);
      asked.push(attempt);
      return attempt;
    },
    onRetry: ({ attempt, retries, delayMs }) => told.push({ attempt, retries, delayMs }),
  });
  assert.equal(asked, [1, 2]);
  assert.equal(told, [
    { attempt: 1, retries: 3, delayMs: 1 },
    { attempt: 2, retries: 3, delayMs: 2 },
  ]);
});

test('an abort during the wait rejects with its reason, and no further attempt is made', async () => {
  const ac = new AbortController();
  const reason = new Error('pass aborted');
  const f = failing(10);
  const p = withRetries(f.fn, { ...base, retries: 5, delayMs: () => 60_000, signal: ac.signal, onRetry: () => queueMicrotask(() => ac.abort(reason)) });
  assert.is(await p.catch((e: unknown) => e), reason);
  assert.is(f.calls(), 1);
});

test('a failure after the abort gives the abort reason, not the failure', async () => {
  const ac = new AbortController();
  const reason = new Error('shutdown');
  const err = await withRetries(
    async () => {
      ac.abort(reason);
      throw new Flaky(true);
    },
    { ...base, retries: 5, signal: ac.signal },
  ).catch((e: unknown) => e);
  assert.is(err, reason);
});

test.run();
