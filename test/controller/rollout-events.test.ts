/**
 * A halted rollout on the event bus: the controller's events (controller/events.ts) announce the
 * halted stage's Blocked placements once, as `org.pulpdist.change.blocked` with rule `rollout` and
 * the reason, through a real HTTP sink to a real receiver on 127.0.0.1; a placement Blocked by
 * another safety rule keeps rule `safety`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ControllerEvents } from '../../controller/events.js';
import { createLogger } from '../../core/logger.js';
import type { MirrorRollout, MirrorSiteStatus, StatusDocument } from '../../core/status.js';
import type { EventSinkSpec } from '../../spec/event-sink.js';
import { startEventReceiver } from '../../testkit/event-receiver.js';

const KEY = 'k3y-for-the-rollout-events-test';
const REASON = 'rollout of bbbbbbbbbbbb… halted at stage 1/2 canary: probe repodata/repomd.xml at leaf: answered 404';
const ROLLOUT: MirrorRollout = {
  digest: 'b'.repeat(64), previous: 'a'.repeat(64), stage: 0, stages: 2, stageName: 'canary', state: 'Blocked', reason: REASON, soakEndsAt: null,
  since: '2026-12-05T10:00:00.000Z', stageSince: '2026-12-05T10:00:00.000Z', published: { leaf: '2026-12-05T10:01:00.000Z' }, before: { leaf: 'a'.repeat(64), hub: 'a'.repeat(64) }, haltedProbes: '[]',
};

function cell(site: string, state: MirrorSiteStatus['state'], message = ''): MirrorSiteStatus {
  return { site, state, version: 2, treeDigest: 'b'.repeat(64), files: 2, bytes: 20, lastSync: null, message };
}

function doc(leaf: MirrorSiteStatus, rollout?: MirrorRollout): StatusDocument {
  return {
    controller: { version: '0.1.0', startedAt: '2026-12-05T09:00:00.000Z', observedCommit: null, specCommit: null, specErrors: [], lastPass: null },
    sites: [],
    mirrors: [
      { name: 'tools', origin: 'origin', treeDigest: 'b'.repeat(64), sites: [cell('origin', 'Synced'), cell('hub', 'Synced'), leaf], ...(rollout ? { rollout } : {}) },
      { name: 'big', origin: 'origin', treeDigest: 'b'.repeat(64), sites: [cell('origin', 'Synced'), cell('hub', 'Blocked', 'the sync would not fit: 2 GiB free')] },
    ],
  };
}

test('a halted rollout\'s placement is announced once as change.blocked, rule rollout, with the reason', async () => {
  const rx = await startEventReceiver({ key: KEY });
  const sinks: EventSinkSpec[] = [{
    name: 'hook', labels: {}, events: { minSeverity: 'info' }, queueSize: 100, position: { file: 'sinks.yaml', line: 1, column: 1 },
    http: { url: rx.url, mode: 'binary', headers: {}, timeoutMs: 5000, maxAttempts: 3, secret: { env: 'HOOK_KEY' } },
  }];
  const events = new ControllerEvents({ log: createLogger({ level: 'error' }), now: () => new Date('2026-12-05T10:02:00.000Z'), env: { HOOK_KEY: KEY } });
  try {
    const blocked = doc(cell('leaf', 'Blocked', REASON), ROLLOUT);
    events.afterCycle(blocked, { eventSinks: sinks }, []);
    events.afterCycle(blocked, { eventSinks: sinks }, []); // still blocked: nothing new to say
    await events.close(new Date(Date.now() + 20_000));
    const got = rx.events.map((e) => e.event).filter((e) => e.type === 'org.pulpdist.change.blocked');
    const data = got.map((e) => e.data as Record<string, unknown>).sort((a, b) => String(a.mirror).localeCompare(String(b.mirror)));
    assert.equal(data, [
      { site: 'hub', mirror: 'big', rule: 'safety', reason: 'the sync would not fit: 2 GiB free' },
      { site: 'leaf', mirror: 'tools', rule: 'rollout', reason: REASON },
    ]);
  } finally {
    await rx.close();
  }
});

test.run();
