/**
 * Loading specs: files in, `LoadResult` out. `loadSpecFiles` is pure (the controller gives it the
 * Git blobs of one commit); `loadSpecPaths` reads a directory tree for `pulpdist validate`.
 * Every problem is collected, never only the first; bad input never throws.
 */
import { checkCrossRules, mirrorFacts, siteFacts } from './cross-rules.js';
import type { MirrorFacts, SiteFacts } from './cross-rules.js';
import { checkHeader, checkSecrets, checkValues } from './document-check.js';
import { checkEventSinkRules, eventSinkFacts, normalizeEventSink } from './event-sink.js';
import type { EventSinkFacts, EventSinkSpec } from './event-sink.js';
import { normalizeMirror, normalizeSite } from './normalize.js';
import { sortProblems } from './problem.js';
import { checkSchema } from './schema-check.js';
import { parseSourceFile } from './source-file.js';
import type { SourceDocument } from './source-file.js';
import { NO_SPEC_FILES, collectSpecFiles, type CollectOptions } from './spec-files.js';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DocumentRef, LoadResult, MirrorSpec, Problem, SiteSpec } from './types.js';

/** One file to load; `path` is what messages show. */
export interface SpecFile {
  path: string;
  content: string | Uint8Array;
}

function docName(data: unknown): { kind?: string; name?: string } {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return {};
  const d = data as { kind?: unknown; metadata?: { name?: unknown } };
  const out: { kind?: string; name?: string } = {};
  if (typeof d.kind === 'string') out.kind = d.kind;
  if (d.metadata && typeof d.metadata === 'object' && typeof d.metadata.name === 'string') out.name = d.metadata.name;
  return out;
}

/** Parse and validate in-memory files: YAML, kinds, schemas, values, secrets, then the cross-document rules. */
export function loadSpecFiles(files: SpecFile[]): LoadResult {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  // Path order, whatever order the caller listed them in: "later occurrence" must mean the same
  // thing to the CLI and to the controller reading a Git tree.
  const ordered = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).filter((f) => !seen.has(f.path) && seen.add(f.path));

  const refs: DocumentRef[] = [];
  const sites: SiteFacts[] = [];
  const mirrors: MirrorFacts[] = [];
  const sinks: EventSinkFacts[] = [];
  const valid = new Map<SourceDocument, 'Site' | 'Mirror' | 'EventSink'>();
  for (const file of ordered) {
    const parsed = parseSourceFile(file.path, file.content);
    problems.push(...parsed.problems);
    for (const source of parsed.documents) {
      refs.push({ file: source.file, index: source.index, line: source.line, endLine: source.endLine, ...docName(source.data) });
      if (source.broken) continue;
      const own: Problem[] = [];
      const kind = checkHeader(source, own);
      if (kind) {
        const secrets = checkSecrets(source, own, kind);
        const schemaOk = checkSchema(source, kind, own, secrets);
        checkValues(source, kind, own);
        if (kind === 'Site') sites.push(siteFacts(source));
        else if (kind === 'EventSink') sinks.push(eventSinkFacts(source));
        else mirrors.push(mirrorFacts(source));
        if (schemaOk && !own.some((p) => p.severity === 'error')) valid.set(source, kind);
      }
      problems.push(...own);
    }
  }

  const { duplicates } = checkCrossRules(sites, mirrors, problems);
  const names = (facts: { name?: string }[]) => facts.flatMap((f) => (f.name === undefined ? [] : [f.name]));
  for (const d of checkEventSinkRules(sinks, { sites: names(sites), mirrors: names(mirrors) }, problems)) duplicates.add(d);
  const sinkSpecs: EventSinkSpec[] = [];
  const siteSpecs: SiteSpec[] = [];
  const mirrorSpecs: MirrorSpec[] = [];
  for (const [source, kind] of valid) {
    if (duplicates.has(source)) continue;
    const position = { file: source.file, line: source.line, column: source.column };
    if (kind === 'Site') siteSpecs.push(normalizeSite(source.data, position));
    else if (kind === 'EventSink') sinkSpecs.push(normalizeEventSink(source.data, position));
    else mirrorSpecs.push(normalizeMirror(source.data, position));
  }
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const specs: LoadResult['specs'] = { sites: siteSpecs.sort(byName), mirrors: mirrorSpecs.sort(byName) };
  // Only when there are sinks, so that a spec set without events looks exactly as it always did.
  if (sinkSpecs.length) specs.eventSinks = sinkSpecs.sort(byName);
  return {
    specs,
    problems: sortProblems(problems),
    files: ordered.length,
    documents: refs.length,
    documentRefs: refs,
    fileNames: ordered.map((f) => f.path),
  };
}

export interface LoadPathsOptions extends CollectOptions {
  /**
   * A directory holding the whole spec set the given files belong to (a pre-commit hook passes
   * only the changed files). Its other files are loaded too, so that cross-document rules see
   * every site and mirror, but only problems in the given files are reported.
   */
  context?: string;
}

/**
 * Read every `*.yaml` / `*.yml` under `paths` (files named directly are read whatever their
 * extension) and load them. Throws `UsageError` for a path that does not exist.
 */
export async function loadSpecPaths(paths: string[], options: LoadPathsOptions = {}): Promise<LoadResult> {
  const { context, ...collect } = options;
  const { files, problems } = await collectSpecFiles(paths, collect);
  if (context === undefined) return withFileProblems(loadSpecFiles(files), problems);

  // Load the whole set under the names the context gives (so that "the later of two duplicates"
  // means what it means when the set is validated whole), then report under the given names.
  const ctx = await collectSpecFiles([context], { ...collect, allowEmpty: true });
  const real = (p: string): Promise<string> => realpath(p).catch(() => path.resolve(p));
  const byReal = new Map(await Promise.all(ctx.files.map(async (f) => [await real(f.path), f.path] as const)));
  const alias = new Map<string, string>();
  const all = [...ctx.files];
  for (const f of files) {
    const inContext = byReal.get(await real(f.path));
    if (inContext !== undefined) alias.set(inContext, f.path);
    else {
      alias.set(f.path, f.path);
      all.push(f);
    }
  }
  const result = loadSpecFiles(all);
  const shown = <T extends { file: string }>(items: T[] = []): T[] => items.filter((x) => alias.has(x.file)).map((x) => ({ ...x, file: alias.get(x.file)! }));
  result.problems = sortProblems(shown(result.problems));
  result.documentRefs = shown(result.documentRefs);
  result.fileNames = (result.fileNames ?? []).filter((f) => alias.has(f)).map((f) => alias.get(f)!).sort();
  result.files = result.fileNames.length;
  result.documents = result.documentRefs.length;
  return withFileProblems(result, problems);
}

/** Add the problems of finding and reading files (a directory without specs, an unreadable file). */
function withFileProblems(result: LoadResult, problems: Problem[]): LoadResult {
  if (problems.length) {
    result.problems = sortProblems([...result.problems, ...problems]);
    const names = new Set(result.fileNames);
    for (const p of problems) if (p.rule !== NO_SPEC_FILES) names.add(p.file);
    result.fileNames = [...names].sort();
    result.files = result.fileNames.length;
  }
  return result;
}

/**
 * The spec set a file belongs to when validated on its own: the root of the Git work tree that
 * holds it (the directory with `.git`), or undefined outside one.
 */
export async function specContextOf(file: string): Promise<string | undefined> {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    if (await stat(path.join(dir, '.git')).then(() => true, () => false)) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
