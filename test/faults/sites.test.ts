/**
 * Item 1 of issue 8, during `pulpdist apply` (sites-run.test.ts covers `pulpdist run`): a site
 * that refuses connections, answers 503, is slower than the request timeout or is replaced by a
 * login page. Three real sites (origin → a, origin →
 * b), b behind a fault proxy. Each case: the other sites converge on the new tree, b keeps serving
 * the tree it had (nothing published lost, nothing wrong published), the failure names b and the
 * cause, GET retries back off, and once b is back the next apply/pass converges.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ProxyMode } from './fault-proxy.js';
import { assertServes, listNames, pollUntil, pulpdist, startEvolvingNetwork, type EvolvingNetwork, type NetSite } from './support.js';

let fx: EvolvingNetwork | undefined;
const b = (): NetSite => fx!.net.get('b')!;

test.before(async () => {
  fx = await startEvolvingNetwork('pulpdist-faults-sites-');
});

test.after(async () => {
  await fx?.close();
});

/** Apply with b faulty: the rest converge, b keeps its tree and is named; then b recovers. */
async function applyWithFault(mode: ProxyMode, cause: RegExp, extraArgs: string[] = []): Promise<string> {
  const { before, after } = await fx!.nextTree();
  await b().proxy.setMode(mode);
  let r;
  try {
    r = await pulpdist(['apply', '--specs', fx!.specs, ...extraArgs], fx!.env);
  } finally {
    await b().proxy.setMode('pass');
  }
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^Not converged: \d+ problems?/m);
  assert.match(r.stdout, new RegExp(`^  - b: unreachable: GET ${b().proxy.url.replace(/[.]/g, '\\.')}/pulp/api/v3/status/:? ${cause.source}`, 'm'), r.stdout);
  assert.not.match(r.stdout + r.stderr, /at .*\.js:\d+|internal error/, 'no stack trace');
  // The other sites proceed to the new tree; b still serves the old one, byte for byte.
  await assertServes(fx!.net.get('origin')!, 'm', after);
  await assertServes(fx!.net.get('a')!, 'm', after);
  await assertServes(b(), 'm', before, 'b (faulty during the apply)');
  // Convergence once b is back.
  const again = await pulpdist(['apply', '--specs', fx!.specs, ...extraArgs], fx!.env);
  assert.is(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /^Converged/m);
  for (const n of fx!.net.values()) await assertServes(n, 'm', after);
  return r.stderr;
}

/** The delays of the "retrying pulp request" warnings for b's status GET, in order. */
function retryDelays(log: string): number[] {
  return log
    .split('\n')
    .filter((l) => l.includes('retrying pulp request') && / site=b\b/.test(l) && l.includes('/status/'))
    .map((l) => Number(/delayMs=(\d+)/.exec(l)?.[1]));
}

test('apply: b refuses connections → the others converge, b is named unreachable (ECONNREFUSED), retries back off; then converges', async () => {
  const log = await applyWithFault('refuse', /failed: ECONNREFUSED; check that Pulp is running and spec\.pulp\.url is right/);
  // b is observed twice (before the plan and after the apply), each time with 4 retries.
  const delays = retryDelays(log);
  assert.is(delays.length, 8, log);
  // Exponential with jitter in [cap/2, cap]: 250, 500, 1000, 2000 ms caps.
  delays.forEach((d, i) => assert.ok(d >= (250 << i % 4) / 2 && d <= 250 << i % 4, `retry ${(i % 4) + 1} waited ${d} ms`));
});

test('apply: b answers 503 → named with the status, retried with back-off; then converges', async () => {
  const log = await applyWithFault('503', /answered 503 Service Unavailable/);
  assert.is(retryDelays(log).length, 8, log);
});

test('apply: b is slower than --request-timeout → named (ETIMEDOUT); then converges', async () => {
  await applyWithFault('hang', /failed: ETIMEDOUT/, ['--request-timeout', '500ms']);
});

test('apply: a login page answers for b (200 text/html) → b named with what it answered; then converges', async () => {
  await applyWithFault('html', /answered 200 with text\/html, not JSON/);
});

test('apply: b starts refusing connections while its sync runs → b named, the others converge; the next apply converges with no duplicates', async () => {
  const { after } = await fx!.nextTree();
  const seen = b().proxy.requests().length;
  const applying = pulpdist(['apply', '--specs', fx!.specs], fx!.env);
  let r;
  try {
    await pollUntil('b to be asked to sync', async () => (b().proxy.requests().slice(seen).some((q) => /^POST .*\/sync\/$/.test(q)) ? true : undefined), 60_000, 5);
    await b().proxy.setMode('refuse');
    r = await applying;
  } finally {
    await b().proxy.setMode('pass');
  }
  const out = r.stdout + r.stderr;
  assert.is(r.code, 1, out);
  assert.match(out, /^  - b: .*ECONNREFUSED/m);
  assert.not.match(out, /internal error|\n\s+at \S+:\d+/, 'no stack trace');
  await assertServes(fx!.net.get('origin')!, 'm', after);
  await assertServes(fx!.net.get('a')!, 'm', after);
  const again = await pulpdist(['apply', '--specs', fx!.specs], fx!.env);
  assert.is(again.code, 0, again.stdout + again.stderr);
  for (const n of fx!.net.values()) {
    await assertServes(n, 'm', after);
    for (const kind of ['repositories', 'remotes', 'distributions'] as const) assert.equal(await listNames(n, kind), ['pulpdist.m'], `${n.name} ${kind}`);
  }
});

test.run();
