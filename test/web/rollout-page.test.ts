/**
 * The status page shows each mirror's rollout beside its name: where it stands (stage, soak end,
 * approval, the block's reason as its title), escaped like everything else on the page.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MirrorRollout } from '../../core/status.js';
import { sampleStatus } from '../../testkit/status-fixture.js';
import { renderStatusPage } from '../../web/page.js';

const NOW = new Date('2026-12-05T10:00:00.000Z');
const ROLLOUT: MirrorRollout = {
  digest: 'b'.repeat(64), previous: 'a'.repeat(64), stage: 0, stages: 2, stageName: 'canary', state: 'Soaking',
  reason: 'stage 1/2 canary soaks until 2026-12-05T10:32:00.000Z', soakEndsAt: '2026-12-05T10:32:00.000Z',
  since: '2026-12-05T09:50:00.000Z', stageSince: '2026-12-05T09:50:00.000Z', published: { leaf: '2026-12-05T10:02:00.000Z' }, before: { leaf: 'a'.repeat(64) },
};

function pageWith(rollout: MirrorRollout): string {
  const doc = sampleStatus(NOW);
  const first = doc.mirrors[0];
  assert.ok(first);
  doc.mirrors[0] = { ...first, rollout };
  return renderStatusPage(doc, { now: NOW });
}

test('a soaking rollout: its stage and when the soak ends', () => {
  const page = pageWith(ROLLOUT);
  assert.match(page, '<span class="rollout" data-rollout="Soaking" title="stage 1/2 canary soaks until 2026-12-05T10:32:00.000Z">stage 1/2 canary: soaking, soak ends 10:32</span>');
});

test('a blocked rollout: Blocked with the reason, escaped', () => {
  const page = pageWith({ ...ROLLOUT, state: 'Blocked', soakEndsAt: null, reason: 'probe <repomd.xml> at leaf: answered 404' });
  assert.match(page, 'data-rollout="Blocked"');
  assert.match(page, 'stage 1/2 canary: Blocked: probe &lt;repomd.xml&gt; at leaf: answered 404');
  assert.not.match(page, '<repomd.xml>');
});

test('a mirror without a rollout shows none', () => {
  assert.not.match(renderStatusPage(sampleStatus(NOW), { now: NOW }), 'class="rollout"');
});

test.run();
