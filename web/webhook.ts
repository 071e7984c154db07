/**
 * Verification of Git webhook deliveries (`POST /hooks/git`): pure, given the headers, the raw
 * body and the shared secret. It knows two senders:
 * - GitLab: the secret comes back verbatim in `X-Gitlab-Token`; `X-Gitlab-Event: Push Hook` marks
 *   a push; `X-Gitlab-Event-UUID` identifies a delivery, so a retried delivery can be dropped.
 * - GitHub: `X-Hub-Signature-256: sha256=HEX` is an HMAC-SHA256 of the raw body under the secret;
 *   `X-GitHub-Event: push` marks a push; `X-GitHub-Delivery` identifies a delivery.
 *
 * Authentication comes before anything else, so a caller without the secret learns nothing (not
 * even which events are ignored). Comparisons are constant-time. A delivery is only a hint to
 * fetch: the controller re-reads the branch, so nothing in the body is trusted or parsed.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The parts of a request the verifier reads. Header names are lower case (as node:http gives them). */
export interface WebhookRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

export interface WebhookVerdict {
  /** True when the delivery is an authenticated push: the controller should fetch and run a pass. */
  accept: boolean;
  /** The HTTP status to answer: 202 for authenticated deliveries (pushes or ignored events), 401 otherwise. */
  status: 202 | 401;
  /** Why, for the response body and the log (never contains the secret or the signature). */
  reason: string;
  /** Identifies the delivery (`gitlab:UUID`, `github:ID`) when the sender gave one, for dropping duplicates. */
  dedupeKey?: string;
  /** Which sender the headers name. */
  sender: 'gitlab' | 'github' | 'unknown';
}

function header(req: WebhookRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Constant-time equality of two strings of any lengths: both are hashed to equal-length digests first. */
function sameSecret(given: string, secret: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/** Constant-time check of a GitHub `sha256=HEX` signature of `body` under `secret`. */
export function verifyGithubSignature(signature: string, body: Buffer, secret: string): boolean {
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(signature.trim());
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(m[1], 'hex'), expected);
}

/** The `X-Hub-Signature-256` value GitHub would send for `body` (tests and tools use it). */
export function githubSignature(body: Buffer | string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** Decide what to do with one delivery. An empty secret never authenticates anything. */
export function verifyWebhook(req: WebhookRequest, secret: string): WebhookVerdict {
  const deny = (sender: WebhookVerdict['sender'], reason: string): WebhookVerdict => ({ accept: false, status: 401, reason, sender });
  const signature = header(req, 'x-hub-signature-256');
  const githubEvent = header(req, 'x-github-event');
  const gitlabToken = header(req, 'x-gitlab-token');
  const gitlabEvent = header(req, 'x-gitlab-event');

  if (signature !== undefined || githubEvent !== undefined) {
    if (signature === undefined) return deny('github', 'missing X-Hub-Signature-256 (set the webhook secret in the repository settings)');
    if (!secret || !verifyGithubSignature(signature, req.body, secret)) return deny('github', 'X-Hub-Signature-256 does not match the body under the configured secret');
    const delivery = header(req, 'x-github-delivery');
    const dedupe = delivery ? { dedupeKey: `github:${delivery}` } : {};
    if (githubEvent !== 'push') return { accept: false, status: 202, reason: `ignored GitHub event "${githubEvent ?? '(none)'}" (only push starts a pass)`, sender: 'github', ...dedupe };
    return { accept: true, status: 202, reason: 'GitHub push accepted; a fetch and a pass will follow', sender: 'github', ...dedupe };
  }

  if (gitlabToken !== undefined || gitlabEvent !== undefined) {
    if (gitlabToken === undefined) return deny('gitlab', 'missing X-Gitlab-Token (set the secret token in the webhook settings)');
    if (!secret || !sameSecret(gitlabToken, secret)) return deny('gitlab', 'X-Gitlab-Token does not match the configured secret');
    const uuid = header(req, 'x-gitlab-event-uuid');
    const dedupe = uuid ? { dedupeKey: `gitlab:${uuid}` } : {};
    if (gitlabEvent !== 'Push Hook') return { accept: false, status: 202, reason: `ignored GitLab event "${gitlabEvent ?? '(none)'}" (only Push Hook starts a pass)`, sender: 'gitlab', ...dedupe };
    return { accept: true, status: 202, reason: 'GitLab push accepted; a fetch and a pass will follow', sender: 'gitlab', ...dedupe };
  }

  return deny('unknown', 'no webhook credentials: send X-Gitlab-Token (GitLab) or X-Hub-Signature-256 (GitHub)');
}

/**
 * Remembers the last `capacity` delivery ids, so a sender's retry of a delivery already acted on is
 * dropped. Bounded: the oldest id is forgotten first (a Set keeps insertion order).
 */
export class DeliveryDedupe {
  private readonly seen = new Set<string>();

  /** @param capacity How many delivery ids to remember. @default 1000 */
  constructor(private readonly capacity = 1000) {}

  /** True the first time `key` is offered, false for a repeat. */
  firstTime(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }
}
