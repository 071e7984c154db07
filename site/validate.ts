/**
 * Request-body validation with Django REST Framework's rules and messages (drf 3.14 fields.py,
 * relations.py; pulpcore's label rules), so 400 bodies map field → [messages] exactly as Pulp's do.
 * A `BodyCheck` collects every field's error before throwing, as a DRF serializer does.
 */
import { badRequest } from './http.js';
import { isAnyHref, parseHref, type HrefKind, type Labels } from './records.js';

const REQUIRED = 'This field is required.';
const NOT_NULL = 'This field may not be null.';

function pyType(v: unknown): string {
  if (v === null) return 'NoneType';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return 'dict';
}

interface FieldOpts {
  /** Must be present (on create and PUT). */
  required?: boolean;
  nullable?: boolean;
}

export class BodyCheck {
  readonly errors: Record<string, unknown> = {};

  /**
   * @param body the parsed JSON object
   * @param known every writable field name; others get "Unexpected field" (pulpcore's ValidateFieldsMixin)
   * @param partial PATCH: nothing is required
   */
  constructor(
    readonly body: Record<string, unknown>,
    known: readonly string[],
    readonly partial = false,
  ) {
    for (const k of Object.keys(body)) if (!known.includes(k)) this.errors[k] = ['Unexpected field'];
  }

  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.body, name);
  }

  private present(name: string, opts: FieldOpts): { ok: false } | { ok: true; value: unknown } {
    if (!this.has(name)) {
      if (opts.required && !this.partial) this.errors[name] = [REQUIRED];
      return { ok: false };
    }
    const value = this.body[name];
    if (value === null && !opts.nullable) {
      this.errors[name] = [NOT_NULL];
      return { ok: false };
    }
    return { ok: true, value };
  }

  /** A CharField: numbers are turned into text as DRF does; blank refused unless allowed. */
  str(name: string, opts: FieldOpts & { allowBlank?: boolean } = {}): string | null | undefined {
    const p = this.present(name, opts);
    if (!p.ok) return undefined;
    const v = p.value;
    if (v === null) return null;
    if (typeof v === 'boolean' || (typeof v !== 'string' && typeof v !== 'number')) {
      this.errors[name] = ['Not a valid string.'];
      return undefined;
    }
    const s = String(v).trim();
    if (s === '' && !opts.allowBlank) {
      this.errors[name] = ['This field may not be blank.'];
      return undefined;
    }
    return s;
  }

  /** An IntegerField: integers, or text of one. */
  int(name: string, opts: FieldOpts & { min?: number } = {}): number | null | undefined {
    const p = this.present(name, opts);
    if (!p.ok) return undefined;
    const v = p.value;
    if (v === null) return null;
    let n: number;
    if (typeof v === 'number' && Number.isInteger(v)) n = v;
    else if (typeof v === 'string' && /^\s*-?\d+(\.0*)?\s*$/.test(v)) n = Math.trunc(Number(v));
    else {
      this.errors[name] = ['A valid integer is required.'];
      return undefined;
    }
    if (!Number.isSafeInteger(n)) {
      this.errors[name] = ['A valid integer is required.'];
      return undefined;
    }
    if (opts.min !== undefined && n < opts.min) {
      this.errors[name] = [`Ensure this value is greater than or equal to ${opts.min}.`];
      return undefined;
    }
    return n;
  }

  /** A FloatField. */
  num(name: string, opts: FieldOpts & { min?: number } = {}): number | null | undefined {
    const p = this.present(name, opts);
    if (!p.ok) return undefined;
    const v = p.value;
    if (v === null) return null;
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) {
      this.errors[name] = ['A valid number is required.'];
      return undefined;
    }
    if (opts.min !== undefined && n < opts.min) {
      this.errors[name] = [`Ensure this value is greater than or equal to ${opts.min}.`];
      return undefined;
    }
    return n;
  }

  /** A BooleanField, with DRF's accepted spellings. */
  bool(name: string, opts: FieldOpts = {}): boolean | undefined {
    const p = this.present(name, opts);
    if (!p.ok || p.value === null) return undefined;
    const v = p.value;
    const t = ['true', 'True', 'TRUE', 'on', 'On', 'ON', 'yes', 'Yes', 'YES', 'y', 'Y', '1', 1, true];
    const f = ['false', 'False', 'FALSE', 'off', 'Off', 'OFF', 'no', 'No', 'NO', 'n', 'N', '0', 0, false];
    if (t.includes(v as never)) return true;
    if (f.includes(v as never)) return false;
    this.errors[name] = ['Must be a valid boolean.'];
    return undefined;
  }

  /** A ChoiceField. */
  choice<T extends string>(name: string, choices: readonly T[], opts: FieldOpts = {}): T | undefined {
    const p = this.present(name, opts);
    if (!p.ok || p.value === null) return undefined;
    if (typeof p.value !== 'string' || !choices.includes(p.value as T)) {
      this.errors[name] = [`"${typeof p.value === 'string' ? p.value : JSON.stringify(p.value)}" is not a valid choice.`];
      return undefined;
    }
    return p.value as T;
  }

  /**
   * A related field given as an href: must be an href of `kind` that `exists`.
   * Returns the href (normalized as given) or null.
   */
  href(name: string, kind: HrefKind, exists: (id: string) => boolean, opts: FieldOpts = {}): string | null | undefined {
    const p = this.present(name, opts);
    if (!p.ok) return undefined;
    if (p.value === null) return null;
    const msg = checkHref(p.value, kind, exists);
    if (msg) {
      this.errors[name] = [msg];
      return undefined;
    }
    return hrefPath(p.value as string);
  }

  /** Like `href`, with the id the href names (checked, so never missing). */
  ref(name: string, kind: HrefKind, exists: (id: string) => boolean, opts: FieldOpts = {}): { href: string; id: string } | null | undefined {
    const h = this.href(name, kind, exists, opts);
    if (h === null || h === undefined) return h;
    const id = parseHref(kind, h);
    if (id === null) {
      // checkHref accepted it, so this cannot happen; answer as for a bad href rather than crash.
      this.errors[name] = ['Invalid hyperlink - No URL match.'];
      return undefined;
    }
    return { href: h, id };
  }

  /** `pulp_labels`: a string → string map with pulpcore 3.24's key and value rules. */
  labels(name = 'pulp_labels'): Labels | undefined {
    const p = this.present(name, { nullable: false });
    if (!p.ok) return undefined;
    const msg = checkLabels(p.value);
    if (msg) {
      this.errors[name] = msg;
      return undefined;
    }
    return { ...(p.value as Labels) };
  }

  /** Add an error for a field (cross-field rules). */
  fail(name: string, message: unknown): void {
    this.errors[name] = Array.isArray(message) || (typeof message === 'object' && message !== null) ? message : [message];
  }

  /** Throw the collected errors as a 400, if any. */
  done(): void {
    if (Object.keys(this.errors).length) throw badRequest(this.errors);
  }
}

/** The path of an href given absolute or relative (DRF accepts both; we store the relative form). */
export function hrefPath(value: string): string {
  if (!/^https?:\/\//i.test(value)) return value;
  try {
    return new URL(value).pathname;
  } catch {
    return value;
  }
}

/** The DRF message for a bad related href, or null when it is fine. */
export function checkHref(value: unknown, kind: HrefKind, exists: (id: string) => boolean): string | null {
  if (typeof value !== 'string') return `Incorrect type. Expected URL string, received ${pyType(value)}.`;
  let path = value;
  // DRF accepts absolute URLs too and matches on their path.
  if (/^https?:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return 'Invalid hyperlink - No URL match.';
    }
  }
  const id = parseHref(kind, path);
  if (id === null) return isAnyHref(path) ? 'Invalid hyperlink - Incorrect URL match.' : 'Invalid hyperlink - No URL match.';
  if (!exists(id)) return 'Invalid hyperlink - Object does not exist.';
  return null;
}

/** Pulp's label rules; the error value for `pulp_labels`, or null when the labels are fine. */
export function checkLabels(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [`Expected a dictionary of items but got type "${pyType(value)}".`];
  }
  const inner: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') inner[k] = [v === null ? NOT_NULL : 'Not a valid string.'];
  }
  if (Object.keys(inner).length) return inner;
  for (const [k, v] of Object.entries(value as Record<string, string>)) {
    if (!/^[\p{L}\p{N}_ ]+$/u.test(k)) return [`Key '${k}' contains non-alphanumerics.`];
    if (/[,()]/.test(v)) return [`Key '${k}' contains value with comma or parenthesis.`];
  }
  return null;
}
