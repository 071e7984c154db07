/**
 * What the controller announces after each cycle (controller/events.ts afterCycle), level-triggered
 * documents in, one event per change out, through a real HTTP sink to a real receiver on
 * 127.0.0.1: a failed pass (again only for a new failure), a site's health changes (nothing for a
 * healthy first sight or an unchanged state), a rejected commit once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ControllerEvents } from '../../controller/events.js';
import { createLogger } from '../../core/logger.js';
import type { SiteStatus, StatusDocument } from '../../core/status.js';
import type { EventSinkSpec } from '../../spec/event-sink.js';
import type { Problem } from '../../spec/types.js';
import { startEventReceiver } from '../../testkit/event-receiver.js';

type Health = 'reachable' | 'degraded' | 'unreachable';

function doc(o: { hub: Health; failedAt?: string; specCommit?: string }): StatusDocument {
  const hub: SiteStatus = {
    name: 'hub', url: 'http://hub.test', upstream: null, reachable: o.hub !== 'unreachable', state: o.hub,
    pulpVersion: o.hub === 'unreachable' ? null : '3.24.1', lastSeen: null, message: o.hub === 'reachable' ? 'Pulp' : `hub is ${o.hub}`,
  };
  return {
    controller: {
      version: '0.1.0', startedAt: '2026-12-05T09:00:00.000Z', observedCommit: 'a'.repeat(40), specCommit: o.specCommit ?? 'a'.repeat(40),
      specErrors: o.specCommit ? [{ file: 'mirrors/x.yaml', line: 3, column: 5, message: 'bad' }] : [],
      lastPass: o.failedAt ? { startedAt: o.failedAt, finishedAt: o.failedAt, result: 'failed', message: '1 failure: hub did not answer' } : null,
    },
    sites: [hub],
    mirrors: [],
  };
}

const PROBLEM: Problem = { file: 'mirrors/x.yaml', line: 3, column: 5, severity: 'error', rule: 'schema', message: 'bad' };

test('each change once: pass.failed per failed pass, site health transitions, spec.rejected per commit', async () => {
  const rx = await startEventReceiver();
  const sinks: EventSinkSpec[] = [{
    name: 'hook', labels: {}, events: { minSeverity: 'info' }, queueSize: 100, position: { file: 'sinks.yaml', line: 1, column: 1 },
    http: { url: rx.url, mode: 'structured', headers: {}, timeoutMs: 5000, maxAttempts: 3 },
  }];
  const events = new ControllerEvents({ log: createLogger({ level: 'error' }), now: () => new Date('2026-12-05T10:00:00.000Z'), env: {} });
  const specs = { eventSinks: sinks };
  try {
    const cycles: [StatusDocument, Problem[]][] = [
      [doc({ hub: 'reachable' }), []], // first sight, healthy: nothing
      [doc({ hub: 'unreachable', failedAt: '2026-12-05T10:00:01.000Z' }), []],
      [doc({ hub: 'unreachable', failedAt: '2026-12-05T10:00:01.000Z' }), []], // the same: nothing
      [doc({ hub: 'unreachable', failedAt: '2026-12-05T10:00:09.000Z' }), []], // a new failed pass
      [doc({ hub: 'degraded', specCommit: 'b'.repeat(40) }), [PROBLEM]],
      [doc({ hub: 'reachable', specCommit: 'b'.repeat(40) }), [PROBLEM]], // the same commit: not again
    ];
    for (const [d, problems] of cycles) events.afterCycle(d, specs, problems);
    await events.close(new Date(Date.now() + 20_000));
    const got = rx.events.map((e) => `${String(e.event.type).replace('org.pulpdist.', '')} ${String(e.event.subject ?? '-')}`);
    assert.equal(got, ['site.unreachable hub', 'pass.failed -', 'pass.failed -', 'site.degraded hub', `spec.rejected ${'b'.repeat(40)}`, 'site.reachable hub']);
    const rejected = rx.events.find((e) => e.event.type === 'org.pulpdist.spec.rejected')!.event.data as { problems: Problem[]; appliedCommit: string };
    assert.equal(rejected.problems, [PROBLEM]);
    assert.is(rejected.appliedCommit, 'a'.repeat(40));
    const failed = rx.events.find((e) => e.event.type === 'org.pulpdist.pass.failed')!.event;
    assert.equal([failed.severity, (failed.data as { reason: string }).reason], ['error', '1 failure: hub did not answer']);
    assert.equal((rx.events.at(-1)!.event.data as { pulpVersion?: string }).pulpVersion, '3.24.1');
  } finally {
    await rx.close();
  }
});

test.run();
