/**
 * `POST /hooks/git` on a real status server: GitLab and GitHub deliveries accepted, refused,
 * ignored and deduplicated, counted by how often onPush really ran.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import { silentLogger } from '../../core/logger.js';
import { createMetrics } from '../../web/metrics.js';
import { startStatusServer, type StatusServer } from '../../web/server.js';
import { githubSignature, verifyWebhook, DeliveryDedupe } from '../../web/webhook.js';
import { sampleStatus } from '../../testkit/status-fixture.js';

const SECRET = 'webhook-shared-secret-42';
const doc = sampleStatus();
let pushes = 0;
let server: StatusServer;

test.before(async () => {
  server = await startStatusServer({
    listen: '127.0.0.1:0',
    getStatus: () => doc,
    isReady: () => true,
    metrics: createMetrics(),
    log: silentLogger,
    webhook: { secret: SECRET, onPush: () => void pushes++ },
    maxBodyBytes: 32 * 1024,
  });
});

test.after(async () => {
  await server.close();
});

function post(headers: Record<string, string>, body: string | Buffer = '{"ref":"refs/heads/main"}', method = 'POST'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      server.url + '/hooks/git',
      { method, agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** onPush runs after the answer: wait (bounded) until the count reaches `n`, then check it stays there. */
async function pushesReach(n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (pushes < n && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.is(pushes, n);
}

test('GitLab: a push with the right token is 202 and calls onPush; a retried delivery is dropped', async () => {
  const before = pushes;
  const headers = { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET, 'x-gitlab-event-uuid': 'a6f3c6d2-1111-4c9e-9b55-000000000001' };
  const r = await post(headers);
  assert.is(r.status, 202);
  assert.is((JSON.parse(r.body) as { accepted: boolean }).accepted, true);
  await pushesReach(before + 1);
  const dup = await post(headers);
  assert.is(dup.status, 202);
  assert.match(dup.body, 'duplicate');
  // A different delivery of the same event is a new push.
  const other = await post({ ...headers, 'x-gitlab-event-uuid': 'a6f3c6d2-1111-4c9e-9b55-000000000002' });
  assert.is(other.status, 202);
  await pushesReach(before + 2);
});

test('GitLab: a missing or wrong token is 401; a non-push event is 202 and ignored', async () => {
  const before = pushes;
  const wrong = await post({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET + 'x' });
  assert.is(wrong.status, 401);
  assert.not.match(wrong.body, SECRET);
  const missing = await post({ 'x-gitlab-event': 'Push Hook' });
  assert.is(missing.status, 401);
  assert.match(missing.body, 'X-Gitlab-Token');
  const mr = await post({ 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-token': SECRET });
  assert.is(mr.status, 202);
  assert.is((JSON.parse(mr.body) as { accepted: boolean }).accepted, false);
  // Without credentials, not even the event type is looked at.
  const anon = await post({ 'x-gitlab-event': 'Merge Request Hook' });
  assert.is(anon.status, 401);
  const nothing = await post({});
  assert.is(nothing.status, 401);
  await pushesReach(before);
});

test('GitHub: a push signed over the raw body is 202; a bad or missing signature is 401; ping is ignored', async () => {
  const before = pushes;
  const body = '{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567"}';
  const sig = githubSignature(body, SECRET);
  const ok = await post({ 'x-github-event': 'push', 'x-hub-signature-256': sig, 'x-github-delivery': 'd-1' }, body);
  assert.is(ok.status, 202);
  await pushesReach(before + 1);
  const dup = await post({ 'x-github-event': 'push', 'x-hub-signature-256': sig, 'x-github-delivery': 'd-1' }, body);
  assert.match(dup.body, 'duplicate');
  // The same signature over a different body (one byte changed) fails.
  const tampered = await post({ 'x-github-event': 'push', 'x-hub-signature-256': sig, 'x-github-delivery': 'd-2' }, body.replace('main', 'mainx'));
  assert.is(tampered.status, 401);
  const wrongKey = await post({ 'x-github-event': 'push', 'x-hub-signature-256': githubSignature(body, 'other-secret'), 'x-github-delivery': 'd-3' }, body);
  assert.is(wrongKey.status, 401);
  const malformed = await post({ 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=xyz', 'x-github-delivery': 'd-4' }, body);
  assert.is(malformed.status, 401);
  const unsigned = await post({ 'x-github-event': 'push', 'x-github-delivery': 'd-5' }, body);
  assert.is(unsigned.status, 401);
  assert.match(unsigned.body, 'X-Hub-Signature-256');
  const ping = await post({ 'x-github-event': 'ping', 'x-hub-signature-256': githubSignature('{}', SECRET), 'x-github-delivery': 'd-6' }, '{}');
  assert.is(ping.status, 202);
  assert.is((JSON.parse(ping.body) as { accepted: boolean }).accepted, false);
  await pushesReach(before + 1);
});

test('other methods on /hooks/git are 405 with Allow: POST; an oversized payload is 413', async () => {
  const get = await post({}, '', 'GET');
  assert.is(get.status, 405);
  assert.is(get.headers['allow'], 'POST');
  const before = pushes;
  const big = Buffer.alloc(64 * 1024, 0x20);
  const r = await post({ 'x-github-event': 'push', 'x-hub-signature-256': githubSignature(big, SECRET) }, big);
  assert.is(r.status, 413);
  await pushesReach(before);
});

test('verifyWebhook is pure and never echoes the secret; the dedupe memory is bounded', () => {
  const v = verifyWebhook({ headers: { 'x-gitlab-token': 'guess', 'x-gitlab-event': 'Push Hook' }, body: Buffer.from('') }, SECRET);
  assert.equal({ accept: v.accept, status: v.status, sender: v.sender }, { accept: false, status: 401, sender: 'gitlab' });
  assert.not.match(v.reason, SECRET);
  // An empty configured secret authenticates nothing, not even an empty token.
  assert.is(verifyWebhook({ headers: { 'x-gitlab-token': '', 'x-gitlab-event': 'Push Hook' }, body: Buffer.from('') }, '').status, 401);
  const d = new DeliveryDedupe(2);
  assert.is(d.firstTime('a'), true);
  assert.is(d.firstTime('a'), false);
  d.firstTime('b');
  d.firstTime('c');
  assert.is(d.firstTime('a'), true, 'the oldest id was forgotten');
});

test.run();
