/**
 * Checks of one document that are not JSON Schema: which kind it is, inline secrets anywhere in
 * it, and values a pattern cannot judge (a cron expression that names minute 61, a zero interval).
 */
import { isMap, isScalar, isSeq } from 'yaml';
import { CronExpressionParser } from 'cron-parser';
import { excludePatternProblem } from '../core/exclude-pattern.js';
import { BANDWIDTH_PATTERN, DURATION_PATTERN, parseBandwidth, parseDuration } from '../core/units.js';
import type { PathSegment } from './node-position.js';
import { problemAt, quote } from './problem.js';
import { EVENT_SINK_SECRET_ADVICE, checkEventSinkValues } from './event-sink.js';
import type { SpecKind } from './schema-check.js';
import type { SourceDocument } from './source-file.js';
import type { Problem } from './types.js';

export const API_VERSION = 'pulpdist/v1';
const KINDS: readonly SpecKind[] = ['Site', 'Mirror', 'EventSink'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The kind of a pulpdist document, or undefined (with problems) when it is not one we know. */
export function checkHeader(source: SourceDocument, out: Problem[]): SpecKind | undefined {
  const data = source.data;
  if (!isRecord(data)) {
    const got = Array.isArray(data) ? 'a list' : data === null ? 'nothing' : `a ${typeof data}`;
    out.push(problemAt(source, [], 'document-shape', `a spec document must be a mapping with apiVersion, kind, metadata and spec; got ${got}`));
    return undefined;
  }
  let ok = true;
  if (!('apiVersion' in data)) {
    out.push(problemAt(source, [], 'api-version', `missing apiVersion: every document starts with "apiVersion: ${API_VERSION}"`, { anchor: 'key' }));
    ok = false;
  } else if (data.apiVersion !== API_VERSION) {
    out.push(problemAt(source, ['apiVersion'], 'api-version', `unknown apiVersion ${quote(data.apiVersion)} (expected "${API_VERSION}")`));
    ok = false;
  }
  const kind = data.kind;
  if (!('kind' in data)) {
    out.push(problemAt(source, [], 'kind', `missing kind: say "kind: Site" or "kind: Mirror"`, { anchor: 'key' }));
    return undefined;
  }
  if (!KINDS.includes(kind as SpecKind)) {
    const near = KINDS.find((k) => typeof kind === 'string' && k.toLowerCase() === kind.toLowerCase());
    out.push(problemAt(source, ['kind'], 'kind', `unknown kind ${quote(kind)} (expected ${near ? `"${near}"; kinds are case-sensitive` : 'Site, Mirror or EventSink'})`));
    return undefined;
  }
  return ok ? (kind as SpecKind) : undefined;
}

/** Keys whose value is a secret; `…Env` / `…File` keys name where a secret is, so they are fine. */
const SECRET_KEY = /(^|[^a-z])pass$|password|passwd|passphrase|secret|token|api[-_]?key|private[-_]?key|credential/i;
const REFERENCE_KEY = /(env|file|path)$/i;
const SECRET_QUERY = /^(.*pass.*|.*secret.*|.*token.*|api[-_]?key|key|sig|signature|auth)$/i;
const ADVICE = 'secrets never live in Git: remove it (and rotate it, since Git history keeps it), and give the Pulp password through spec.pulp.auth.passwordEnv (an environment variable) or spec.pulp.auth.passwordFile (a mounted file)';

/** What in a URL string is a secret: a password in the user info or a token-like query parameter. */
function urlSecret(text: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(text) ? 'a password in its user info' : undefined;
  }
  if (url.password) return 'a password in its user info';
  for (const key of url.searchParams.keys()) if (SECRET_QUERY.test(key)) return `a secret in its query parameter "${key}"`;
  return undefined;
}

/**
 * Every inline secret in the document, found on the YAML tree (not the expanded data, so an
 * aliased secret is reported once, where it is written). Messages never repeat the value.
 * Returns the paths reported, so that schema errors about the same nodes can be left out.
 */
export function checkSecrets(source: SourceDocument, out: Problem[], kind?: SpecKind): PathSegment[][] {
  const advice = kind === 'EventSink' ? EVENT_SINK_SECRET_ADVICE : ADVICE;
  const found: PathSegment[][] = [];
  const stack: { node: unknown; path: PathSegment[] }[] = [{ node: source.doc.contents, path: [] }];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const { node, path } = top;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        const value = pair.value;
        const p = [...path, key];
        if (SECRET_KEY.test(key) && !REFERENCE_KEY.test(key) && isScalar(value) && (typeof value.value === 'number' || (typeof value.value === 'string' && value.value !== ''))) {
          found.push(p);
          out.push(problemAt(source, p, 'inline-secret', `inline secret: ${advice}`));
          continue;
        }
        stack.push({ node: value, path: p });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => stack.push({ node: item, path: [...path, i] }));
    } else if (isScalar(node) && typeof node.value === 'string') {
      const what = urlSecret(node.value);
      if (what) {
        found.push(path);
        out.push(problemAt(source, path, 'inline-secret', `inline secret: the URL holds ${what}; ${advice}`));
      }
    }
  }
  return found;
}

function get(data: unknown, path: readonly string[]): unknown {
  let cur = data;
  for (const seg of path) cur = isRecord(cur) ? cur[seg] : undefined;
  return cur;
}

/** Values whose type and pattern are right but whose meaning is not. */
export function checkValues(source: SourceDocument, kind: SpecKind, out: Problem[]): void {
  const data = source.data;
  if (kind === 'Mirror') {
    const cron = get(data, ['spec', 'schedule', 'cron']);
    if (typeof cron === 'string' && /^\s*\S+(\s+\S+){4}\s*$/.test(cron)) {
      try {
        CronExpressionParser.parse(cron.trim(), { tz: 'UTC' });
      } catch (err) {
        out.push(problemAt(source, ['spec', 'schedule', 'cron'], 'cron', `invalid cron expression ${quote(cron)}: ${(err as Error).message}`));
      }
    }
    const exclude = get(data, ['spec', 'exclude']);
    if (Array.isArray(exclude)) {
      exclude.forEach((p, i) => {
        const why = typeof p === 'string' && p !== '' ? excludePatternProblem(p) : undefined;
        if (why) out.push(problemAt(source, ['spec', 'exclude', i], 'exclude', `bad exclude pattern ${quote(p)}: ${why}`));
      });
    }
    const marker = get(data, ['spec', 'source', 'inProgressMarker']);
    const markerWhy = typeof marker === 'string' && marker !== '' ? excludePatternProblem(marker) : undefined;
    if (markerWhy) out.push(problemAt(source, ['spec', 'source', 'inProgressMarker'], 'in-progress-marker', `bad glob ${quote(marker)}: ${markerWhy}`));
    // settle and the marker describe a tree being written: a published manifest has no such state.
    if (get(data, ['spec', 'source', 'manifest']) !== undefined) {
      for (const key of ['settle', 'inProgressMarker', 'readOnly']) {
        if (get(data, ['spec', 'source', key]) !== undefined) {
          out.push(problemAt(source, ['spec', 'source', key], 'source-option', `${key} applies to a tree on disk (source.path), not to source.manifest`, { anchor: 'key' }));
        }
      }
      if (get(data, ['spec', 'symlinks']) !== undefined) {
        out.push(problemAt(source, ['spec', 'symlinks'], 'source-option', 'symlinks applies to a tree on disk (source.path); a published manifest lists files only', { anchor: 'key' }));
      }
      // The origin's Pulp syncs the published manifest itself, every line of it: leaving lines
      // out here would make the plan chase a tree no sync can produce.
      if (get(data, ['spec', 'exclude']) !== undefined) {
        out.push(problemAt(source, ['spec', 'exclude'], 'source-option', 'exclude applies to a tree on disk (source.path); the origin syncs a published manifest as it is, every line', { anchor: 'key' }));
      }
    }
    const settle = get(data, ['spec', 'source', 'settle']);
    if (typeof settle === 'string' && new RegExp(DURATION_PATTERN).test(settle) && parseDuration(settle) === 0) {
      out.push(problemAt(source, ['spec', 'source', 'settle'], 'settle', 'must be longer than zero; leave it out to publish as soon as a scan sees no change'));
    }
    if (get(data, ['spec', 'schedule', 'syncOnChange']) !== undefined && get(data, ['spec', 'schedule', 'cron']) === undefined) {
      out.push(problemAt(source, ['spec', 'schedule', 'syncOnChange'], 'sync-on-change', 'syncOnChange applies to a cron schedule (an interval never holds a change back)', { anchor: 'key' }));
    }
    const interval = get(data, ['spec', 'schedule', 'interval']);
    if (typeof interval === 'string' && new RegExp(DURATION_PATTERN).test(interval) && parseDuration(interval) === 0) {
      out.push(problemAt(source, ['spec', 'schedule', 'interval'], 'interval', 'must be longer than zero'));
    }
  } else if (kind === 'EventSink') {
    checkEventSinkValues(source, out);
  } else {
    const bandwidth = get(data, ['spec', 'limits', 'bandwidth']);
    if (typeof bandwidth === 'string' && new RegExp(BANDWIDTH_PATTERN).test(bandwidth) && parseBandwidth(bandwidth) < 1) {
      out.push(problemAt(source, ['spec', 'limits', 'bandwidth'], 'bandwidth', 'must be at least 1 byte per second; leave it out for no cap'));
    }
    if (get(data, ['spec', 'pulp', 'tlsValidation']) === false) {
      out.push(problemAt(source, ['spec', 'pulp', 'tlsValidation'], 'tls-disabled', 'TLS certificate validation is off: anyone on the path can impersonate this Pulp server', { severity: 'warning' }));
    }
    const url = get(data, ['spec', 'pulp', 'url']);
    // Loopback traffic never leaves the machine (the demo's embedded sites): no warning there.
    const loopback = typeof url === 'string' && /^http:\/\/(localhost|127(\.[0-9]+){3}|\[::1\])(:|\/|$)/i.test(url);
    if (typeof url === 'string' && /^http:/i.test(url) && !loopback && isRecord(get(data, ['spec', 'pulp', 'auth']))) {
      out.push(problemAt(source, ['spec', 'pulp', 'url'], 'plain-http-auth', 'the password would be sent unencrypted over http; use https', { severity: 'warning' }));
    }
  }
}
