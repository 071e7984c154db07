/**
 * `pulpdist status [--server URL] [--json]`: the overview of a running controller in a terminal,
 * read from its `GET /api/v1/status`. The table is coloured only when stdout is a terminal and
 * NO_COLOR is unset (https://no-color.org).
 */
import type { Command } from '../command.js';
import { PulpdistError, UsageError, messageOf } from '../../core/errors.js';
import { outboundPolicy, policyFetch } from '../../core/outbound.js';
import { redactUrl } from '../../core/redact.js';
import type { MirrorSiteStatus, MirrorState, StatusDocument } from '../../core/status.js';
import { formatAge, shortCommit, shortDigest } from '../../status/format.js';
import { computeTopology, siteOrder } from '../../web/topology.js';

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
  Pending: '90',
  Suspended: '35',
};

/** The terminal table: a header, a row per mirror with one column per site, and the sites line. */
export function renderStatusText(doc: StatusDocument, opts: { now: Date; colour: boolean }): string {
  const { now, colour } = opts;
  const paint = (code: string, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const c = doc.controller;
  const lines: string[] = [];
  const pass = c.lastPass
    ? `last pass ${c.lastPass.result} ${formatAge(c.lastPass.finishedAt ?? c.lastPass.startedAt, now)} ago`
    : 'no pass yet';
  lines.push(`pulpdist ${c.version} · spec ${shortCommit(c.observedCommit)} applied · ${pass}`);
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
      const parts = [s.state, s.version !== null ? `v${s.version}` : '', when ? formatAge(when, now) : ''];
      return { text: parts.filter(Boolean).join(' '), state: s.state };
    };
    const rows = doc.mirrors.map((m) => {
      const by = new Map(m.sites.map((s) => [s.site, s]));
      return { name: m.name, cells: sites.map((site) => cellText(by.get(site))), digest: shortDigest(m.treeDigest) };
    });
    const w0 = Math.max('MIRROR'.length, ...rows.map((r) => r.name.length));
    const widths = sites.map((s, i) => Math.max(s.length, ...rows.map((r) => r.cells[i]!.text.length)));
    lines.push(['MIRROR'.padEnd(w0), ...sites.map((s, i) => s.toUpperCase().padEnd(widths[i]!)), 'TREE'].join('  '));
    for (const r of rows) {
      const cells = r.cells.map((cell, i) => {
        const padded = cell.text.padEnd(widths[i]!);
        return cell.state ? paint(COLOURS[cell.state], padded) : padded;
      });
      lines.push([r.name.padEnd(w0), ...cells, r.digest].join('  '));
    }
  }
  lines.push('');
  const rank = new Map(sites.map((name, i) => [name, i]));
  const siteParts = [...doc.sites].sort((a, b) => (rank.get(a.name) ?? 0) - (rank.get(b.name) ?? 0)).map((s) => {
    if (s.reachable) return `${s.name} ${paint('32', 'up')}${s.pulpVersion ? ` (pulp ${s.pulpVersion})` : ''}`;
    return `${s.name} ${paint('31', 'unreachable')}${s.message ? `: ${s.message}` : ''}`;
  });
  lines.push(`sites: ${siteParts.length ? siteParts.join(' · ') : 'none'}`);
  return lines.join('\n') + '\n';
}

export const command: Command = {
  name: 'status',
  summary: 'the network overview in a terminal, from a running controller',
  usage: 'pulpdist status [--server URL] [--json]',
  options: {
    server: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: `
Reads GET /api/v1/status from a running \`pulpdist run\` and prints every mirror × site: state,
published version and age of the last sync, then whether each site is reachable.

options:
  --server URL  the controller's status endpoint (default ${DEFAULT_SERVER}, its default --listen)
  --json        print the status document itself (schemas/status.schema.json)

Colour is used when stdout is a terminal and NO_COLOR is unset.

exit codes: 0 printed; 1 the controller could not be reached; 2 usage.

example:
  pulpdist status --server http://mirrors-ctl.example.com:8080
`,
  async run({ values }) {
    const server = typeof values.server === 'string' ? values.server : DEFAULT_SERVER;
    const doc = await fetchStatus(server, { signal: AbortSignal.timeout(10_000) });
    if (values.json) {
      process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
      return 0;
    }
    const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
    process.stdout.write(renderStatusText(doc, { now: new Date(), colour }));
    return 0;
  },
};
