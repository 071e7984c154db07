/**
 * The plan for people: terraform-like text for a terminal, and Markdown for a merge-request note
 * (a summary table, then one collapsible section per site). Only formats.
 */
import { html } from '../../core/html.js';
import { formatBytes } from '../../core/units.js';
import { bySite, entryLine, showValue, summaryLine } from '../../reconcilers/plan-document.js';
import type { Plan, PlanEntry, PlanSite } from '../../reconcilers/plan-types.js';

function siteHeading(s: PlanSite): string {
  if (!s.reachable) return `site ${s.name}: ${s.message}`;
  return `site ${s.name} (${s.embedded ? 'pulpdist site' : 'Pulp'}${s.pulpVersion ? ' ' + s.pulpVersion : ''})`;
}

function changeLines(e: PlanEntry, indent: string): string[] {
  if (!e.changes?.length) return [];
  if (e.action === 'create') return e.changes.map((c) => `${indent}${c.field}: ${showValue(c.to)}`);
  return e.changes.map((c) => `${indent}${c.field}: ${showValue(c.from)} → ${showValue(c.to)}`);
}

function noChanges(plan: Plan): string {
  const waiting = plan.entries.filter((e) => e.action === 'noop').length;
  return waiting ? `No changes can be made now (${waiting} waiting).` : 'No changes: every site matches the specs.';
}

/** Terminal text: grouped by site, `+`/`~`/`-`/`>` marks, field diffs, estimates, then the summary line. */
export function renderText(plan: Plan): string {
  const out: string[] = [];
  for (const { site, entries } of bySite(plan)) {
    out.push(siteHeading(site));
    if (site.reachable && entries.length === 0) out.push('  (no changes)');
    for (const e of entries) {
      out.push(`  ${entryLine(e)}`);
      out.push(...changeLines(e, '      '));
    }
    out.push('');
  }
  for (const w of plan.warnings) out.push(`warning: ${w}`);
  if (plan.warnings.length) out.push('');
  const s = plan.summary;
  out.push(s.create + s.update + s.delete + s.sync + s.publish > 0 ? summaryLine(s) : noChanges(plan));
  return out.join('\n') + '\n';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Markdown for a merge-request note: a summary table, warnings, then a `<details>` section per site. */
export function renderMarkdown(plan: Plan, opts: { title?: string } = {}): string {
  const s = plan.summary;
  const changed = s.create + s.update + s.delete + s.sync + s.publish > 0;
  const out: string[] = [`### ${opts.title ?? 'pulpdist plan'}`, '', `**${changed ? summaryLine(s) : noChanges(plan)}**`, ''];
  out.push('| site | state | create | update | delete | sync | moving |', '|---|---|---:|---:|---:|---:|---:|');
  const groups = bySite(plan);
  for (const { site, entries } of groups) {
    const n = (a: string) => entries.filter((e) => e.action === a).length;
    const bytes = entries.reduce((t, e) => t + (e.estimate?.bytes ?? 0), 0);
    const state = site.reachable ? (site.embedded ? 'pulpdist site' : `Pulp ${site.pulpVersion ?? ''}`.trim()) : '**unreachable**';
    out.push(`| ${cell(site.name)} | ${cell(state)} | ${n('create')} | ${n('update')} | ${n('delete')} | ${n('sync')} | ${formatBytes(bytes)} |`);
  }
  out.push('');
  for (const w of plan.warnings) out.push(`> :warning: ${cell(w)}`, '');
  for (const { site, entries } of groups) {
    if (!site.reachable) {
      out.push(`**${cell(site.name)}**: ${cell(site.message)}`, '');
      continue;
    }
    if (entries.length === 0) continue;
    out.push(html`<details><summary><b>${site.name}</b>: ${entries.length} change${entries.length === 1 ? '' : 's'}</summary>`.text, '', '```diff');
    for (const e of entries) {
      // diff fences colour `+`/`-` lines; other marks stay neutral.
      out.push(entryLine(e).replace(/^>/, '!').replace(/^\^/, '!').replace(/^=/, '#'));
      out.push(...changeLines(e, '    '));
    }
    out.push('```', '', '</details>', '');
  }
  return out.join('\n');
}
