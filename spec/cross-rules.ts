/**
 * Rules across documents (DESIGN.md "Validation"): unique names, known sites, an acyclic upstream
 * graph, base paths that neither repeat nor nest, origin among sites. They read what each document
 * has tolerantly, so that a Site with a schema error elsewhere still counts as known and a mirror
 * that references it gets no second, misleading error. A problem points at the later occurrence.
 */
import { positionOf } from './node-position.js';
import type { PathSegment } from './node-position.js';
import { problemAt, quote } from './problem.js';
import type { SourceDocument } from './source-file.js';
import type { Problem, SourcePosition } from './types.js';

export interface SiteFacts {
  source: SourceDocument;
  name?: string;
  upstream?: string;
}

export interface MirrorFacts {
  source: SourceDocument;
  name?: string;
  origin?: string;
  /** String entries of spec.sites with their index. */
  sites: { name: string; index: number }[];
  /** Set only when spec.basePath is a string. */
  basePath?: string;
}

/** A document's facts, read without trusting their types. */
export function siteFacts(source: SourceDocument): SiteFacts {
  return { source, name: str(source.data, ['metadata', 'name']), upstream: str(source.data, ['spec', 'upstream']) };
}

export function mirrorFacts(source: SourceDocument): MirrorFacts {
  const raw = at(source.data, ['spec', 'sites']);
  const sites = Array.isArray(raw) ? raw.flatMap((name, index) => (typeof name === 'string' ? [{ name, index }] : [])) : [];
  return {
    source,
    name: str(source.data, ['metadata', 'name']),
    origin: str(source.data, ['spec', 'origin']),
    sites,
    basePath: str(source.data, ['spec', 'basePath']),
  };
}

function at(data: unknown, path: readonly string[]): unknown {
  let cur = data;
  for (const seg of path) cur = cur && typeof cur === 'object' && !Array.isArray(cur) ? (cur as Record<string, unknown>)[seg] : undefined;
  return cur;
}

function str(data: unknown, path: readonly string[]): string | undefined {
  const v = at(data, path);
  return typeof v === 'string' ? v : undefined;
}

function where(p: SourcePosition): string {
  return `${p.file}:${p.line}:${p.column}`;
}

const NAME: PathSegment[] = ['metadata', 'name'];
/** The schema's maxLength for basePath. */
const MAX_BASE_PATH = 255;
/** Known sites listed in an unknown-site message, at most. */
const MAX_LISTED = 20;

/** First definitions by name; later ones get a duplicate-name problem and join `duplicates`. */
function uniqueByName<T extends { source: SourceDocument; name?: string }>(kind: string, docs: T[], duplicates: Set<SourceDocument>, out: Problem[]): Map<string, T> {
  const first = new Map<string, T>();
  for (const d of docs) {
    if (d.name === undefined) continue;
    const prev = first.get(d.name);
    if (prev) {
      duplicates.add(d.source);
      out.push(problemAt(d.source, NAME, 'duplicate-name', `duplicate ${kind} name ${quote(d.name)}: already defined at ${where(positionOf(prev.source, NAME))}`));
    } else first.set(d.name, d);
  }
  return first;
}

/** Documents in file order, then by position: "later" in every message means later in this order. */
function byOccurrence<T extends { source: SourceDocument }>(docs: T[]): T[] {
  return [...docs].sort((a, b) => (a.source.file < b.source.file ? -1 : a.source.file > b.source.file ? 1 : a.source.line - b.source.line));
}

/** Run every cross-document rule; returns the documents that lost a uniqueness check. */
export function checkCrossRules(sitesIn: SiteFacts[], mirrorsIn: MirrorFacts[], out: Problem[]): { duplicates: Set<SourceDocument> } {
  const sites = byOccurrence(sitesIn);
  const mirrors = byOccurrence(mirrorsIn);
  const duplicates = new Set<SourceDocument>();
  const siteByName = uniqueByName('Site', sites, duplicates, out);
  uniqueByName('Mirror', mirrors, duplicates, out);

  const known = [...siteByName.keys()].sort();
  const listed = known.length > MAX_LISTED ? `${known.slice(0, MAX_LISTED).join(', ')}, … ${known.length - MAX_LISTED} more` : known.join(', ') || 'none';
  const unknown = (name: string) => `unknown site ${quote(name)} (known: ${listed})`;

  for (const s of sites) {
    if (s.upstream !== undefined && !siteByName.has(s.upstream)) out.push(problemAt(s.source, ['spec', 'upstream'], 'unknown-site', unknown(s.upstream)));
  }
  checkCycles(sites.filter((s) => !duplicates.has(s.source)), siteByName, out);

  for (const m of mirrors) {
    if (m.origin !== undefined && !siteByName.has(m.origin)) out.push(problemAt(m.source, ['spec', 'origin'], 'unknown-site', unknown(m.origin)));
    for (const s of m.sites) {
      if (!siteByName.has(s.name)) out.push(problemAt(m.source, ['spec', 'sites', s.index], 'unknown-site', unknown(s.name)));
    }
    checkPinSites(m, out);
    if (m.origin !== undefined && Array.isArray(at(m.source.data, ['spec', 'sites'])) && !m.sites.some((s) => s.name === m.origin)) {
      out.push(
        problemAt(m.source, ['spec', 'origin'], 'origin-not-in-sites', `origin ${quote(m.origin)} is not one of sites (${[...new Set(m.sites.map((s) => s.name))].join(', ') || 'none'}); the origin publishes the tree too, so add it to sites`),
      );
    }
  }
  checkBasePaths(mirrors.filter((m) => !duplicates.has(m.source)), out);
  checkBypass(mirrors.filter((m) => !duplicates.has(m.source)), siteByName, out);
  return { duplicates };
}

/** A per-site pin (spec.pins) names one of the mirror's sites: a pin elsewhere would pin nothing. */
function checkPinSites(m: MirrorFacts, out: Problem[]): void {
  const pins = at(m.source.data, ['spec', 'pins']);
  if (!pins || typeof pins !== 'object' || Array.isArray(pins) || !Array.isArray(at(m.source.data, ['spec', 'sites']))) return;
  const sites = new Set(m.sites.map((s) => s.name));
  for (const key of Object.keys(pins)) {
    if (!sites.has(key)) out.push(problemAt(m.source, ['spec', 'pins', key], 'pin-site', `site ${quote(key)} is not one of this mirror's sites (${[...sites].join(', ') || 'none'}): a pin there pins nothing`));
  }
}

/** Each cycle once, at the upstream of the member that comes last, naming the whole loop. */
function checkCycles(sites: SiteFacts[], byName: Map<string, SiteFacts>, out: Problem[]): void {
  const done = new Set<string>();
  for (const start of sites) {
    if (start.name === undefined || done.has(start.name)) continue;
    const chain: string[] = [];
    const inChain = new Set<string>();
    let cur: SiteFacts | undefined = start;
    while (cur?.name !== undefined && !done.has(cur.name) && !inChain.has(cur.name)) {
      chain.push(cur.name);
      inChain.add(cur.name);
      cur = cur.upstream === undefined ? undefined : byName.get(cur.upstream);
    }
    if (cur?.name !== undefined && inChain.has(cur.name)) {
      const loop = chain.slice(chain.indexOf(cur.name));
      const members = byOccurrence(loop.flatMap((n) => byName.get(n) ?? []));
      const last = members[members.length - 1];
      if (!last?.name) continue;
      const i = loop.indexOf(last.name);
      const named = [...loop.slice(i), ...loop.slice(0, i), last.name];
      const message =
        loop.length === 1
          ? `upstream cycle: ${named.join(' → ')}; a site cannot pull from itself`
          : `upstream cycle: ${named.join(' → ')}; remove the upstream of one of these sites so that it pulls from the mirrors' origin`;
      out.push(problemAt(last.source, ['spec', 'upstream'], 'upstream-cycle', message));
    }
    for (const n of chain) done.add(n);
  }
}

/**
 * No base path twice and none inside another (`a` and `a/b`): Pulp refuses a distribution whose
 * base path overlaps an existing one, which would fail apply at a site after the merge.
 */
function checkBasePaths(mirrors: MirrorFacts[], out: Problem[]): void {
  const exact = new Map<string, MirrorFacts>();
  const prefixes = new Map<string, MirrorFacts>();
  for (const m of mirrors) {
    const base = m.basePath ?? m.name;
    // A base path past the schema's length limit already has an error; comparing its prefixes
    // would cost time quadratic in its length.
    if (base === undefined || base.length > MAX_BASE_PATH) continue;
    const path: PathSegment[] = m.basePath !== undefined ? ['spec', 'basePath'] : NAME;
    const label = m.basePath !== undefined ? `basePath ${quote(base)}` : `basePath ${quote(base)} (the default: the mirror's name)`;
    const describe = (other: MirrorFacts) => {
      const otherPath: PathSegment[] = other.basePath !== undefined ? ['spec', 'basePath'] : NAME;
      return `mirror ${quote(other.name ?? '?')} (${where(positionOf(other.source, otherPath))})`;
    };
    const same = exact.get(base);
    const segments = base.split('/');
    let conflict: string | undefined;
    if (same) conflict = `${label} is already used by ${describe(same)}`;
    else {
      for (let i = 1; i < segments.length && !conflict; i++) {
        const parent = exact.get(segments.slice(0, i).join('/'));
        if (parent) conflict = `${label} is inside basePath ${quote(parent.basePath ?? parent.name)} of ${describe(parent)}; Pulp refuses overlapping base paths`;
      }
      const child = prefixes.get(base);
      if (!conflict && child) conflict = `${label} contains basePath ${quote(child.basePath ?? child.name)} of ${describe(child)}; Pulp refuses overlapping base paths`;
    }
    if (conflict) {
      out.push(problemAt(m.source, path, 'base-path-conflict', conflict));
      continue;
    }
    exact.set(base, m);
    for (let i = 1; i < segments.length; i++) {
      const p = segments.slice(0, i).join('/');
      if (!prefixes.has(p)) prefixes.set(p, m);
    }
  }
}

/**
 * A warning where a site has an upstream but nothing up its chain carries the mirror: it then
 * pulls straight from the mirror's origin, across the topology the upstreams describe.
 */
function checkBypass(mirrors: MirrorFacts[], byName: Map<string, SiteFacts>, out: Problem[]): void {
  for (const m of mirrors) {
    if (m.origin === undefined) continue;
    const carried = new Set(m.sites.map((s) => s.name));
    // What each site's upstream chain ends in, memoized per mirror so that long chains stay linear.
    const ending = new Map<string, 'carried' | 'ran-out' | 'broken'>();
    const endOf = (start: string): 'carried' | 'ran-out' | 'broken' => {
      const path: string[] = [];
      const onPath = new Set<string>();
      let name: string | undefined = byName.get(start)?.upstream;
      let result: 'carried' | 'ran-out' | 'broken';
      for (;;) {
        if (name === undefined) {
          result = 'ran-out';
          break;
        }
        const memo = ending.get(name);
        if (memo) {
          result = memo;
          break;
        }
        const site = byName.get(name);
        // An unknown site or a cycle has its own error: no warning on top.
        if (!site || onPath.has(name)) {
          result = 'broken';
          break;
        }
        if (carried.has(name)) {
          result = 'carried';
          break;
        }
        path.push(name);
        onPath.add(name);
        name = site.upstream;
      }
      for (const p of path) ending.set(p, result);
      return result;
    };
    for (const entry of m.sites) {
      const site = byName.get(entry.name);
      if (!site || entry.name === m.origin || site.upstream === undefined) continue;
      if (endOf(entry.name) !== 'ran-out') continue;
      const chain: string[] = [];
      for (let n: string | undefined = site.upstream; n !== undefined && chain.length < MAX_LISTED; n = byName.get(n)?.upstream) chain.push(n);
      out.push(
        problemAt(m.source, ['spec', 'sites', entry.index], 'upstream-bypass', `site ${quote(entry.name)} will pull this mirror straight from its origin ${quote(m.origin)}: no site up its upstream chain (${chain.join(' → ')}) carries it`, {
          severity: 'warning',
        }),
      );
    }
  }
}
