/**
 * Parsing of a PULP_MANIFEST (`relative_path,sha256,size` per line) with pulp_file's rules
 * (pf:pulp_file/manifest.py) plus our hardening. Pure: no I/O.
 *
 * pulp_file's rules: split with Python's `splitlines()`, number every line from 1, strip each line,
 * skip blank lines and lines starting with `#`, split on the LAST two commas (paths may hold commas),
 * strip each field; the path must match `^[^/]+(/[^/]+)*$`, the digest be hex, the size digits.
 *
 * Names a real Pulp 3.24 cannot sync although the line holds them (`?`, `#`, `%`, control
 * characters: names.ts) are refused with their line, as the real sync fails on them.
 *
 * Our hardening, deliberately stricter than pulp_file 3.24 (which accepts `..`): a path must not
 * escape the tree or be ambiguous on disk (no `.`/`..` segment, no backslash, no NUL), the digest is
 * exactly 64 lowercase hex (what sha256 hexdigest gives, so a mismatch fails here and not after a
 * download), a size must be a safe integer, a line at most 64 KiB, the text valid UTF-8, every path
 * unique and no path may be both a file and a directory (`a` and `a/b`; Pulp fails those at
 * version creation).
 */
import { PulpdistError } from '../core/errors.js';
import { urlBreakerReason } from './names.js';
import type { ManifestEntry } from './types.js';

/** Longest accepted line, in UTF-16 code units of the decoded text (about bytes for ASCII). */
export const MAX_MANIFEST_LINE = 64 * 1024;

/** A manifest line that breaks a rule; `line` counts every line from 1, as pulp_file does. */
export class ManifestParseError extends PulpdistError {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`manifest line ${line}: ${reason}`);
  }
}

const PATH_RE = /^[^/]+(\/[^/]+)*$/;
const DIGEST_RE = /^[0-9a-f]{64}$/;
const SIZE_RE = /^[0-9]+$/;
// Python's str.splitlines() boundaries: \n, \r\n, \r, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029.
const LINE_BREAK_RE = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/**
 * Parse a PULP_MANIFEST. Bytes are decoded as strict UTF-8. Entries come back in file order.
 * @throws ManifestParseError naming the first bad line.
 */
export function parseManifest(text: string | Uint8Array): ManifestEntry[] {
  const source = typeof text === 'string' ? text : decodeUtf8(text);
  const lines = source.split(LINE_BREAK_RE);
  // splitlines() yields no empty last line after a final break.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const entries: ManifestEntry[] = [];
  const files = new Map<string, number>();
  const dirs = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const no = i + 1;
    const raw = lines[i];
    if (raw.length > MAX_MANIFEST_LINE) throw new ManifestParseError(no, `line longer than ${MAX_MANIFEST_LINE} characters`);
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const entry = parseLine(line, no);
    checkUnique(entry.relativePath, no, files, dirs);
    entries.push(entry);
  }
  return entries;
}

function parseLine(line: string, no: number): ManifestEntry {
  const last = line.lastIndexOf(',');
  const prev = last > 0 ? line.lastIndexOf(',', last - 1) : -1;
  if (last < 0 || prev < 0) throw new ManifestParseError(no, 'expected "relative_path,sha256,size"');
  const relativePath = line.slice(0, prev).trim();
  const sha256 = line.slice(prev + 1, last).trim();
  const sizeText = line.slice(last + 1).trim();
  checkPath(relativePath, no);
  if (!DIGEST_RE.test(sha256)) throw new ManifestParseError(no, `digest "${clip(sha256)}" is not 64 lowercase hex characters (sha256)`);
  if (!SIZE_RE.test(sizeText)) throw new ManifestParseError(no, `size "${clip(sizeText)}" is not a whole number of bytes`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw new ManifestParseError(no, `size ${clip(sizeText)} is too large`);
  return { relativePath, sha256, size };
}

function checkPath(p: string, no: number): void {
  if (p.includes('\0')) throw new ManifestParseError(no, 'relative path contains a NUL character');
  if (p.includes('\\')) throw new ManifestParseError(no, `relative path "${clip(p)}" contains a backslash`);
  if (p.startsWith('/')) throw new ManifestParseError(no, `relative path "${clip(p)}" is absolute`);
  if (!PATH_RE.test(p)) throw new ManifestParseError(no, `relative path "${clip(p)}" is empty, ends with "/" or has an empty segment`);
  // What a real Pulp 3.24 cannot sync (names.ts says why): refused here so that the embedded site
  // fails the same sync a real one would, instead of carrying the name on to hops that cannot.
  const why = urlBreakerReason(p);
  if (why) throw new ManifestParseError(no, `relative path ${JSON.stringify(clip(p))} ${why}`);
  for (const seg of p.split('/')) {
    if (seg === '.' || seg === '..') throw new ManifestParseError(no, `relative path "${clip(p)}" has a "${seg}" segment (it would escape or alias the tree)`);
  }
}

function checkUnique(p: string, no: number, files: Map<string, number>, dirs: Map<string, number>): void {
  const dup = files.get(p);
  if (dup !== undefined) throw new ManifestParseError(no, `duplicate relative path "${clip(p)}" (first on line ${dup})`);
  const asDir = dirs.get(p);
  if (asDir !== undefined) throw new ManifestParseError(no, `"${clip(p)}" is a directory of the path on line ${asDir}`);
  for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) {
    const parent = p.slice(0, i);
    const f = files.get(parent);
    if (f !== undefined) throw new ManifestParseError(no, `"${clip(p)}" is inside "${clip(parent)}", a file on line ${f}`);
    if (!dirs.has(parent)) dirs.set(parent, no);
  }
  files.set(p, no);
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    // Find the line to name: count line feeds before the first byte run that fails to decode.
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 0x0a) {
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, i));
        } catch {
          throw new ManifestParseError(line, 'not valid UTF-8');
        }
        line++;
        start = i + 1;
      }
    }
    throw new ManifestParseError(line, 'not valid UTF-8');
  }
}

function clip(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}
