/**
 * Status documents for the status-endpoint tests: plain data, the server's input. Four sites
 * (origin → hub → leaf, plus `edge` fed by the origin and unreachable) and mirrors that between
 * them show every state.
 */
import { createHash } from 'node:crypto';
import type { MirrorSiteStatus, MirrorState, MirrorStatus, StatusDocument } from '../core/status.js';

export const DIGEST_A = 'sha256:' + 'a1'.repeat(32);
export const DIGEST_B = 'sha256:' + 'b2'.repeat(32);
export const COMMIT = '0123456789abcdef0123456789abcdef01234567';
export const NEW_COMMIT = 'fedcba9876543210fedcba9876543210fedcba98';

function iso(now: Date, secondsAgo: number): string {
  return new Date(now.getTime() - secondsAgo * 1000).toISOString();
}

function cell(now: Date, site: string, state: MirrorState, opts: { digest?: string | null; version?: number | null; message?: string; agoS?: number } = {}): MirrorSiteStatus {
  const { digest = DIGEST_A, version = 3, message = '', agoS = 300 } = opts;
  const synced = state === 'Synced' || state === 'OutOfSync' || state === 'Failed';
  return {
    site,
    state,
    version,
    treeDigest: digest,
    files: digest ? 120 : null,
    bytes: digest ? 5_000_000 : null,
    lastSync: synced
      ? {
          startedAt: iso(now, agoS + 42),
          finishedAt: iso(now, agoS),
          result: state === 'Failed' ? 'failed' : 'completed',
          downloadedBytes: 1_048_576,
          downloadedFiles: 7,
          task: `/pulp/api/v3/tasks/${site}-${state}/`,
        }
      : state === 'Progressing'
        ? { startedAt: iso(now, 20), finishedAt: null, result: null, downloadedBytes: null, downloadedFiles: null, task: `/pulp/api/v3/tasks/${site}-run/` }
        : null,
    ...(state === 'Progressing'
      ? {
          progress: {
            startedAt: iso(now, 20), task: `/pulp/api/v3/tasks/${site}-run/`, files: { done: 3, total: 10 }, bytes: { done: 1_572_864, total: 4_194_304 },
            bytesPerSecond: 786_432, etaSeconds: 3, updatedAt: iso(now, 1),
          },
        }
      : {}),
    message,
  };
}

/** A document with every state, spec errors, and text that needs HTML escaping. */
export function sampleStatus(now: Date = new Date()): StatusDocument {
  const mirrors: MirrorStatus[] = [
    {
      name: 'fedora-40',
      origin: 'origin',
      labels: { team: 'os', distro: 'fedora' },
      treeDigest: DIGEST_A,
      sites: [cell(now, 'origin', 'Synced'), cell(now, 'hub', 'Synced', { agoS: 200 }), cell(now, 'leaf', 'Progressing', { digest: DIGEST_B, version: 2 }), cell(now, 'edge', 'Failed', { digest: DIGEST_B, version: 2, message: 'site unreachable: connect ECONNREFUSED 10.0.0.9:443' })],
    },
    {
      name: 'epel-9',
      origin: 'origin',
      treeDigest: DIGEST_A,
      sites: [cell(now, 'origin', 'Synced'), cell(now, 'hub', 'OutOfSync', { digest: DIGEST_B, message: 'upstream publishes a newer tree' }), cell(now, 'leaf', 'Pending', { digest: null, version: null, message: 'waits for hub' })],
    },
    {
      name: 'tools',
      origin: 'hub',
      treeDigest: DIGEST_B,
      sites: [cell(now, 'hub', 'Suspended', { digest: DIGEST_B, message: 'suspended in the spec' }), cell(now, 'leaf', 'Suspended', { digest: DIGEST_B })],
    },
    {
      name: 'retired',
      origin: 'origin',
      treeDigest: DIGEST_A,
      sites: [cell(now, 'origin', 'Blocked', { message: 'held by the mass-delete guard: 3 of 4 mirrors would be deleted' })],
    },
    {
      name: 'xss-test',
      origin: 'origin',
      treeDigest: null,
      sites: [cell(now, 'origin', 'Pending', { digest: null, version: null, message: '<script>alert("x")</script> & more' })],
    },
  ];
  return {
    controller: {
      version: '0.1.0',
      startedAt: iso(now, 3600),
      observedCommit: COMMIT,
      specCommit: NEW_COMMIT,
      specErrors: [{ file: 'mirrors/bad.yaml', line: 14, column: 7, message: 'spec.sites[2]: unknown site "brq2" (known: hub, leaf, origin)' }],
      lastPass: { startedAt: iso(now, 70), finishedAt: iso(now, 60), result: 'succeeded' },
    },
    sites: [
      { name: 'origin', url: 'http://127.0.0.1:24817', upstream: null, reachable: true, pulpVersion: '3.24.0', lastSeen: iso(now, 60), message: '' },
      { name: 'hub', url: 'http://127.0.0.1:24818', upstream: 'origin', reachable: true, pulpVersion: '3.24.0', lastSeen: iso(now, 60), message: '' },
      { name: 'leaf', url: 'http://127.0.0.1:24819', upstream: 'hub', reachable: true, pulpVersion: '3.24.0', lastSeen: iso(now, 60), message: '' },
      { name: 'edge', url: 'https://edge.example.com', upstream: null, reachable: false, pulpVersion: null, lastSeen: null, message: 'connect ECONNREFUSED 10.0.0.9:443' },
    ],
    mirrors,
  };
}

const hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * A large document (n mirrors over the sample's three sites, or `siteCount` sites: origin and
 * site-01…), for load tests. Digests and task ids
 * differ per mirror, as real ones do, so that compression is not flattered by repetition. `pass`
 * moves it on as a running pass does: each step, a tenth of the mirrors (staggered) change state,
 * task and message.
 */
export function largeStatus(n: number, now: Date = new Date(), pass = 0, siteCount = 3): StatusDocument {
  const base = sampleStatus(now);
  const siteNames = siteCount === 3 ? ['origin', 'hub', 'leaf'] : ['origin', ...Array.from({ length: siteCount - 1 }, (_, i) => `site-${String(i + 1).padStart(2, '0')}`)];
  if (siteCount !== 3) {
    base.sites = siteNames.map((name, i) => ({ name, url: `http://127.0.0.1:${24817 + i}`, upstream: i === 0 ? null : 'origin', reachable: true, pulpVersion: '3.24.0', lastSeen: now.toISOString(), message: '' }));
  }
  const states: MirrorState[] = ['Synced', 'Synced', 'Synced', 'Progressing', 'OutOfSync', 'Pending'];
  const mirrors: MirrorStatus[] = [];
  for (let i = 0; i < n; i++) {
    const name = `mirror-${String(i).padStart(4, '0')}`;
    const epoch = Math.floor((pass + i) / 10);
    const wanted = hex(`${name}/${epoch >> 1}`);
    mirrors.push({
      name,
      origin: 'origin',
      labels: { team: ['os', 'tools', 'science'][i % 3]!, ...(i % 10 === 0 ? { tier: 'gold' } : {}) },
      treeDigest: wanted,
      sites: siteNames.map((site, j) => {
        const state = states[(i + j + epoch) % states.length]!;
        const c = cell(now, site, state, { digest: state === 'Synced' ? wanted : hex(`${name}/${site}/old`), version: 1 + ((i * 7 + j + epoch) % 40), message: state === 'Synced' ? '' : `step ${epoch}: ${state} at ${site}`, agoS: 30 + ((i * 37 + j * 11) % 7200) });
        if (c.lastSync) c.lastSync.task = `/pulp/api/v3/tasks/${hex(`${name}/${site}/${epoch}`).slice(0, 32)}/`;
        return c;
      }),
    });
  }
  return { ...base, controller: { ...base.controller, specErrors: [], lastPass: { startedAt: now.toISOString(), finishedAt: null, result: 'running' } }, mirrors };
}
