/**
 * From a data path (`['spec', 'sites', 2]`) back to the YAML node it came from, and from the node
 * to the 1-based `LINE:COLUMN` that problems carry. Which node a problem points at is a contract
 * (the value for a bad value, the key for an unknown property, the parent key for a missing one).
 */
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Node as YamlNode, YAMLMap } from 'yaml';
import type { SourceDocument } from './source-file.js';
import type { SourcePosition } from './types.js';

export type PathSegment = string | number;

/** Which node of a path a problem points at: the value, or the key it stands under. */
export type Anchor = 'value' | 'key';

/**
 * Key → value and key nodes of each mapping, built on first use: a document with thousands of
 * problems in one mapping would otherwise scan it once per problem.
 */
const keyIndex = new WeakMap<object, Map<string, Step>>();

function indexOf(map: YAMLMap): Map<string, Step> {
  let index = keyIndex.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items) {
      const k = pair.key;
      const name = isScalar(k) ? String(k.value) : typeof k === 'string' || typeof k === 'number' ? String(k) : undefined;
      // The first occurrence wins, as in the data (a duplicate key is an error of its own).
      if (name !== undefined && !index.has(name)) index.set(name, { node: pair.value, key: k });
    }
    keyIndex.set(map, index);
  }
  return index;
}

interface Step {
  node: unknown;
  key: unknown;
}

/** The nodes along `path`, as far as the document has them (aliases followed). */
function walk(source: SourceDocument, path: readonly PathSegment[]): Step[] {
  const steps: Step[] = [{ node: source.doc.contents, key: undefined }];
  let node: unknown = source.doc.contents;
  for (const seg of path) {
    // A bounded number of hops: an alias may point at another alias, never in a loop that long.
    for (let i = 0; i < 16 && isAlias(node); i++) node = node.resolve(source.doc);
    let next: Step | undefined;
    if (isMap(node)) {
      next = indexOf(node).get(String(seg));
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item !== undefined) next = { node: item, key: undefined };
    }
    if (!next) break;
    steps.push(next);
    node = next.node;
  }
  return steps;
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && Array.isArray(node.range) && node.range[0] === node.range[1];
}

function offsetOf(node: unknown): number | undefined {
  const range = (node as YamlNode | null)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}

/**
 * The 1-based position of the node at `path`: its value, or with `key` the key it stands under
 * (the document start for the root). When the path runs past what the document has, the deepest
 * node that exists stands in for it.
 */
export function locate(source: SourceDocument, path: readonly PathSegment[], anchor: Anchor = 'value'): { line: number; column: number } {
  const steps = walk(source, path);
  const complete = steps.length === path.length + 1;
  const last = steps[steps.length - 1];
  let offset: number | undefined;
  if (steps.length === 1 && (anchor === 'key' || !complete)) offset = undefined;
  else if (anchor === 'key' || !complete) offset = offsetOf(last.key) ?? offsetOf(last.node);
  // An empty value (`spec:` and nothing) has a zero-width node after the colon: point at the key.
  else offset = (isEmptyScalar(last.node) ? undefined : offsetOf(last.node)) ?? offsetOf(last.key);
  if (offset === undefined) return { line: source.line, column: source.column };
  const p = source.lineCounter.linePos(offset);
  return { line: p.line, column: p.col };
}

/** The same, with the file: where a document or a field came from. */
export function positionOf(source: SourceDocument, path: readonly PathSegment[], anchor: Anchor = 'value'): SourcePosition {
  return { file: source.file, ...locate(source, path, anchor) };
}

/** `spec.sites[2]`, `metadata.labels["a/b"]`: a path as people read it in messages. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Split an ajv `instancePath` (a JSON pointer) into segments; array indices become numbers. */
export function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (!pointer) return [];
  const out: PathSegment[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur) && /^[0-9]+$/.test(seg)) {
      out.push(Number(seg));
      cur = cur[Number(seg)];
    } else {
      out.push(seg);
      cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}
