/**
 * One spec file split into YAML documents, with everything needed to point a problem at a node:
 * the parsed AST, its LineCounter and the plain data. File-level and YAML-level problems
 * (size, encoding, syntax, duplicate keys, tabs, alias bombs, nesting) are found here; nothing in
 * this module throws on bad input.
 */
import { LineCounter, parseAllDocuments, isAlias, isCollection, isMap, isPair, isScalar, visit } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { Problem, Severity } from './types.js';

/** Files above this size are refused unread: specs are small, and a huge one is a mistake or an attack. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Alias expansions allowed per document (yaml's `maxAliasCount`): bounds "billion laughs" inputs. */
export const MAX_ALIAS_COUNT = 100;
/** Deepest nesting of collections allowed in a document; real specs need 5. */
export const MAX_DEPTH = 64;
/** Syntax errors reported per file before the rest are summed up in one line. */
const MAX_SYNTAX_PROBLEMS = 20;

/** One YAML document of a file, ready for schema and cross-document checks. */
export interface SourceDocument {
  file: string;
  /** 1-based index of the document in its file. */
  index: number;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** The document as plain data (aliases expanded); undefined when it could not be built. */
  data: unknown;
  /** 1-based line and column where the document's content starts. */
  line: number;
  column: number;
  /** Last line of the document (for attributing problems to documents). */
  endLine: number;
  /** True when YAML-level errors make the data unreliable: later checks skip the document. */
  broken: boolean;
}

export interface SourceFile {
  file: string;
  documents: SourceDocument[];
  problems: Problem[];
}

/** Decode bytes as UTF-8 text, or say why they are not a spec file. */
function decode(content: string | Uint8Array): { text: string } | { reason: string; rule: string } {
  const size = typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
  if (size > MAX_FILE_BYTES) {
    return { rule: 'file-too-large', reason: `file is larger than the ${MAX_FILE_BYTES / 1024 / 1024} MiB limit for spec files; split it, or keep data other than specs out of the spec paths` };
  }
  let text: string;
  if (typeof content === 'string') text = content;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(content);
    } catch {
      return { rule: 'file-binary', reason: 'file is not UTF-8 text; spec files must be YAML' };
    }
  }
  // NUL and other C0 controls (tab, CR, LF aside) never occur in YAML text: a binary file.
  if (/[\u0000-\u0008\u000e-\u001f]/.test(text)) {
    return { rule: 'file-binary', reason: 'file holds control characters (a binary file?); spec files must be YAML text' };
  }
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}

/**
 * Deepest flow-collection nesting, found by a linear scan before parsing, so that a `[[[[…` file
 * costs microseconds instead of a slow parse. Quotes are honoured roughly; block nesting is caught
 * after parsing by `measureDepth`.
 */
function flowDepth(text: string): { depth: number; offset: number } {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      // A quoted scalar rarely spans lines; ending it at a newline keeps a stray apostrophe from hiding the rest.
      if (c === quote || c === '\n') quote = '';
      continue;
    }
    if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(text[i - 1]))) quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_DEPTH) return { depth, offset: i };
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return { depth, offset: -1 };
}

/** Depth of the AST, iteratively (a recursive walk could overflow on the inputs it guards against). */
function measureDepth(root: unknown): { depth: number; node?: YamlNode } {
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 0 }];
  let max = 0;
  for (let top = stack.pop(); top; top = stack.pop()) {
    const { node, depth } = top;
    if (!isCollection(node)) continue;
    if (depth + 1 > MAX_DEPTH) return { depth: depth + 1, node };
    max = Math.max(max, depth + 1);
    for (const item of node.items) {
      if (isPair(item)) {
        stack.push({ node: item.key, depth: depth + 1 });
        stack.push({ node: item.value, depth: depth + 1 });
      } else stack.push({ node: item, depth: depth + 1 });
    }
  }
  return { depth: max };
}

const YAML_MESSAGES: Record<string, string> = {
  TAB_AS_INDENT: 'tab used for indentation; YAML allows only spaces there',
  DUPLICATE_KEY: 'duplicate key: each key may appear once in a mapping',
  RESOURCE_EXHAUSTION: `nesting is too deep (more than ${MAX_DEPTH} levels)`,
};

/**
 * Where the quoted scalar that runs up to `end` opens. The yaml library reports a missing closing
 * quote where the file ends, possibly hundreds of lines below the quote the author forgot to close.
 */
function unclosedQuoteStart(doc: Document.Parsed, end: number): number {
  let start = end;
  visit(doc, {
    Scalar(_key, node) {
      if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && node.range && node.range[0] < end && node.range[1] >= end) {
        start = Math.min(start, node.range[0]);
      }
    },
  });
  return start;
}

/**
 * Offset of the first mapping key that is a list, a mapping or another object (`? [a, b]`,
 * `!!binary k`). A JS object cannot have one, and converting it made the yaml library print a
 * process warning on the user's terminal.
 */
function collectionKey(doc: Document.Parsed): number | null {
  let offset: number | null = null;
  visit(doc, {
    Pair(_key, pair) {
      const key = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
      // A tag can make a scalar key an object too (`!!binary k: v` is a Uint8Array).
      const complex = isCollection(key) || (isScalar(key) && key.value !== null && typeof key.value === 'object');
      if (!complex) return undefined;
      offset = (pair.key as YamlNode).range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/** Parse one file into documents and file/YAML-level problems. Never throws on bad input. */
export function parseSourceFile(file: string, content: string | Uint8Array): SourceFile {
  const problems: Problem[] = [];
  const push = (line: number, column: number, rule: string, message: string, severity: Severity = 'error') =>
    problems.push({ file, line, column, severity, message, rule });

  const decoded = decode(content);
  if ('reason' in decoded) {
    push(1, 1, decoded.rule, decoded.reason);
    return { file, documents: [], problems };
  }
  const { text } = decoded;
  const lineCounter = new LineCounter();
  const at = (offset: number) => {
    const p = lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
    return { line: p.line, column: p.col };
  };

  const deep = flowDepth(text);
  if (deep.offset >= 0) {
    // Line numbers need the LineCounter, which only parsing fills; count newlines by hand instead.
    const before = text.slice(0, deep.offset);
    const line = before.split('\n').length;
    push(line, deep.offset - before.lastIndexOf('\n'), 'nesting-depth', YAML_MESSAGES.RESOURCE_EXHAUSTION);
    return { file, documents: [], problems };
  }

  let parsed: Document.Parsed[];
  try {
    // uniqueKeys off: yaml checks it with a scan per key (quadratic in a mapping's size);
    // findDuplicateKeys does the same in one pass.
    parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: false, prettyErrors: false }) as Document.Parsed[];
  } catch (err) {
    // The parser reports errors in documents; a throw here is an input it could not cope with.
    push(1, 1, 'yaml-syntax', `YAML could not be parsed: ${(err as Error).message}`);
    return { file, documents: [], problems };
  }
  if (!Array.isArray(parsed)) parsed = [parsed];

  const documents: SourceDocument[] = [];
  let syntaxCount = 0;
  let firstHidden = { line: 1, column: 1 };
  let index = 0;
  for (const doc of parsed) {
    const contents = doc.contents;
    const empty = contents === null || (isScalar(contents) && contents.value === null && contents.range[0] === contents.range[1]);
    const seen = new Set<string>();
    let broken = false;
    for (const err of doc.errors) {
      broken = true;
      const key = err.code === 'RESOURCE_EXHAUSTION' ? err.code : `${err.code}:${err.pos[0]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      syntaxCount++;
      if (syntaxCount > MAX_SYNTAX_PROBLEMS + 1) continue;
      // Looking for the opening quote walks the document: only for problems that are shown, or a
      // file of thousands of unclosed quotes would take time quadratic in its size.
      const { line, column } = at(err.code === 'MISSING_CHAR' && /quote/.test(err.message) ? unclosedQuoteStart(doc, err.pos[0]) : err.pos[0]);
      if (syntaxCount === MAX_SYNTAX_PROBLEMS + 1) {
        firstHidden = { line, column };
        continue;
      }
      const rule = err.code === 'DUPLICATE_KEY' ? 'duplicate-key' : err.code === 'RESOURCE_EXHAUSTION' ? 'nesting-depth' : 'yaml-syntax';
      push(line, column, rule, YAML_MESSAGES[err.code] ?? `YAML syntax: ${firstLine(err.message)}`);
    }
    if (empty && !broken) continue;
    index++;
    const start = at(empty || !contents ? doc.range[0] : contents.range[0]);
    const entry: SourceDocument = {
      file,
      index,
      doc,
      lineCounter,
      data: undefined,
      line: start.line,
      column: start.column,
      endLine: at(Math.max(doc.range[0], doc.range[2] - 1)).line,
      broken,
    };
    documents.push(entry);
    if (broken) continue;

    const depth = measureDepth(contents);
    if (depth.node) {
      const p = at(depth.node.range?.[0] ?? 0);
      push(p.line, p.column, 'nesting-depth', YAML_MESSAGES.RESOURCE_EXHAUSTION);
      entry.broken = true;
      continue;
    }
    const duplicates = findDuplicateKeys(contents);
    if (duplicates.length) {
      for (const offset of duplicates) {
        const p = at(offset);
        push(p.line, p.column, 'duplicate-key', YAML_MESSAGES.DUPLICATE_KEY);
      }
      // Which of two values counts is a guess; the document is not checked further.
      entry.broken = true;
      continue;
    }
    const complexKey = collectionKey(doc);
    if (complexKey !== null) {
      const p = at(complexKey);
      push(p.line, p.column, 'document-shape', 'a mapping key must be a plain value such as a name, not a list or a mapping');
      entry.broken = true;
      continue;
    }
    try {
      entry.data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      entry.broken = true;
      const alias = firstAlias(doc);
      const p = at(alias?.range?.[0] ?? doc.range[0]);
      const msg = (err as Error).message;
      if (/Excessive alias count/.test(msg)) {
        push(p.line, p.column, 'alias-limit', `aliases expand to too much data (more than ${MAX_ALIAS_COUNT} expansions); write the values out instead`);
      } else if (/Unresolved alias/.test(msg)) {
        push(p.line, p.column, 'yaml-syntax', `YAML syntax: ${firstLine(msg)}`);
      } else {
        push(p.line, p.column, 'yaml-syntax', `YAML could not be read: ${firstLine(msg)}`);
      }
    }
  }
  if (syntaxCount > MAX_SYNTAX_PROBLEMS) {
    push(firstHidden.line, firstHidden.column, 'yaml-syntax', `${syntaxCount - MAX_SYNTAX_PROBLEMS} more YAML syntax errors from here on not shown`);
  }
  if (documents.length === 0 && problems.length === 0) {
    push(1, 1, 'file-empty', 'file holds no YAML documents', 'warning');
  }
  return { file, documents, problems };
}

/** Offsets of every key that repeats an earlier key of its mapping, in one pass over the tree. */
function findDuplicateKeys(root: unknown): number[] {
  const found: number[] = [];
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (!isCollection(node)) continue;
    const seen = isMap(node) ? new Set<string>() : undefined;
    for (const item of node.items) {
      if (isPair(item)) {
        const k = item.key;
        if (seen && isScalar(k)) {
          const name = String(k.value);
          if (seen.has(name)) found.push(k.range?.[0] ?? 0);
          seen.add(name);
        }
        stack.push(item.key, item.value);
      } else stack.push(item);
    }
  }
  return found.sort((a, b) => a - b);
}

function firstAlias(doc: Document.Parsed): YamlNode | undefined {
  let found: YamlNode | undefined;
  visit(doc, {
    Alias(_key, node) {
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

function firstLine(text: string): string {
  return text.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}
