/**
 * The JSON Schema layer: schemas/site.schema.json and mirror.schema.json through ajv, every error
 * turned into a positioned problem with a message people can act on. The schemas are what editors
 * read too (yaml-language-server), so they stay plain draft-07; the friendlier wording lives here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { SCHEMA_DIR } from '../core/paths.js';
import { pointerToPath } from './node-position.js';
import type { PathSegment } from './node-position.js';
import { problemAt, quote } from './problem.js';
import type { SourceDocument } from './source-file.js';
import type { Problem } from './types.js';

export type SpecKind = 'Site' | 'Mirror' | 'EventSink';

/** Schema problems reported per document; past that, one line says there are more. */
export const MAX_SCHEMA_PROBLEMS = 100;

/** The schema file of each kind, relative to schemas/. */
export const SCHEMA_FILES: Record<SpecKind, string> = { Site: 'site.schema.json', Mirror: 'mirror.schema.json', EventSink: 'eventsink.schema.json' };

let ajv: Ajv | undefined;
const validators = new Map<SpecKind, ValidateFunction>();

/** Compiled once per process and kind (compiling costs more than validating a whole repo). */
function validatorFor(kind: SpecKind): ValidateFunction {
  let validate = validators.get(kind);
  if (!validate) {
    ajv ??= new Ajv({ allErrors: true, strict: true, strictRequired: false, verbose: true });
    // The schemas are the package's own files, not user input: reading them here is not an I/O edge.
    validate = ajv.compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, SCHEMA_FILES[kind]), 'utf8')));
    validators.set(kind, validate);
  }
  return validate;
}

/** What a value that failed a pattern should look like, by the field (or definition) it is in. */
const PATTERN_HINTS: Record<string, string> = {
  dnsLabel: 'must be a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  httpOrigin: 'must be an http(s) origin such as https://pulp.example.com: scheme and host, no path, user info or query',
  apiRoot: 'must be a path that starts and ends with "/", such as /pulp/api/v3/',
  passwordEnv: 'must be an environment variable name (letters, digits and "_", not starting with a digit)',
  passwordFile: 'must be an absolute path',
  bandwidth: 'must be a bandwidth such as 50MiB/s or 200Mbit/s',
  path: 'must be an absolute path without "." or ".." segments',
  manifest: 'must be the http(s) URL of a PULP_MANIFEST, without user info',
  basePath: 'must be a relative URL path such as fedora/40/x86_64: no leading or trailing "/", no "//", spaces, "." or ".." segments',
  interval: 'must be a duration such as 30s, 15m, 6h, 1d or 1h30m',
  cron: 'must be a 5-field cron expression such as "0 */6 * * *" (minute hour day-of-month month day-of-week)',
  envName: 'must be an environment variable name (letters, digits and "_", not starting with a digit)',
  absoluteFile: 'must be an absolute path',
  nameGlob: 'must be a name or a glob over names: lowercase letters, digits, "-", "." and the glob characters * ? [ ] { } , !',
  eventTypeGlob: 'must be an event type or a glob such as org.pulpdist.sync.* (see docs/events.md for the types)',
  webhookUrl: 'must be an http(s) URL without user info, such as https://hooks.example.com/pulpdist',
  amqpUrl: 'must be amqp://host:port or amqps://host:port: no user info, path or query',
  timeout: 'must be a duration such as 10s, 1m or 500ms',
  treeRef: 'must be a tree digest (64 lowercase hex digits), a prefix of at least 12 of them, or vN (a repository version, e.g. v7)',
  labelValue: 'label values may hold letters, digits, "-", "_" and "." and must start and end with a letter or digit',
  'rollout.sites': 'must be a site name (a DNS label) or "*" (the rest)',
  'rollout.soak': 'must be a duration such as 30s, 15m, 6h, 1d or 1h30m',
  'rollout.approved': 'must be a tree digest or its first 12 or more hex digits (lowercase)',
  'rollout.matchLabels': 'label values may hold letters, digits, "-", "_" and "." and must start and end with a letter or digit',
  'rollout.path': 'must be a path relative to the mirror\'s base path such as repodata/repomd.xml: no leading "/", no "." or ".." segments, spaces, "?" or "#"',
  'rollout.sha256': 'must be a sha256: 64 lowercase hex digits',
};

/** Keys whose values are never quoted in a message, even when they only name where a secret is. */
const SENSITIVE_KEY = /pass|secret|token|credential|api[-_]?key/i;

/** Each `oneOf` of the schemas is an "exactly one of" between two properties. */
const ONE_OF: Record<string, { rule: string; props: [string, string] }> = {
  '/spec/source': { rule: 'source-kind', props: ['path', 'manifest'] },
  '/spec/schedule': { rule: 'schedule-kind', props: ['interval', 'cron'] },
  '/spec/pulp/auth': { rule: 'auth-password', props: ['passwordEnv', 'passwordFile'] },
  // Only EventSink has a oneOf on spec itself.
  '/spec': { rule: 'sink-kind', props: ['http', 'amqp'] },
};

function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? `the number ${value}` : `the number ${value}`;
  if (typeof value === 'boolean') return `${value}`;
  return `the string ${quote(value)}`;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

function patternHint(err: ErrorObject, path: PathSegment[]): string {
  const def = /#\/definitions\/(\w+)\//.exec(err.schemaPath)?.[1];
  // Under spec.rollout, field names other parts use too (a probe's `path` is not a source path).
  const named = path[1] === 'rollout' ? [...path].reverse().flatMap((seg) => PATTERN_HINTS[`rollout.${String(seg)}`] ?? [])[0] : undefined;
  if (named) return named;
  if (def && def !== 'metadata' && PATTERN_HINTS[def]) return PATTERN_HINTS[def];
  if (path[0] === 'metadata' && path[1] === 'labels') return PATTERN_HINTS.labelValue;
  const field = String(path[path.length - 1]);
  return PATTERN_HINTS[field] ?? `must match ${err.params.pattern}`;
}

/** Levenshtein distance, for "did you mean" on unknown properties. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

function unknownProperty(name: string, parentSchema: unknown): string {
  const props = Object.keys((parentSchema as { properties?: Record<string, unknown> })?.properties ?? {});
  const near = props.filter((p) => distance(name, p) <= Math.max(1, Math.floor(p.length / 3))).sort((a, b) => distance(name, a) - distance(name, b));
  if (near.length) return `unknown property ${quote(name)} (did you mean "${near[0]}"?)`;
  return `unknown property ${quote(name)} (allowed: ${props.join(', ')})`;
}

/**
 * Validate one document against its kind's schema. Problems at or under `skip` paths (reported
 * better elsewhere, e.g. inline secrets) are left out. Returns true when the document is valid.
 */
export function checkSchema(source: SourceDocument, kind: SpecKind, out: Problem[], skip: readonly PathSegment[][] = []): boolean {
  const validate = validatorFor(kind);
  if (validate(source.data)) return true;
  const under = (p: readonly PathSegment[], s: readonly PathSegment[]) => s.length <= p.length && s.every((seg, i) => String(seg) === String(p[i]));
  const skipped = (p: readonly PathSegment[]) => skip.some((s) => under(p, s));
  // An inline secret inside an object already says which field to use instead: no "exactly one of" on top.
  const explained = (p: readonly PathSegment[]) => skip.some((s) => s.length === p.length + 1 && under(s, p));
  let reported = 0;
  for (const err of validate.errors ?? []) {
    if (reported >= MAX_SCHEMA_PROBLEMS) {
      out.push(problemAt(source, [], 'schema', `more than ${MAX_SCHEMA_PROBLEMS} schema problems in this document; the rest are not shown`, { anchor: 'key' }));
      break;
    }
    // The branches of a oneOf and of propertyNames only explain the summary error that follows them.
    if (err.schemaPath.includes('/oneOf/') || err.schemaPath.includes('/propertyNames/')) continue;
    const base = pointerToPath(err.instancePath, source.data);
    // Under a password-like key the value may be the secret itself, pasted where its name belongs.
    const hidden = base.some((seg) => typeof seg === 'string' && SENSITIVE_KEY.test(seg));
    const shown = (value: unknown) => (hidden ? 'the value given' : typeName(value));
    const add = (p: PathSegment[], rule: string, message: string, anchor: 'value' | 'key' = 'value') => {
      if (skipped(p)) return;
      reported++;
      out.push(problemAt(source, p, rule, message, { anchor }));
    };
    switch (err.keyword) {
      case 'additionalProperties': {
        const name = String(err.params.additionalProperty);
        add([...base, name], 'schema', unknownProperty(name, err.parentSchema), 'key');
        break;
      }
      case 'required':
        add(base, 'schema', `missing required property "${err.params.missingProperty}"`, 'key');
        break;
      case 'propertyNames': {
        const name = String(err.params.propertyName);
        add([...base, name], 'schema', `label key ${quote(name)} is not valid: use letters, digits, "-", "_" and "." (optionally after a DNS prefix and "/"), at most 63 characters`, 'key');
        break;
      }
      case 'type': {
        const hint = err.params.type === 'boolean' && typeof err.data === 'string' ? ' (YAML 1.2: write true or false)' : '';
        const quoteHint = err.params.type === 'string' && (typeof err.data === 'number' || typeof err.data === 'boolean') ? ' (quote it)' : '';
        add(base, 'schema', `must be ${TYPE_WORDS[String(err.params.type)] ?? err.params.type}, got ${shown(err.data)}${hint}${quoteHint}`);
        break;
      }
      case 'pattern':
        add(base, 'schema', `${hidden ? 'the value' : quote(err.data)} ${patternHint(err, base)}`);
        break;
      case 'oneOf': {
        const one = ONE_OF[err.instancePath];
        if (explained(base)) break;
        if (!one) {
          add(base, 'schema', err.message ?? 'is not valid');
          break;
        }
        const [a, b] = one.props;
        if (Array.isArray(err.params.passingSchemas)) {
          // Both present: point at the one written second, the one to remove.
          const keys = Object.keys((err.data as Record<string, unknown>) ?? {});
          const later = keys.indexOf(a) > keys.indexOf(b) ? a : b;
          add([...base, later], one.rule, `give exactly one of "${a}" or "${b}", not both`, 'key');
        } else {
          add(base, one.rule, `needs exactly one of "${a}" or "${b}"`, 'key');
        }
        break;
      }
      case 'minimum':
      case 'maximum':
        add(base, 'schema', `must be ${err.keyword === 'minimum' ? 'at least' : 'at most'} ${err.params.limit}, got ${String(err.data)}`);
        break;
      case 'minItems':
        add(base, 'schema', `must list at least ${err.params.limit} ${base[base.length - 1] === 'sites' ? 'site' : 'item'}`);
        break;
      case 'uniqueItems': {
        const i = Number(err.params.i);
        const j = Number(err.params.j);
        const later = Math.max(i, j);
        const arr = err.data as unknown[];
        add([...base, later], 'schema', `${quote(arr[later])} is listed twice (also at [${Math.min(i, j)}])`);
        break;
      }
      case 'maxLength':
        add(base, 'schema', `must be at most ${err.params.limit} characters, got ${String(err.data).length}`);
        break;
      case 'minLength':
        add(base, 'schema', 'must not be empty');
        break;
      case 'const':
        add(base, 'schema', `must be ${quote(err.params.allowedValue)}, got ${shown(err.data)}`);
        break;
      case 'enum': {
        const allowed = (err.params.allowedValues as unknown[]).map((v) => quote(v));
        add(base, 'schema', `must be one of ${allowed.join(', ')}, got ${hidden ? 'the value given' : quote(err.data)}`);
        break;
      }
      default:
        add(base, 'schema', err.message ?? 'is not valid');
    }
  }
  return false;
}
