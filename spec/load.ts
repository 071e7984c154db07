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
import { NO_SPEC_FILES, collectSpecFiles } from './spec-files.js';
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

/**
 * Read every `*.yaml` / `*.yml` under `paths` (files named directly are read whatever their
 * extension) and load them. Throws `UsageError` for a path that does not exist.
 */
export async function loadSpecPaths(paths: string[], options: { signal?: AbortSignal } = {}): Promise<LoadResult> {
  const { files, problems } = await collectSpecFiles(paths, options);
  const result = loadSpecFiles(files);
  if (problems.length) {
    result.problems = sortProblems([...result.problems, ...problems]);
    const names = new Set(result.fileNames);
    for (const p of problems) if (p.rule !== NO_SPEC_FILES) names.add(p.file);
    result.fileNames = [...names].sort();
    result.files = result.fileNames.length;
  }
  return result;
}
