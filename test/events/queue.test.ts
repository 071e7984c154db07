/** The bounded queue in front of each sink: FIFO, drop-oldest when full, put-back at the head within the bound. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BoundedQueue } from '../../events/queue.js';

const drain = <T>(q: BoundedQueue<T>): T[] => {
  const out: T[] = [];
  for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x);
  return out;
};

test('FIFO across the ring boundary; a full queue drops and returns its oldest', () => {
  const q = new BoundedQueue<number>(3);
  assert.is(q.push(1), undefined);
  assert.is(q.push(2), undefined);
  assert.is(q.shift(), 1);
  assert.is(q.push(3), undefined);
  assert.is(q.push(4), undefined);
  assert.is(q.push(5), 2, 'full: the oldest goes');
  assert.is(q.length, 3);
  assert.is(q.peek(), 3);
  assert.equal(drain(q), [3, 4, 5]);
  assert.is(q.shift(), undefined);
});

test('unshiftAll puts items back at the head in their order, dropping what does not fit', () => {
  const q = new BoundedQueue<string>(4);
  q.push('c');
  q.push('d');
  assert.is(q.unshiftAll(['a', 'b']), 0);
  assert.equal(drain(q), ['a', 'b', 'c', 'd']);
  q.push('x');
  q.push('y');
  q.push('z');
  // Room for one: the last of the put-back list (the newest of them) stays, the two older go.
  assert.is(q.unshiftAll(['p', 'q', 'r']), 2);
  assert.equal(drain(q), ['r', 'x', 'y', 'z']);
});

test('clear empties and counts; a size below 1 is refused with the value', () => {
  const q = new BoundedQueue<number>(2);
  q.push(1);
  q.push(2);
  assert.is(q.clear(), 2);
  assert.is(q.length, 0);
  assert.throws(() => new BoundedQueue(0), /queue size must be an integer ≥ 1, got 0/);
});

test.run();
