/**
 * `pulpdist status [--server URL] [--json]`: the overview of a running controller in a terminal,
 * read from its `GET /api/v1/status`. The table is coloured only when stdout is a terminal and
 * NO_COLOR is unset (https://no-color.org).
 */
import type { Command } from '../command.js';
import { PulpdistError, UsageError, messageOf } from '../../core/errors.js';
import { outboundPolicy, policyFetch } from '../../core/outbound.js';
import { redactUrl } from '../../core/redact.js';
import { formatDuration } from '../../core/units.js';
import type { MirrorSiteStatus, MirrorState, StatusDocument } from '../../core/status.js';
import { rolloutSummary } from '../../reconcilers/rollout-view.js';
import { formatAge, shareDone, shortCommit, shortDigest } from '../../status/format.js';
import { cleanupText, diskText } from '../../status/site-disk.js';
import { computeTopology, siteOrder } from '../../web/topology.js';
import { durationOption } from '../options.js';
import { statusVerdict, type StatusVerdict } from '../status-verdict.js';

/** The controller's default `--listen`. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** The controller could not be reached or did not answer with a status document. */
export class StatusFetchError extends PulpdistError {
  constructor(
    message: string,
    readonly server: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { ...options, retryable: true });
  }
}

/** GET the document from a controller; every failure is a StatusFetchError naming the server. */
export async function fetchStatus(server: string, opts: { signal: AbortSignal }): Promise<StatusDocument> {
  let base: URL;
  try {
    base = new URL(server);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`--server must be an http(s) URL, got "${redactUrl(server)}"`);
  }
  // As the user wrote it (URL parsing adds a trailing slash), less any credentials.
  const shown = server.endsWith('/') ? redactUrl(server) : redactUrl(server).replace(/\/$/, '');
  // A controller behind a proxy with basic auth: fetch refuses credentials in the URL, so they
  // travel in the header instead (and never into a message).
  const headers: Record<string, string> = { accept: 'application/json' };
  if (base.username || base.password) {
    headers['authorization'] = 'Basic ' + Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64');
    base.username = '';
    base.password = '';
  }
  const url = new URL('api/v1/status', base.href.endsWith('/') ? base : new URL(base.href + '/'));
  let res: Response;
  try {
    // The outbound policy: a Basic header from --server stays with that origin on a redirect.
    res = await policyFetch(url, { signal: opts.signal, headers }, outboundPolicy({ timeoutMs: 10_000 }));
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause ?? err;
    throw new StatusFetchError(`cannot reach the controller at ${shown}`, shown, { cause: new Error(describe(cause)) });
  }
  const text = await res.text();
  if (!res.ok) {
    throw new StatusFetchError(`cannot reach the controller at ${shown}`, shown, { cause: new Error(`GET /api/v1/status answered ${res.status} ${res.statusText}: ${text.slice(0, 200)}`) });
  }
  try {
    const doc = JSON.parse(text) as StatusDocument;
    if (!doc || typeof doc !== 'object' || !doc.controller || !Array.isArray(doc.mirrors) || !Array.isArray(doc.sites)) throw new Error('not a status document');
    return doc;
  } catch (err) {
    throw new StatusFetchError(`the server at ${shown} did not answer with a pulpdist status document`, shown, { cause: err });
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: string }).code;
  const msg = messageOf(err);
  if (err instanceof DOMException && err.name === 'TimeoutError') return 'no answer within 10 s';
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

const COLOURS: Record<MirrorState, string> = {
  Synced: '32',
  Progressing: '34',
  OutOfSync: '33',
  Failed: '31',
  Blocked: '91',
  Pending: '90',
  Suspended: '35',
};

/** The terminal table: a header, a row per mirror with one column per site, and the sites line. */
export function renderStatusText(doc: StatusDocument, opts: { now: Date; colour: boolean; verdict?: StatusVerdict }): string {
  const { now, colour, verdict = statusVerdict(doc) } = opts;
  const paint = (code: string, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const c = doc.controller;
  const lines: string[] = [];
  const pass = c.lastPass
    ? `last pass ${c.lastPass.result} ${formatAge(c.lastPass.finishedAt ?? c.lastPass.startedAt, now)} ago`
    : 'no pass yet';
  lines.push(`pulpdist ${c.version} · spec ${shortCommit(c.observedCommit)} applied · ${pass}`);
  // What the exit code says comes first, before the table it summarizes.
  if (verdict.code === 1) {
    lines.push(paint('31', `problems (exit 1):`));
    for (const l of verdict.lines) lines.push(`  ${l}`);
  } else if (verdict.code === 3) {
    lines.push(paint('34', `not converged yet (exit 3):`));
    for (const l of verdict.lines.slice(0, 10)) lines.push(`  ${l}`);
    if (verdict.lines.length > 10) lines.push(`  … and ${verdict.lines.length - 10} more`);
  }
  if (c.specErrors.length) {
    lines.push(paint('31', `spec errors in ${shortCommit(c.specCommit)} (not applied):`));
    for (const e of c.specErrors) lines.push(`  ${e.file}:${e.line}:${e.column}: ${e.message}`);
  }
  lines.push('');

  // Upstream first, as on the page; includes any site a mirror names that the site list lacks.
  const sites = siteOrder(computeTopology(doc));
  if (doc.mirrors.length === 0) {
    lines.push('no mirrors');
  } else {
    const cellText = (s: MirrorSiteStatus | undefined): { text: string; state: MirrorState | null } => {
      if (!s) return { text: '·', state: null };
      const when = s.lastSync?.finishedAt ?? s.lastSync?.startedAt ?? null;
      const share = s.progress ? shareDone(s.progress) : null;
      const prop = s.propagationSeconds ?? null;
      const parts = [s.state, share !== null ? `${Math.floor(share * 100)}%` : "", s.version !== null ? `v${s.version}` : "", s.pin ? 'pinned' : '', when ? formatAge(when, now) : "", prop !== null ? `+${formatDuration(prop * 1000)}` : ""];
      return { text: parts.filter(Boolean).join(' '), state: s.state };
    };
    const rows = doc.mirrors.map((m) => {
      const by = new Map(m.sites.map((s) => [s.site, s]));
      return { name: m.name, cells: sites.map((site) => cellText(by.get(site))), digest: shortDigest(m.treeDigest) };
    });
    const w0 = Math.max('MIRROR'.length, ...rows.map((r) => r.name.length));
    const widths = sites.map((s, i) => Math.max(s.length, ...rows.map((r) => r.cells[i].text.length)));
    lines.push(['MIRROR'.padEnd(w0), ...sites.map((s, i) => s.toUpperCase().padEnd(widths[i])), 'TREE'].join('  '));
    for (const r of rows) {
      const cells = r.cells.map((cell, i) => {
        const padded = cell.text.padEnd(widths[i]);
        return cell.state ? paint(COLOURS[cell.state], padded) : padded;
      });
      lines.push([r.name.padEnd(w0), ...cells, r.digest].join('  '));
    }
    if (doc.mirrors.some((m) => m.sites.some((x) => x.propagationSeconds != null))) {
      lines.push('(+D: propagation, the time from the origin publishing the tree to the site publishing it)');
    }
    // What the source scans left out: Synced does not say that some files are not served.
    const noted = doc.mirrors.filter((m) => m.sourceNotes?.length);
    if (noted.length) {
      lines.push('', 'sources:');
      for (const m of noted) for (const n of m.sourceNotes!) lines.push(`  ${m.name}: ${n}`);
    }
    // Rollouts under way (a Done one says nothing the table does not).
    const rolling = doc.mirrors.filter((m) => m.rollout && m.rollout.state !== 'Done');
    if (rolling.length) {
      lines.push('', 'rollouts:');
      for (const m of rolling) lines.push(`  ${m.name}: ${m.rollout!.state === 'Blocked' ? paint(COLOURS.Blocked, rolloutSummary(m.rollout!, now.toISOString())) : rolloutSummary(m.rollout!, now.toISOString())}`);
    }
  }
  lines.push('');
  const rank = new Map(sites.map((name, i) => [name, i]));
  const siteParts = [...doc.sites].sort((a, b) => (rank.get(a.name) ?? 0) - (rank.get(b.name) ?? 0)).map((s) => {
    const disk = diskText(s);
    const cleaned = cleanupText(s, now);
    const diskPart = (disk ? ` · disk ${s.diskLow ? paint('33', disk) : disk}` : '') + (cleaned ? ` · ${cleaned}` : '');
    if (s.state === 'degraded') return `${s.name} ${paint('33', 'degraded')}${s.message ? `: ${s.message}` : ''}${diskPart}`;
    if (s.reachable) return `${s.name} ${paint('32', 'up')}${s.pulpVersion ? ` (pulp ${s.pulpVersion})` : ''}${diskPart}`;
    return `${s.name} ${paint('31', 'unreachable')}${s.message ? `: ${s.message}` : ''}`;
  });
  lines.push(`sites: ${siteParts.length ? siteParts.join(' · ') : 'none'}`);
  return lines.join('\n') + '\n';
}

export const command: Command = {
  name: 'status',
  summary: 'the network overview in a terminal, from a running controller',
  usage: 'pulpdist status [--server URL] [--json] [--wait [--timeout 10m] [--commit SHA]]',
  options: {
    server: { type: 'string' },
    json: { type: 'boolean' },
    wait: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    commit: { type: 'string' },
  },
  help: `
Reads GET /api/v1/status from a running \`pulpdist run\` and prints every mirror × site: state,
published version and age of the last sync, then whether each site is reachable.

options:
  --server URL  the controller's status endpoint (default ${DEFAULT_SERVER}, its default --listen)
  --json        print the status document itself (schemas/status.schema.json)
  --wait        poll (every 2 s) while the answer would be exit 3, then print and exit; a
                controller not answering yet is retried too
  --timeout D   give up waiting after D (default 10m) and exit with the last answer's code
  --commit SHA  also wait until the controller has applied this spec commit (e.g. in the MR
                pipeline after a merge: --commit "$CI_COMMIT_SHA")

Problems come first, above the table. Colour is used when stdout is a terminal and NO_COLOR is
unset.

exit codes (for scripts):
  0  every mirror Synced (or Suspended) at every site, every site reachable, no spec error
  1  a Failed or Blocked placement, a site unreachable, spec errors, or the controller could not
     be reached
  2  usage error
  3  only on the way: Progressing, Pending or OutOfSync placements (or --commit not applied yet)

examples:
  pulpdist status --server http://mirrors-ctl.example.com:8080
  pulpdist status --wait --timeout 30m --commit "$CI_COMMIT_SHA"
`,
  async run({ values }) {
    const server = typeof values.server === 'string' ? values.server : DEFAULT_SERVER;
    const commit = typeof values.commit === 'string' ? values.commit : undefined;
    if (commit !== undefined && !/^[0-9a-f]{4,40}$/i.test(commit)) throw new UsageError(`--commit must be a commit id (4 to 40 hex digits), got "${commit}"`);
    if (!values.wait && values.timeout !== undefined) throw new UsageError('--timeout only applies with --wait');
    const deadline = Date.now() + (values.wait ? durationOption('timeout', values.timeout, '10m') : 0);
    let doc: StatusDocument;
    let verdict: StatusVerdict;
    for (;;) {
      try {
        doc = await fetchStatus(server, { signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        // A controller that is still starting is worth waiting for; a usage error is not.
        if (!values.wait || err instanceof UsageError || Date.now() >= deadline) throw err;
        await new Promise((r) => setTimeout(r, 2_000));
        continue;
      }
      verdict = statusVerdict(doc, { commit: commit?.toLowerCase() });
      if (!values.wait || verdict.code !== 3 || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    if (values.json) {
      process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
      return verdict.code;
    }
    const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
    process.stdout.write(renderStatusText(doc, { now: new Date(), colour, verdict }));
    return verdict.code;
  },
};
