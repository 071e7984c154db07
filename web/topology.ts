/**
 * The site topology of the status page: which site feeds which, how healthy the syncs over each
 * link are, and its drawing as inline SVG. Pure: the status document in, a graph or markup out.
 *
 * A site with an `upstream` pulls each mirror from the nearest site up its chain that carries the
 * mirror, else from the mirror's origin (DESIGN.md "What a mirror becomes in Pulp"); a site
 * without one pulls from each mirror's origin. So the links drawn are the ones syncs really use,
 * and a declared upstream link that no mirror uses is still drawn (in grey, "no mirrors").
 */
import { html, joinHtml, type Html } from '../core/html.js';
import type { MirrorState, StatusDocument } from '../core/status.js';
import { STATE_COLOURS, worstState } from '../status/format.js';

export interface TopologyNode {
  name: string;
  /** Column: 0 for sites nothing feeds, else one more than the deepest site feeding it. */
  depth: number;
  /** Row within the column, in name order. */
  row: number;
  reachable: boolean;
  /** Answers, but lists no online Pulp worker (docs/operations.md). */
  degraded?: boolean;
  /** Worst state of the mirrors this site carries; null when it carries none. */
  state: MirrorState | null;
  mirrors: number;
}

export interface TopologyEdge {
  from: string;
  to: string;
  /** Worst state of the syncs over this link; null when no mirror uses it. */
  state: MirrorState | null;
  /** Mirrors synced over this link. */
  mirrors: number;
}

export interface Topology {
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

/** Nodes and edges of the network the document describes. */
export function computeTopology(doc: StatusDocument): Topology {
  const upstream = new Map<string, string | null>();
  for (const s of doc.sites) upstream.set(s.name, s.upstream ?? null);

  const edgeStates = new Map<string, MirrorState[]>();
  const edgeKey = (from: string, to: string) => `${from}\u0000${to}`;
  for (const s of doc.sites) if (s.upstream && upstream.has(s.upstream)) edgeStates.set(edgeKey(s.upstream, s.name), []);

  const siteStates = new Map<string, MirrorState[]>();
  for (const m of doc.mirrors) {
    const carried = new Set(m.sites.map((s) => s.site));
    for (const s of m.sites) {
      let list = siteStates.get(s.site);
      if (!list) siteStates.set(s.site, (list = []));
      list.push(s.state);
      if (s.site === m.origin) continue;
      const feeder = feederOf(s.site, m.origin, carried, upstream);
      if (feeder === null || feeder === s.site) continue;
      const key = edgeKey(feeder, s.site);
      let states = edgeStates.get(key);
      if (!states) edgeStates.set(key, (states = []));
      states.push(s.state);
    }
  }

  // Every site named anywhere is a node, even one missing from doc.sites (drawn unreachable).
  const names = new Set<string>(doc.sites.map((s) => s.name));
  for (const key of edgeStates.keys()) for (const n of key.split('\u0000')) names.add(n);
  for (const n of siteStates.keys()) names.add(n);

  const edges: TopologyEdge[] = [...edgeStates.entries()]
    .map(([key, states]) => {
      const [from, to] = key.split('\u0000') as [string, string];
      return { from, to, state: worstState(states), mirrors: states.length };
    })
    .sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to));

  const depth = depths([...names], edges);
  const rows = new Map<number, number>();
  const reachable = new Map(doc.sites.map((s) => [s.name, s.reachable]));
  const degraded = new Set(doc.sites.filter((s) => s.state === 'degraded').map((s) => s.name));
  const nodes: TopologyNode[] = [...names]
    .sort((a, b) => (depth.get(a) ?? 0) - (depth.get(b) ?? 0) || cmp(a, b))
    .map((name) => {
      const d = depth.get(name) ?? 0;
      const row = rows.get(d) ?? 0;
      rows.set(d, row + 1);
      const states = siteStates.get(name) ?? [];
      return { name, depth: d, row, reachable: reachable.get(name) ?? false, ...(degraded.has(name) ? { degraded: true } : {}), state: worstState(states), mirrors: states.length };
    });
  return { nodes, edges };
}

/** Every site, upstream first (by depth, then name): the column order of the grid and the table. */
export function siteOrder(topology: Topology): string[] {
  return topology.nodes.map((n) => n.name);
}

/** The nearest site up `site`'s upstream chain that carries the mirror, else the origin. */
function feederOf(site: string, origin: string, carried: Set<string>, upstream: Map<string, string | null>): string | null {
  const visited = new Set<string>([site]);
  let cur = upstream.get(site) ?? null;
  while (cur !== null && !visited.has(cur)) {
    if (carried.has(cur)) return cur;
    visited.add(cur);
    cur = upstream.get(cur) ?? null;
  }
  return origin;
}

/** Longest path from a source, by relaxation bounded by the node count (a cycle cannot loop forever). */
function depths(names: string[], edges: TopologyEdge[]): Map<string, number> {
  const depth = new Map(names.map((n) => [n, 0]));
  for (let i = 0; i < names.length; i++) {
    let changed = false;
    for (const e of edges) {
      const d = (depth.get(e.from) ?? 0) + 1;
      if (d > (depth.get(e.to) ?? 0) && d < names.length) {
        depth.set(e.to, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return depth;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const NODE_W = 196;
const NODE_H = 52;
const COL_GAP = 110;
const ROW_GAP = 26;
const PAD = 16;

/** The topology as an inline SVG element: nodes by depth in columns, edges as arrows, each titled. */
export function renderTopologySvg(topology: Topology): Html {
  const { nodes, edges } = topology;
  const cols = Math.max(1, ...nodes.map((n) => n.depth + 1));
  const rowsMax = Math.max(1, ...nodes.map((n) => n.row + 1));
  const width = PAD * 2 + cols * NODE_W + (cols - 1) * COL_GAP;
  const depthOf = new Map(nodes.map((n) => [n.name, n.depth]));
  // A link that skips a column (a site fed by the origin past an upstream that lacks the mirror)
  // would run behind the nodes in between: it is routed below them, one lane per such link.
  const skipping = edges.filter((e) => (depthOf.get(e.to) ?? 0) - (depthOf.get(e.from) ?? 0) > 1);
  const nodesBottom = PAD + rowsMax * NODE_H + (rowsMax - 1) * ROW_GAP;
  const lane = (i: number) => nodesBottom + 22 + i * 20;
  const height = nodesBottom + PAD + (skipping.length ? 22 + skipping.length * 20 : 0);
  const pos = new Map(nodes.map((n) => [n.name, { x: PAD + n.depth * (NODE_W + COL_GAP), y: PAD + n.row * (NODE_H + ROW_GAP) }]));
  const grey = STATE_COLOURS.Pending.line;
  const out: Html[] = [];
  out.push(
    html`<svg xmlns="http://www.w3.org/2000/svg" class="topology" role="img" aria-labelledby="topo-title topo-desc" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    html`<title id="topo-title">Site topology</title>`,
    html`<desc id="topo-desc">${`${nodes.length} sites, ${edges.length} links. ` + edges.map(edgeText).join('; ')}</desc>`,
    html`<defs>`,
  );
  for (const [state, c] of [...Object.entries(STATE_COLOURS), ['none', { line: grey }] as const]) {
    out.push(html`<marker id="arrow-${state}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${c.line}"/></marker>`);
  }
  out.push(html`</defs>`);
  for (const e of edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const colour = e.state ? STATE_COLOURS[e.state].line : grey;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    let x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    // A link within one column (a cycle guard, or a same-depth feed) bends out to the right.
    const back = x2 <= x1;
    if (back) x2 = b.x + NODE_W;
    const dx = back ? 60 : Math.max(30, (x2 - x1) / 2);
    const skip = skipping.indexOf(e);
    let d: string;
    let label: { x: number; y: number };
    if (skip >= 0) {
      const yl = lane(skip);
      d = `M${x1},${y1} C${x1 + 40},${y1} ${x1 + 40},${yl} ${x1 + 80},${yl} L${x2 - 80},${yl} C${x2 - 40},${yl} ${x2 - 40},${y2} ${x2},${y2}`;
      label = { x: (x1 + x2) / 2, y: yl - 5 };
    } else if (back) {
      d = `M${x1},${y1} C${x1 + dx},${y1} ${x2 + dx},${y2} ${x2},${y2}`;
      label = { x: (x1 + x2) / 2 + dx, y: (y1 + y2) / 2 - 6 };
    } else {
      d = `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
      label = { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6 };
    }
    out.push(
      html`<g class="edge state-${e.state ?? 'none'}" data-from="${e.from}" data-to="${e.to}" data-state="${e.state ?? ''}">`,
      html`<title>${edgeText(e)}</title>`,
      html`<path d="${d}" fill="none" stroke="${colour}" stroke-width="${e.mirrors ? 3 : 1.5}"${e.mirrors ? '' : html` stroke-dasharray="5 4"`} marker-end="url(#arrow-${e.state ?? 'none'})"/>`,
      html`<text x="${label.x}" y="${label.y}" text-anchor="middle" class="edge-label">${e.mirrors ? `${e.mirrors} · ${e.state}` : 'no mirrors'}</text>`,
      html`</g>`,
    );
  }
  for (const n of nodes) {
    const p = pos.get(n.name);
    if (!p) continue; // every node was placed above
    const c = n.state ? STATE_COLOURS[n.state] : { bg: '#f6f8fa', fg: '#3d444d', line: grey };
    const stroke = n.reachable ? c.line : STATE_COLOURS.Failed.line;
    const sub = `${n.reachable ? (n.degraded ? 'degraded · ' : '') : 'unreachable · '}${n.mirrors} mirror${n.mirrors === 1 ? '' : 's'}${n.state ? ` · ${n.state}` : ''}`;
    out.push(
      html`<g class="node state-${n.state ?? 'none'}${n.reachable ? '' : ' unreachable'}" data-site="${n.name}" data-state="${n.state ?? ''}">`,
      html`<title>${`${n.name}: ${sub}`}</title>`,
      html`<rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="8" fill="${c.bg}" stroke="${stroke}" stroke-width="2"${n.reachable ? '' : html` stroke-dasharray="6 3"`}/>`,
      html`<text x="${p.x + NODE_W / 2}" y="${p.y + 21}" text-anchor="middle" class="node-name" fill="${c.fg}">${truncate(n.name, 22)}</text>`,
      html`<text x="${p.x + NODE_W / 2}" y="${p.y + 39}" text-anchor="middle" class="node-sub" fill="${c.fg}">${truncate(sub, 34)}</text>`,
      html`</g>`,
    );
  }
  out.push(html`</svg>`);
  return joinHtml(out, '\n');
}

function edgeText(e: TopologyEdge): string {
  return `${e.from} → ${e.to}: ${e.mirrors ? `${e.mirrors} mirror${e.mirrors === 1 ? '' : 's'}, worst ${e.state}` : 'upstream link, no mirrors over it'}`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}
