/**
 * The files of a status commit (DESIGN.md "Status"), rendered from a StatusDocument, and the
 * comparison that decides whether a new commit is worth making. Pure.
 *
 * Layout under `status/`: `mirrors/NAME.yaml`, `sites/NAME.yaml`, `controller.yaml` (commit
 * applied, spec errors) and `README.md` (the human table).
 */
import { siteFileView } from './site-disk.js';
import YAML from 'yaml';
import type { MirrorState, StatusDocument } from '../core/status.js';
import { redact } from '../core/redact.js';

/** The top-level directory of the status branch that pulpdist owns. */
export const STATUS_DIR = 'status';

/**
 * Fields that change on every pass or every no-op sync without saying anything new about the
 * network. A commit is made only when something outside them changes.
 */
export const VOLATILE_KEYS: ReadonlySet<string> = new Set(['startedAt', 'finishedAt', 'lastSeen', 'task', 'downloadedBytes', 'downloadedFiles', 'lastSuccessAt', 'nextSyncAt']);

const HEADER = '# Written by pulpdist after each pass; edits are overwritten.\n';

/** Paths (relative to `status/`) → file text. */
export function renderStatusFiles(doc: StatusDocument): Map<string, string> {
  const files = new Map<string, string>();
  const y = (v: unknown): string => HEADER + redact(YAML.stringify(v, { lineWidth: 0 }));
  files.set('controller.yaml', y(doc.controller));
  for (const s of doc.sites) files.set(`sites/${s.name}.yaml`, y(siteFileView(s)));
  for (const m of doc.mirrors) files.set(`mirrors/${m.name}.yaml`, y(m));
  files.set('README.md', redact(renderReadme(doc)));
  return files;
}

/** True when `next` says something `prev` does not, timestamps aside. README.md is derived, so skipped. */
export function statusChanged(prev: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): boolean {
  const keys = new Set([...prev.keys(), ...next.keys()].filter((k) => k !== 'README.md'));
  for (const k of keys) {
    const a = prev.get(k);
    const b = next.get(k);
    if (a === undefined || b === undefined) return true;
    if (a === b) continue;
    if (canonical(a) !== canonical(b)) return true;
  }
  return false;
}

/** `mirror@site: Old → New` lines between two file sets, for the commit message body. */
export function stateTransitions(prev: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): string[] {
  const states = (files: ReadonlyMap<string, string>): Map<string, MirrorState> => {
    const out = new Map<string, MirrorState>();
    for (const [k, text] of files) {
      if (!k.startsWith('mirrors/')) continue;
      const m = parse(text) as { name?: string; sites?: { site: string; state: MirrorState }[] } | null;
      for (const c of m?.sites ?? []) out.set(`${m?.name}@${c.site}`, c.state);
    }
    return out;
  };
  const a = states(prev);
  const b = states(next);
  const lines: string[] = [];
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(k) !== b.get(k)) lines.push(`${k}: ${a.get(k) ?? '(new)'} → ${b.get(k) ?? '(removed)'}`);
  }
  return lines;
}

function parse(text: string): unknown {
  try {
    return YAML.parse(text);
  } catch {
    return text;
  }
}

/** Sorted-key JSON of the parsed file with volatile fields dropped. */
function canonical(text: string): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) if (!VOLATILE_KEYS.has(k)) out[k] = strip((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(strip(parse(text)));
}

const ICON: Record<MirrorState, string> = { Synced: '✅', Progressing: '🔄', OutOfSync: '⚠️', Failed: '❌', Blocked: '⛔', Pending: '⏳', Suspended: '⏸️' };
const cellText = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The human table: mirrors × sites, then sites, then spec errors. */
export function renderReadme(doc: StatusDocument): string {
  const c = doc.controller;
  const siteNames = doc.sites.map((s) => s.name);
  const lines = [
    '# pulpdist status',
    '',
    `Spec commit applied: \`${c.observedCommit?.slice(0, 12) ?? 'none yet'}\`` +
      (c.specCommit && c.specCommit !== c.observedCommit ? ` (newest seen: \`${c.specCommit.slice(0, 12)}\`)` : ''),
    '',
  ];
  if (c.specErrors.length) {
    lines.push(`**The newest spec commit is invalid and was not applied** (${c.specErrors.length} error${c.specErrors.length > 1 ? 's' : ''}):`, '');
    for (const e of c.specErrors) lines.push(`- \`${e.file}:${e.line}:${e.column}\`: ${cellText(e.message)}`);
    lines.push('');
  }
  lines.push('## Mirrors', '');
  if (doc.mirrors.length === 0) lines.push('No mirrors.', '');
  else {
    lines.push(`| mirror | ${siteNames.map(cellText).join(' | ')} |`, `|---|${siteNames.map(() => '---|').join('')}`);
    for (const m of doc.mirrors) {
      const cells = siteNames.map((s) => {
        const x = m.sites.find((c2) => c2.site === s);
        if (!x) return '·';
        const v = x.version !== null ? ` v${x.version}` : '';
        const d = x.treeDigest ? ` \`${x.treeDigest.slice(0, 12)}\`` : '';
        return `${ICON[x.state]} ${x.state}${v}${d}`;
      });
      lines.push(`| ${cellText(m.name)} | ${cells.join(' | ')} |`);
    }
    lines.push('');
    const problems = doc.mirrors.flatMap((m) => m.sites.filter((x) => x.state !== 'Synced' && x.message).map((x) => `- ${m.name}@${x.site} (${x.state}): ${cellText(x.message)}`));
    if (problems.length) lines.push(...problems, '');
  }
  lines.push('## Sites', '', '| site | upstream | reachable | Pulp | message |', '|---|---|---|---|---|');
  for (const s of doc.sites) {
    lines.push(`| ${cellText(s.name)} | ${s.upstream ?? '—'} | ${s.reachable ? 'yes' : '**no**'} | ${s.pulpVersion ?? '—'} | ${cellText(s.message || '')} |`);
  }
  lines.push('');
  return lines.join('\n');
}
