/**
 * The controller's failure memory (controller/failure-log.ts): a new failure is one line at
 * error/warn with site, mirror and cause; while it persists, one counting line per pass and never
 * its own line again; once gone, one info line saying it recovered.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../core/logger.js';
import { FailureLog } from '../../controller/failure-log.js';
import { PassFailure } from '../../reconcilers/failures.js';
import { unreachableSite } from '../../reconcilers/observe.js';

interface Line { level: string; msg: string; [k: string]: unknown }

function logged(): { log: FailureLog; lines: Line[]; take: () => Line[] } {
  const lines: Line[] = [];
  const log = new FailureLog(createLogger({ level: 'debug', format: 'json', write: (l) => void lines.push(JSON.parse(l) as Line) }));
  return { log, lines, take: () => lines.splice(0) };
}

const refused = (detail = '') => PassFailure.ofSite({ ...unreachableSite('hub', `hub: GET http://hub/pulp/api/v3/status/ answered 401 (Pulp rejected the credentials)${detail}`), refused: true });
const source = PassFailure.ofSource('fedora', '/srv/fedora: no such directory');
const blocked = PassFailure.ofBlockedDeletes('mass delete: 6 of 6 managed mirror placements would be deleted');

test('new → once at its level with site and cause; persisting → one counting line a pass; gone → recovered at info', () => {
  const { log, take } = logged();
  const r1 = log.record([refused(), source, blocked], 1, Date.parse('2026-12-05T10:00:00Z'));
  assert.equal([r1.added.map(String), r1.persisting, r1.recovered], [[refused(), source, blocked].map(String), 0, []]);
  assert.equal(take().map((l) => [l.level, l.msg, l.site ?? null, l.mirror ?? null, l.kind]), [
    ['error', 'hub: GET http://hub/pulp/api/v3/status/ answered 401 (Pulp rejected the credentials)', 'hub', null, 'site-refused'],
    ['error', 'fedora: source unreadable: /srv/fedora: no such directory', null, 'fedora', 'source-unreadable'],
    ['warn', 'mass delete: 6 of 6 managed mirror placements would be deleted', null, null, 'deletes-blocked'],
  ]);

  // The same failures, a detail of a message changed: not new, counted in one line.
  for (const pass of [2, 3]) {
    const r = log.record([refused(' again'), source, blocked], pass, Date.parse('2026-12-05T10:01:00Z'));
    assert.equal([r.added.length, r.persisting, r.recovered.length], [0, 3, 0]);
    const lines = take();
    assert.equal(lines.map((l) => [l.level, l.msg, l.persisting]), [['warn', '3 failures persist', 3]]);
    assert.is(lines[0]!.oldestSince, '2026-12-05T10:00:00.000Z');
  }

  // The password is fixed: the hub recovers, once.
  const r4 = log.record([source, blocked], 4, Date.parse('2026-12-05T10:03:00Z'));
  assert.equal([r4.added.length, r4.persisting, r4.recovered.map((f) => f.kind)], [0, 2, ['site-refused']]);
  const lines = take();
  assert.equal(lines.map((l) => [l.level, l.msg, l.site ?? null]), [['info', 'recovered', 'hub'], ['warn', '2 failures persist', null]]);
  assert.is(lines[0]!.passes, 3);
  assert.match(String(lines[0]!.was), /answered 401/);

  // All clear: the rest recover and nothing counts.
  log.record([], 5, Date.parse('2026-12-05T10:04:00Z'));
  assert.equal(take().map((l) => [l.level, l.msg]), [['info', 'recovered'], ['info', 'recovered']]);
  assert.equal(log.open, []);
  // Failing again later is new again.
  log.record([refused()], 6, Date.parse('2026-12-05T10:05:00Z'));
  assert.equal(take().map((l) => l.level), ['error']);
});

test('two failures of one kind at two sites are two failures; the same one twice in a pass is one', () => {
  const { log, take } = logged();
  const leaf = PassFailure.ofSite(unreachableSite('leaf', 'connect ECONNREFUSED'));
  const edge = PassFailure.ofSite(unreachableSite('edge', 'connect ECONNREFUSED'));
  const r = log.record([leaf, edge, leaf], 1, 0);
  assert.is(r.added.length, 2);
  assert.equal(take().map((l) => [l.level, l.site]), [['warn', 'leaf'], ['warn', 'edge']]);
});

test.run();
