/**
 * The HTTP probes of a rollout stage (spec.rollout.stages[].verify, docs/rollouts.md): a GET of a
 * path under a mirror's base path on a site's content app, which must answer 200, and whose body
 * must have the given sha256 when one is given. What users see through their own clients is what
 * is checked, so a probe goes where they go: `{contentOrigin}/pulp/content/{basePath}/{path}`.
 *
 * On node:http (pulp/http-exchange.ts says why not got), bounded on every side, since one pass may
 * probe many sites: a timeout over the whole exchange, no redirect followed (a content app that
 * redirects, e.g. to object storage, is reported as such rather than probing a host the spec never
 * named), the body read at most `maxBytes` and hashed as it streams (never held), no credentials
 * (the content app is public), no retry (the next pass probes again). A probe never throws for the site's failures: its result says what went wrong.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import PQueue from 'p-queue';
import { messageOf } from '../core/errors.js';
import { httpGetOptions, outboundPolicy } from '../core/outbound.js';
import { redact } from '../core/redact.js';
import type { SiteSpec } from '../spec/types.js';

export const PROBE_DEFAULTS = {
  /** @default 10000 */
  timeoutMs: 10_000,
  /** Bytes of a body read at most; a longer body fails the probe. @default 64 MiB */
  maxBytes: 64 * 1024 * 1024,
  /** Probes in flight at once. @default 4 */
  concurrency: 4,
} as const;

export interface ProbeOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  maxBytes?: number;
}

/** One probe: `path` under `basePath` at `site`. */
export interface ContentProbe {
  site: string;
  path: string;
  sha256?: string;
}

/** What a probe found: `detail` is one line for a status reason ("answered 404"). */
export interface ContentProbeResult {
  ok: boolean;
  /** The HTTP status, or null when none came. */
  status: number | null;
  detail: string;
  /** True when no complete answer came (connection error, timeout): it says nothing of the tree. */
  unanswered?: true;
}

/** `{contentOrigin}/pulp/content/{basePath}/{path}`, each segment percent-encoded. */
export function probeUrl(site: Pick<SiteSpec, 'pulp'>, basePath: string, path: string): URL {
  const origin = (site.pulp.contentOrigin || site.pulp.url).replace(/\/+$/, '');
  const segments = [...basePath.split('/'), ...path.split('/')].filter(Boolean).map(encodeURIComponent);
  return new URL(`${origin}/pulp/content/${segments.join('/')}`);
}

/** Probe `path` under `basePath` on `site`'s content app. Throws only when `signal` aborts. */
export async function probeContent(site: Pick<SiteSpec, 'pulp'>, basePath: string, probe: Omit<ContentProbe, 'site'>, opts: ProbeOptions = {}): Promise<ContentProbeResult> {
  const { timeoutMs = PROBE_DEFAULTS.timeoutMs, maxBytes = PROBE_DEFAULTS.maxBytes, signal } = opts;
  signal?.throwIfAborted();
  const url = probeUrl(site, basePath, probe.path);
  const { tls } = httpGetOptions(outboundPolicy({ verifyTls: site.pulp.tlsValidation !== false, timeoutMs }));
  const deadline = AbortSignal.timeout(timeoutMs);
  const both = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const hash = createHash('sha256');
  let status: number | null = null;
  let bytes = 0;
  try {
    const res = await get(url, tls, both);
    status = res.statusCode ?? null;
    // Only a 200's body is worth reading; redirects are the answer (never followed).
    if (status !== 200) res.destroy();
    else {
      for await (const chunk of res) {
        bytes += (chunk as Buffer).length;
        if (bytes > maxBytes) {
          res.destroy();
          return { ok: false, status, detail: `answered 200 with a body over ${maxBytes} bytes (the probe reads at most that)` };
        }
        hash.update(chunk as Buffer);
      }
    }
  } catch (err) {
    signal?.throwIfAborted();
    const why = deadline.aborted ? `nothing within ${timeoutMs} ms` : redact(messageOf(err));
    return { ok: false, status, detail: status === null ? `no answer: ${why}` : `answered ${status}, then ${why}`, unanswered: true };
  }
  if (status !== 200) {
    const redirect = status !== null && status >= 300 && status < 400 ? ' (a redirect: probes do not follow redirects)' : '';
    return { ok: false, status, detail: `answered ${String(status)}${redirect}` };
  }
  const sha256 = hash.digest('hex');
  if (probe.sha256 !== undefined && sha256 !== probe.sha256) {
    return { ok: false, status, detail: `sha256 ${sha256.slice(0, 12)}… instead of ${probe.sha256.slice(0, 12)}…` };
  }
  return { ok: true, status, detail: `answered 200 (${bytes} bytes${probe.sha256 !== undefined ? ', sha256 as expected' : ''})` };
}

/**
 * One GET on its own connection (a probe is rare: nothing to pool), no credentials, the bytes as
 * the site sends them (no Accept-Encoding: the sha256 in the spec is the file's).
 */
function get(url: URL, tls: https.RequestOptions, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const options: https.RequestOptions = { method: 'GET', headers: { accept: '*/*' }, agent: false, signal, ...(secure ? tls : {}) };
    const req = (secure ? https : http).request(url, options, resolve);
    req.once('error', reject);
    req.end();
  });
}

/**
 * Run `probes` of one mirror (base path `basePath`), at most `concurrency` at once; a probe of a
 * site not in `sites` fails with that said. Results in the order of `probes`.
 */
export async function probeAll<P extends ContentProbe>(
  probes: readonly P[],
  sites: ReadonlyMap<string, Pick<SiteSpec, 'pulp'>>,
  basePath: string,
  opts: ProbeOptions & { concurrency?: number; queue?: PQueue } = {},
): Promise<(P & { ok: boolean; detail: string; unanswered?: true })[]> {
  const queue = opts.queue ?? new PQueue({ concurrency: opts.concurrency ?? PROBE_DEFAULTS.concurrency });
  return Promise.all(
    probes.map(async (p) => {
      const site = sites.get(p.site);
      const r: Omit<ContentProbeResult, 'status'> = site ? await queue.add(() => probeContent(site, basePath, p, opts), opts.signal ? { signal: opts.signal } : {}) : { ok: false, detail: `no site ${p.site} in the specs` };
      return { ...p, ok: r.ok, detail: r.detail, ...(r.unanswered ? { unanswered: true as const } : {}) };
    }),
  );
}

/**
 * The probe runner a pass is given (reconcilers/rollout-pass.ts `ProbeRunner`): every mirror's
 * probes share one queue, so that a pass with many rollouts verifying keeps `concurrency` in flight.
 */
export function contentProber(sites: readonly SiteSpec[], opts: Omit<ProbeOptions, 'signal'> & { concurrency?: number } = {}) {
  const byName = new Map(sites.map((s) => [s.name, s] as const));
  const queue = new PQueue({ concurrency: opts.concurrency ?? PROBE_DEFAULTS.concurrency });
  return <P extends ContentProbe>(mirror: { basePath: string }, probes: readonly P[], o: { signal: AbortSignal }) =>
    probeAll(probes, byName, mirror.basePath, { ...opts, signal: o.signal, queue });
}
