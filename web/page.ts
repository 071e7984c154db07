/**
 * The HTML overview served at `GET /`: one self-contained page (no external assets, so it works
 * offline and under a strict Content-Security-Policy) that a person reads at a glance. Pure: the
 * status document and the time in, markup out. Every piece of text from the document is escaped.
 *
 * State is always written as text as well as shown by colour, and the grid is a real table with
 * header cells, so the page reads the same to a screen reader and to someone who cannot tell red
 * from green.
 */
import { createHash } from 'node:crypto';
import { html, joinHtml, trusted, type Html } from '../core/html.js';
import { STATE_ORDER, type MirrorSiteStatus, type MirrorStatus, type StatusDocument, type SyncProgress } from '../core/status.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { rolloutSummary } from '../reconcilers/rollout-view.js';
import { STATE_COLOURS, formatAge, progressFigures, shareDone, shortCommit, shortDigest, spanMs } from '../status/format.js';
import { cleanupText, diskText, healthWord } from '../status/site-disk.js';
import { DEFAULT_ROWS, isFiltered, parseView, selectRows, toggleOpen, viewQuery, type PageView } from './page-view.js';
import type { MirrorHistory } from '../status/sync-history.js';
import { computeTopology, renderTopologySvg, siteOrder } from './topology.js';

export interface PageOptions {
  /** The time ages are measured against. */
  now: Date;
  /** How often the page refreshes itself. @default 2 while a pass runs, else 5 */
  refreshSeconds?: number;
  /** Which mirrors to draw (web/page-view.ts, from the URL). @default every mirror, problems first, the first 100 */
  view?: PageView;
  /** A mirror's recent syncs, for an expanded row (status/sync-history.ts); absent: its last sync only. */
  history?: (mirror: string) => MirrorHistory | undefined;
  /** With several replicas (`--lease`): `active`, or `standby (the active replica is …)`. */
  role?: string;
}

/** The whole page. */
export function renderStatusPage(doc: StatusDocument, options: PageOptions): string {
  // While a pass runs its syncs move: the page follows the document's live refresh more closely.
  const { now, refreshSeconds = doc.controller.lastPass?.result === 'running' ? 2 : 5, view = parseView(new URLSearchParams()), history, role } = options;
  const topology = computeTopology(doc);
  const order = siteOrder(topology);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${titleOf(doc)}</title>
<link rel="icon" href="data:,">
<noscript><meta http-equiv="refresh" content="${refreshSeconds}"></noscript>
<style>${trusted(CSS)}</style>
</head>
<body>
<main id="status" data-refresh="${refreshSeconds}">
${renderHeader(doc, now, role)}
${renderGrid(doc, order, now, view, history)}
<section aria-labelledby="topology-h"><h2 id="topology-h">Topology</h2>
${renderTopologySvg(topology)}
${renderLegend()}
</section>
${renderSites(doc, order, now)}
</main>
<script>${trusted(SCRIPT)}</script>
</body>
</html>
`.text;
}

/** The tab title: what someone with many tabs open needs, e.g. `pulpdist — 7/9 synced, 1 failed`. */
function titleOf(doc: StatusDocument): string {
  let total = 0;
  let synced = 0;
  let failed = 0;
  let blocked = 0;
  for (const m of doc.mirrors) {
    for (const s of m.sites) {
      total++;
      if (s.state === 'Synced') synced++;
      if (s.state === 'Failed') failed++;
      if (s.state === 'Blocked') blocked++;
    }
  }
  const errs = doc.controller.specErrors.length;
  const parts = [`${synced}/${total} synced`];
  if (failed) parts.push(`${failed} failed`);
  if (blocked) parts.push(`${blocked} blocked`);
  if (errs) parts.push(`${errs} spec error${errs === 1 ? '' : 's'}`);
  return `pulpdist — ${parts.join(', ')}`;
}

function renderHeader(doc: StatusDocument, now: Date, role: string | undefined): Html {
  const c = doc.controller;
  const parts: Html[] = [];
  parts.push(html`<header><h1>pulpdist</h1><dl class="summary">`);
  parts.push(html`<div><dt>Spec commit applied</dt><dd><code class="commit" title="${c.observedCommit ?? 'none yet'}">${shortCommit(c.observedCommit)}</code></dd></div>`);
  if (c.specCommit && c.specCommit !== c.observedCommit) {
    parts.push(html`<div><dt>Newest spec commit</dt><dd><code title="${c.specCommit}">${shortCommit(c.specCommit)}</code>${c.specErrors.length ? html` <strong class="bad">not applied</strong>` : ''}</dd></div>`);
  }
  const p = c.lastPass;
  if (p) {
    const dur = spanMs(p.startedAt, p.finishedAt);
    const when = p.finishedAt ?? p.startedAt;
    parts.push(
      html`<div><dt>Last pass</dt><dd class="pass-${p.result}">${p.result}${p.result === 'running' ? html` for ${age(p.startedAt, now)}` : html`, ${age(when, now)} ago`}${dur !== null ? ` (${formatDuration(dur)})` : ''}</dd></div>`,
    );
  } else {
    parts.push(html`<div><dt>Last pass</dt><dd>none yet</dd></div>`);
  }
  parts.push(html`<div><dt>Controller</dt><dd>${c.version}, up ${age(c.startedAt, now)}</dd></div>`);
  if (role) parts.push(html`<div><dt>Replica</dt><dd class="replica">${role}</dd></div>`);
  parts.push(html`</dl>`);
  parts.push(renderCounts(doc));
  if (c.specErrors.length) {
    parts.push(html`<section class="spec-errors" aria-labelledby="spec-errors-h"><h2 id="spec-errors-h">Spec errors (${c.specErrors.length}) — the last valid commit stays in force</h2><ul>`);
    for (const se of c.specErrors) {
      parts.push(html`<li><code>${`${se.file}:${se.line}:${se.column}`}</code>: ${se.message}</li>`);
    }
    parts.push(html`</ul></section>`);
  }
  parts.push(html`</header>`);
  return joinHtml(parts, '\n');
}

/** How many mirror × site cells are in each state, worst first: the one line to read first. */
function renderCounts(doc: StatusDocument): Html {
  const counts = new Map<string, number>();
  for (const m of doc.mirrors) for (const s of m.sites) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const items = STATE_ORDER.filter((st) => counts.has(st)).map((st) => html`<li class="count state-${st}"><a href="${`/?state=${st}`}"><strong>${counts.get(st)}</strong> ${st}</a></li>`);
  return html`<ul class="counts" aria-label="Mirror × site states">${items.length ? items : html`<li>no mirrors</li>`}</ul>`;
}

/** An age as a <time> the page script keeps current between refreshes. */
function age(iso: string | null, now: Date): Html | string {
  if (!iso) return '—';
  return html`<time datetime="${iso}" data-age>${formatAge(iso, now)}</time>`;
}

/** `sites`: every site, upstream first; it includes any site a mirror names that the site list lacks, so no cell is hidden. */
function renderGrid(doc: StatusDocument, sites: string[], now: Date, view: PageView, history: PageOptions['history']): Html {
  const out: Html[] = [];
  out.push(html`<section aria-labelledby="grid-h"><h2 id="grid-h">Mirrors × sites</h2>`);
  if (doc.mirrors.length === 0) {
    out.push(html`<p class="empty">No mirrors yet: add a Mirror document to the spec repository and commit it.</p></section>`);
    return joinHtml(out, '\n');
  }
  const { rows, matched } = selectRows(doc, view);
  out.push(renderFilters(view));
  const more = matched > rows.length ? html` · <a href="${`/${viewQuery(view, { limit: 'all' })}`}">show all ${matched}</a>` : '';
  out.push(html`<p class="shown">Showing ${rows.length} of ${matched}${isFiltered(view) ? ` matching (${doc.mirrors.length} in all)` : ''} mirrors, problems first${more}</p>`);
  if (rows.length === 0) {
    out.push(html`<p class="empty">No mirror matches: <a href="/">clear the filters</a>.</p></section>`);
    return joinHtml(out, '\n');
  }
  out.push(html`<div class="grid-wrap"><table class="grid"><thead><tr><th scope="col">Mirror</th>`);
  for (const s of sites) out.push(html`<th scope="col">${s}</th>`);
  out.push(html`</tr></thead><tbody>`);
  for (const m of rows) {
    const bySite = new Map(m.sites.map((s) => [s.site, s]));
    const open = view.open.includes(m.name);
    const toggle = html`<a class="mname" href="${`/${toggleOpen(view, m.name)}`}" aria-expanded="${open ? 'true' : 'false'}" title="${open ? 'hide' : 'show'} its recent syncs">${open ? '▾' : '▸'} ${m.name}</a>`;
    out.push(html`<tr data-mirror="${m.name}"><th scope="row">${toggle}<span class="sub">from ${m.origin} · <code title="tree digest at the source: ${m.treeDigest ?? 'unknown'}">${shortDigest(m.treeDigest)}</code>${m.nextSyncAt ? html` · <span class="due" title="${`next scheduled sync: ${m.nextSyncAt}`}">next sync ${dueIn(m.nextSyncAt, now)}</span>` : ''}${m.rollout ? html` · <span class="rollout" data-rollout="${m.rollout.state}" title="${m.rollout.reason}">${rolloutSummary(m.rollout, now.toISOString())}</span>` : ''}${m.sourceNotes?.length ? html` · <span class="notes" title="${m.sourceNotes.join('\n')}">${sourceNotesSummary(m.sourceNotes)}</span>` : ''}</span></th>`);
    for (const site of sites) {
      const s = bySite.get(site);
      out.push(s ? renderCell(m.name, s, m.treeDigest, now) : html`<td class="na" aria-label="not carried">·</td>`);
    }
    out.push(html`</tr>`);
    if (open) out.push(renderHistory(m, history?.(m.name), sites.length + 1, now));
  }
  out.push(html`</tbody></table></div></section>`);
  return joinHtml(out, '\n');
}

/** `in 3.0h`, or `due` once the time has come (the next pass takes it). */
/** The notes of a mirror's source scan, short ("3 files left out · 2 symlinks followed"); the whole text is the title. */
function sourceNotesSummary(notes: readonly string[]): string {
  return notes.map((n) => n.split(': ')[0]).join(' · ');
}

function dueIn(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime();
  return Number.isFinite(ms) && ms > 0 ? `in ${formatDuration(ms)}` : 'due';
}

/** An expanded row: per site, its recent syncs, newest first (the last one only without a history). */
function renderHistory(m: MirrorStatus, history: MirrorHistory | undefined, span: number, now: Date): Html {
  const rows: Html[] = [];
  for (const c of [...m.sites].sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0))) {
    const syncs = history?.[c.site] ?? (c.lastSync ? [c.lastSync] : []);
    if (syncs.length === 0) rows.push(html`<tr><th scope="row">${c.site}</th><td colspan="5">no sync yet</td></tr>`);
    for (const [i, s] of syncs.entries()) {
      const took = spanMs(s.startedAt, s.finishedAt);
      rows.push(
        html`<tr>${i === 0 ? html`<th scope="row" rowspan="${syncs.length}">${c.site}</th>` : ''}<td class="${s.result === 'completed' ? 'ok' : s.result ? 'bad' : ''}">${s.result ?? 'running'}</td><td>${s.finishedAt ? html`${age(s.finishedAt, now)} ago` : '—'}</td><td>${took !== null ? formatDuration(took) : '—'}</td><td>${s.downloadedBytes !== null ? formatBytes(s.downloadedBytes) : '—'}${s.downloadedFiles !== null ? ` in ${s.downloadedFiles} files` : ''}</td><td><code>${s.task ?? ''}</code></td></tr>`,
      );
    }
  }
  return html`<tr class="history" data-history="${m.name}"><td colspan="${span}"><table><caption>Recent syncs of ${m.name}</caption><thead><tr><th scope="col">Site</th><th scope="col">Result</th><th scope="col">Finished</th><th scope="col">Took</th><th scope="col">Moved</th><th scope="col">Task</th></tr></thead><tbody>${rows}</tbody></table></td></tr>`;
}

/** The filter form: a GET of the page itself, so a filtered view is a link to share. */
function renderFilters(view: PageView): Html {
  const checked = new Set(view.states);
  const boxes = STATE_ORDER.map((st) => html`<label class="state-${st}"><input type="checkbox" name="state" value="${st}"${checked.has(st) ? trusted(' checked') : ''}> ${st}</label>`);
  const labels = view.labels.map((l) => (l.value === null ? l.key : `${l.key}=${l.value}`)).join(',');
  return joinHtml([
    html`<form class="filters" method="get" action="/" role="search" aria-label="Filter mirrors">`,
    html`<fieldset><legend>State</legend>${boxes}</fieldset>`,
    html`<label>Mirror <input type="search" name="q" value="${view.name}" placeholder="name contains"></label>`,
    html`<label>Label <input type="text" name="label" value="${labels}" placeholder="key=value,key"></label>`,
    view.limit !== DEFAULT_ROWS ? html`<input type="hidden" name="limit" value="${String(view.limit)}">` : '',
    view.open.map((o) => html`<input type="hidden" name="open" value="${o}">`),
    html`<button type="submit">Filter</button>${isFiltered(view) ? html` <a href="/">clear</a>` : ''}`,
    view.ignored.length ? html`<p class="bad">Not understood in the address: ${view.ignored.join('; ')}</p>` : '',
    html`</form>`,
  ]);
}

function renderCell(mirror: string, s: MirrorSiteStatus, wanted: string | null, now: Date): Html {
  const last = s.lastSync;
  const when = last?.finishedAt ?? last?.startedAt ?? null;
  const prop = s.propagationSeconds ?? null;
  const title = [`${mirror} at ${s.site}: ${s.state}`, s.message, last?.result ? `last sync ${last.result}` : '', prop !== null ? `published here ${formatDuration(prop * 1000)} after the origin` : ''].filter(Boolean).join(' — ');
  // A pinned site serves another tree on purpose: not stale.
  const stale = !s.pin && wanted && s.treeDigest && s.treeDigest !== wanted ? ' stale' : '';
  return joinHtml([
    html`<td class="cell state-${s.state}" data-site="${s.site}" data-state="${s.state}" title="${title}">`,
    html`<span class="state">${s.state}</span>`,
    html`<span class="ver">${s.version !== null ? `v${s.version}` : 'no version'} · ${when ? html`${age(when, now)} ago` : 'never synced'}${prop !== null ? html` · <span class="prop" title="propagation: from the origin publishing this tree to this site publishing it">⇢ ${formatDuration(prop * 1000)}</span>` : ''}${s.pin ? html` · <span class="pin" title="${s.pin.why}">pinned</span>` : ''}</span>`,
    html`<code class="digest${stale}"${stale ? html` title="not the tree the origin publishes"` : ''}>${shortDigest(s.treeDigest)}</code>`,
    s.progress ? renderProgress(s.progress) : '',
    html`</td>`,
  ]);
}

/** A running sync: a bar by bytes (files where bytes are unknown) and its figures as text. */
function renderProgress(p: SyncProgress): Html {
  const share = shareDone(p);
  const pct = share === null ? null : Math.floor(share * 100);
  const line = progressFigures(p);
  return joinHtml([
    share === null
      ? html`<progress class="sync" aria-label="sync progress, total unknown"></progress>`
      : html`<progress class="sync" max="1000" value="${Math.round(share * 1000)}" aria-label="sync ${pct}% done">${pct}%</progress>`,
    html`<span class="prog">${pct === null ? '' : `${pct}% · `}${line}</span>`,
  ]);
}

function renderLegend(): Html {
  const items = Object.keys(STATE_COLOURS).map((s) => html`<li><span class="swatch state-${s}"></span>${s}</li>`);
  return html`<ul class="legend" aria-label="State colours">${items}<li><span class="swatch unreach"></span>unreachable site</li></ul>`;
}

function renderSites(doc: StatusDocument, order: string[], now: Date): Html {
  const out: Html[] = [];
  out.push(html`<section aria-labelledby="sites-h"><h2 id="sites-h">Sites</h2><table class="sites"><thead><tr>`);
  for (const h of ['Site', 'Reachable', 'Upstream', 'Pulp', 'Disk', 'Last seen', 'URL', 'Message']) out.push(html`<th scope="col">${h}</th>`);
  out.push(html`</tr></thead><tbody>`);
  const rank = new Map(order.map((name, i) => [name, i]));
  for (const s of [...doc.sites].sort((a, b) => (rank.get(a.name) ?? 0) - (rank.get(b.name) ?? 0))) {
    out.push(
      html`<tr data-site="${s.name}"><th scope="row">${s.name}</th><td class="${{ yes: 'ok', degraded: 'warn', no: 'bad' }[healthWord(s)]}">${healthWord(s)}</td><td>${s.upstream ?? '—'}</td><td>${s.pulpVersion ?? '—'}</td><td class="disk${s.diskLow ? ' warn' : ''}">${diskText(s) ?? '—'}${cleanupText(s, now) ? html`<br><small>${cleanupText(s, now)}</small>` : ''}</td><td>${s.lastSeen ? html`${age(s.lastSeen, now)} ago` : 'never'}</td><td><code>${s.url}</code></td><td>${s.message}</td></tr>`,
    );
  }
  out.push(html`</tbody></table></section>`);
  return joinHtml(out, '\n');
}

const STATE_CSS = Object.entries(STATE_COLOURS)
  .map(([s, c]) => `.state-${s}{background:${c.bg};color:${c.fg};border-left:4px solid ${c.line}}.swatch.state-${s}{border:2px solid ${c.line}}`)
  .join('');

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff}
main{padding:16px 24px;max-width:1400px}
h1{margin:0 0 8px;font-size:22px}
h2{font-size:16px;margin:20px 0 8px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.summary{display:flex;flex-wrap:wrap;gap:8px 28px;margin:0}
.summary dt{font-size:12px;color:#59636e}
.summary dd{margin:0;font-weight:600}
.pass-failed,.bad{color:#cf222e}
.pass-running{color:#0969da}
.ok{color:#1a7f37}
.warn{color:#9a6700;font-weight:600}
.spec-errors{border:1px solid #cf222e;background:#fff5f5;border-radius:6px;padding:4px 12px;margin-top:12px}
.spec-errors h2{color:#82071e;margin:6px 0}
.spec-errors ul{margin:4px 0 8px;padding-left:20px}
.grid-wrap{overflow-x:auto}
table{border-collapse:separate;border-spacing:3px}
.grid th[scope=col]{text-align:left;padding:4px 8px;font-size:13px}
.grid th[scope=row]{text-align:left;padding:4px 8px;font-weight:600;white-space:nowrap}
.grid .sub{display:block;font-weight:400;font-size:12px;color:#59636e}
.cell{min-width:150px;padding:4px 8px;border-radius:4px;vertical-align:top;cursor:default}
.cell span,.cell code{display:block}
.cell .state{font-weight:700}
.cell .ver{font-size:12px}
.cell progress.sync{display:block;width:100%;height:8px;margin-top:3px}
.cell .prog{font-size:11px}
.digest.stale{text-decoration:line-through dotted}
.na{color:#8c959f;text-align:center}
.sites th,.sites td{text-align:left;padding:3px 10px;border-bottom:1px solid #d1d9e0}
svg.topology{max-width:100%;height:auto;font:13px system-ui,sans-serif}
.node-name{font-weight:700}
.node-sub,.edge-label{font-size:11px}
.edge-label{fill:#59636e}
.counts{list-style:none;display:flex;flex-wrap:wrap;gap:8px;padding:0;margin:12px 0 0}
.count{padding:3px 10px;border-radius:4px;font-size:13px}
.count a{color:inherit;text-decoration:none}
.filters{display:flex;flex-wrap:wrap;align-items:center;gap:6px 14px;margin:0 0 6px;font-size:13px}
.filters fieldset{border:0;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:4px}
.filters legend{float:left;margin-right:6px;color:#59636e}
.filters fieldset label{padding:1px 6px;border-radius:4px}
.shown{font-size:12px;color:#59636e;margin:4px 0}
a.mname{color:inherit;text-decoration:none;display:block}
tr.history table{border-collapse:collapse;font-size:12px;margin:2px 0 8px 16px}
tr.history caption{text-align:left;font-weight:600}
tr.history th,tr.history td{text-align:left;padding:2px 10px;border-bottom:1px solid #d1d9e0}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:14px;padding:0;margin:6px 0;font-size:12px}
.swatch{display:inline-block;width:14px;height:14px;border-radius:3px;margin-right:4px;vertical-align:-2px}
.swatch.unreach{border:2px dashed #cf222e}
${STATE_CSS}`;

// Keeps ages current every second and swaps in a fresh page every `data-refresh` seconds (read
// anew each time: it is shorter while a pass runs), without a visible reload; failures leave the
// current page up (the controller may be restarting).
const SCRIPT = `(function(){
function fmt(s){s=Math.max(0,Math.round(s));if(s<60)return s+'s';if(s<3600)return Math.floor(s/60)+'m';if(s<86400)return Math.floor(s/3600)+'h';return Math.floor(s/86400)+'d'}
function tick(){var n=Date.now();document.querySelectorAll('time[data-age]').forEach(function(t){var v=Date.parse(t.getAttribute('datetime'));if(!isNaN(v))t.textContent=fmt((n-v)/1000)})}
function refresh(){return fetch(location.pathname+location.search,{cache:'no-store'}).then(function(r){return r.ok?r.text():null}).then(function(h){if(!h)return;var d=new DOMParser().parseFromString(h,'text/html');var m=d.getElementById('status');if(m){document.getElementById('status').replaceWith(m);document.title=d.title;tick()}}).catch(function(){})}
function every(){return (Number(document.getElementById('status').getAttribute('data-refresh'))||5)*1000}
function loop(){setTimeout(function(){refresh().then(loop)},every())}
setInterval(tick,1000);loop();
})();`;

/**
 * The Content-Security-Policy the page is served with: nothing external, inline styles, and only
 * the page's own script (by hash), which may fetch the page again from the same origin.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  `script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  // The filter form is a GET of the page itself.
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
