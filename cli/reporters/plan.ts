/**
 * The plan for people: terraform-like text for a terminal, and Markdown for a merge-request note
 * (a summary table, one line per mirror, then the details folded). Only formats.
 */
import { html } from '../../core/html.js';
import { formatBytes } from '../../core/units.js';
import { diskLine } from '../../reconcilers/site-health.js';
import { bySite, entryLine, incompleteLine, markOf, showValue, summaryLine } from '../../reconcilers/plan-document.js';
import type { Plan, PlanEntry, PlanSite } from '../../reconcilers/plan-types.js';

function siteHeading(s: PlanSite): string {
  if (!s.reachable) return `site ${s.name}: ${s.message}`;
  return `site ${s.name} (${s.embedded ? 'pulpdist site' : 'Pulp'}${s.pulpVersion ? ' ' + s.pulpVersion : ''})${s.message ? `: ${s.message}` : ''}`;
}

function changeLines(e: PlanEntry, indent: string): string[] {
  if (!e.changes?.length) return [];
  if (e.action === 'create') return e.changes.map((c) => `${indent}${c.field}: ${showValue(c.to)}`);
  return e.changes.map((c) => `${indent}${c.field}: ${showValue(c.from)} → ${showValue(c.to)}`);
}

function noChanges(plan: Plan): string {
  const waiting = plan.entries.filter((e) => e.action === 'noop').length;
  if (waiting) return `No changes can be made now (${waiting} waiting).`;
  // "every site matches" only when every site was seen: an unobserved one may differ in anything.
  return incompleteLine(plan) ? 'No changes at the sites that were observed.' : 'No changes: every site matches the specs.';
}

/** ` (held)` after a delete the mass-delete guard holds: listed, but apply will not run it. */
function heldMark(plan: Plan, e: PlanEntry): string {
  return plan.blockedDeletes && e.action === 'delete' ? ' (held)' : '';
}

/** After the summary: the deletes it counts will not run until approved (the warning says how). */
function heldNote(plan: Plan): string {
  return plan.blockedDeletes ? `; the ${plan.summary.delete} deletes are held by the mass-delete guard` : '';
}

/** Which controller's objects the plan is about: the id people pass to another spec set's `--controller-id`. */
function controllerLine(id: string): string {
  return `controller ${id} (its objects carry the label pulpdist_controller=${id})`;
}

/** Terminal text: grouped by site, `+`/`~`/`-`/`>` marks, field diffs, estimates, then the summary line. */
export function renderText(plan: Plan): string {
  const out: string[] = [];
  if (plan.controller) out.push(controllerLine(plan.controller), '');
  for (const { site, entries } of bySite(plan)) {
    out.push(siteHeading(site));
    const disk = diskLine(site);
    if (disk) out.push(`  ${disk}`);
    if (site.reachable && entries.length === 0) out.push('  (no changes)');
    for (const e of entries) {
      out.push(`  ${entryLine(e)}${heldMark(plan, e)}`);
      out.push(...changeLines(e, '      '));
    }
    out.push('');
  }
  for (const w of plan.warnings) out.push(`warning: ${w}`);
  if (plan.warnings.length) out.push('');
  for (const r of plan.rollouts ?? []) out.push(`rollout ${r.mirror}:`, ...r.lines.map((l) => `  ${l}`), '');
  const s = plan.summary;
  const incomplete = incompleteLine(plan);
  if (incomplete) out.push(incomplete);
  out.push(s.create + s.update + s.delete + s.sync + s.publish > 0 ? summaryLine(s) + heldNote(plan) : noChanges(plan));
  return out.join('\n') + '\n';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** GitLab refuses a note over 1,000,000 characters; the CI job adds a marker and a footer. */
export const NOTE_LIMIT = 1_000_000;
const FOOTER_RESERVE = 2_000;

export interface MarkdownOptions {
  /** @default 'pulpdist plan' */
  title?: string;
  /** The note is cut (with a pointer to the full plan) to stay under this many characters. @default NOTE_LIMIT */
  maxChars?: number;
}

/** `+3 > 22.9 KiB`: what happens to one mirror at one site, in the marks of the legend. */
function siteTokens(entries: PlanEntry[]): string {
  const count = (m: string) => entries.filter((e) => markOf(e) === m).length;
  const parts: string[] = [];
  for (const m of ['+', '~', '-']) if (count(m)) parts.push(`${m}${count(m)}`);
  const syncs = entries.filter((e) => e.action === 'sync');
  if (syncs.length) parts.push(`> ${formatBytes(syncs.reduce((t, e) => t + (e.estimate?.bytes ?? 0), 0))}`);
  if (count('^')) parts.push('^');
  if (count('=')) parts.push('= waiting');
  return parts.join(' ');
}

/**
 * Markdown for a merge-request note: the summary, a table per site, warnings, then one line per
 * mirror (what changes where, bytes per site), and every entry's details folded below. Cut to
 * `maxChars` with a pointer to the full plan, so that 1,000 mirrors still make one note.
 */
export function renderMarkdown(plan: Plan, opts: MarkdownOptions = {}): string {
  const s = plan.summary;
  const changed = s.create + s.update + s.delete + s.sync + s.publish > 0;
  const incomplete = incompleteLine(plan);
  const head: string[] = [`### ${opts.title ?? 'pulpdist plan'}`, '', ...(plan.controller ? [cell(controllerLine(plan.controller)), ''] : []), ...(incomplete ? [`> :x: **${incomplete}**`, ''] : []), `**${changed ? summaryLine(s) + heldNote(plan) : noChanges(plan)}**`, ''];
  head.push('| site | state | server | create | update | delete | sync | moving |', '|---|---|---|---:|---:|---:|---:|---:|');
  const groups = bySite(plan);
  for (const { site, entries } of groups) {
    const n = (a: string) => entries.filter((e) => e.action === a).length;
    const bytes = entries.reduce((t, e) => t + (e.estimate?.bytes ?? 0), 0);
    const server = site.reachable ? (site.embedded ? 'pulpdist site' : 'Pulp') + (site.pulpVersion ? ` ${site.pulpVersion}` : '') : '—';
    head.push(`| ${cell(site.name)} | ${!site.reachable ? '**unreachable**' : site.health === 'degraded' ? '**degraded**' : 'reachable'} | ${cell(server)} | ${n('create')} | ${n('update')} | ${n('delete')} | ${n('sync')} | ${formatBytes(bytes)} |`);
  }
  head.push('');
  for (const w of plan.warnings) head.push(`> :warning: ${cell(w)}`, '');
  for (const r of plan.rollouts ?? []) head.push(`**rollout ${cell(r.mirror)}**`, '', ...r.lines.map((l) => `- ${cell(l)}`), '');
  for (const { site } of groups) if (!site.reachable) head.push(`**${cell(site.name)}**: ${cell(site.message)}`, '');
  for (const { site } of groups) {
    const disk = diskLine(site);
    if (site.reachable && (site.message || disk)) head.push(`**${cell(site.name)}**: ${cell([site.message, disk].filter(Boolean).join('; '))}`, '');
  }

  // One line per mirror, in plan order; sites in the plan's order (upstream first).
  const byMirror = new Map<string, PlanEntry[]>();
  for (const e of plan.entries) {
    const list = byMirror.get(e.mirror) ?? [];
    list.push(e);
    byMirror.set(e.mirror, list);
  }
  const mirrorLines = [...byMirror.entries()].map(([mirror, entries]) => {
    const where = groups.map(({ site }) => [site.name, entries.filter((e) => e.site === site.name)] as const).filter(([, es]) => es.length);
    return `- **${cell(mirror)}**: ${where.map(([name, es]) => `${cell(name)} \`${siteTokens(es)}\``).join(' · ')}`;
  });
  const details: { heading: string[]; entries: string[][] }[] = [];
  for (const { site, entries } of groups) {
    if (!site.reachable || entries.length === 0) continue;
    details.push({
      heading: [`**${html`${site.name}`.text}**: ${entries.length} change${entries.length === 1 ? '' : 's'}`, '', '```diff'],
      // diff fences colour `+`/`-` lines; the other marks become neutral ones (legend in docs/plan-apply.md).
      entries: entries.map((e) => [(entryLine(e) + heldMark(plan, e)).replace(/^>/, '!').replace(/^\^/, '!').replace(/^=/, '#'), ...changeLines(e, '    ')]),
    });
  }

  const limit = (opts.maxChars ?? NOTE_LIMIT) - FOOTER_RESERVE;
  const out = [...head];
  let size = out.reduce((t, l) => t + l.length + 1, 0);
  const fits = (lines: string[]) => size + lines.reduce((t, l) => t + l.length + 1, 0) <= limit;
  const add = (lines: string[]) => {
    out.push(...lines);
    size += lines.reduce((t, l) => t + l.length + 1, 0);
  };
  const cut = (what: string) =>
    `\n**Truncated** to stay under GitLab's note size limit: ${what}. The full plan is in the job's artifacts (\`pulpdist plan --format text\` or \`--json\`), or run \`pulpdist plan\` locally.\n`;
  if (mirrorLines.length) {
    add(['**Mirrors** (`+` create, `~` update, `-` delete, `>` sync moving, `^` publish, `=` waiting):', '']);
    for (const [i, line] of mirrorLines.entries()) {
      if (!fits([line])) {
        add([cut(`${i} of ${mirrorLines.length} mirrors shown, details left out`)]);
        return out.join('\n');
      }
      add([line]);
    }
    add(['']);
  }
  if (details.length) {
    add(['<details><summary>Every change, by site</summary>', '']);
    const total = details.reduce((t, d) => t + d.entries.length, 0);
    let shown = 0;
    const close = ['```', ''];
    const tail = ['</details>', ''];
    for (const d of details) {
      if (!fits([...d.heading, ...close, ...tail, cut('x'.repeat(60))])) {
        add([cut(`${shown} of ${total} changes detailed`), ...tail]);
        return out.join('\n');
      }
      add(d.heading);
      for (const lines of d.entries) {
        if (!fits([...lines, ...close, ...tail, cut('x'.repeat(60))])) {
          add([...close, cut(`${shown} of ${total} changes detailed`), ...tail]);
          return out.join('\n');
        }
        add(lines);
        shown++;
      }
      add(close);
    }
    add(tail);
  }
  return out.join('\n');
}
