/**
 * Which relative paths Pulp can carry. Two kinds of limit:
 *
 * - The PULP_MANIFEST line. pulp_file splits the manifest with Python's `str.splitlines()`, strips
 *   each line and each field with `str.strip()`, and skips lines that start with `#`
 *   (reference/pulp-api.md §4.1). A manifest has no quoting, so a name that one of these steps
 *   would alter cannot be listed at all.
 * - The URL. pulp_file 1.14 (Pulp 3.24) builds each file's download URL by putting the relative
 *   path into the remote's URL unencoded (`urlunparse(parsed._replace(path=…))`). Recorded at a
 *   real Pulp 3.24: `q?.txt` and `sub/x#y.txt` fail the whole sync, via file:// and http:// alike
 *   (the rest of the name reads as a query or a fragment); `percent%20.txt` syncs via file:// but
 *   is then served only as `percent%2520.txt`, and fails via http://, so it breaks every hop after
 *   the origin. Control characters are not valid in a URL at all. A backslash is refused by our
 *   own parser (a path separator elsewhere). `;` is safe: Python's urlparse splits `;params` only
 *   for schemes that use them, and the path is put back whole.
 *
 * Such names are left out of a scan (named and counted) and refused by the manifest parser with
 * the line, so that the embedded site fails where a real one would. Pure.
 */

/** The characters Python's `str.splitlines()` breaks on (a path holding one would split its line). */
const PY_LINE_BREAK = /[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

// Python's str.isspace() set (str.strip() removes these), which is not JS's \s: Python adds
// \x1c–\x1f and \x85, and does not count U+FEFF.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_EDGE_SPACE = new RegExp(`^[${PY_SPACE}]|[${PY_SPACE}]$`);

/** The characters pulp_file cannot put into a URL (see above): C0 and C1 controls, DEL, `?`, `#`, `%`, `\`. */
const URL_BREAKER = /[\x00-\x1f\x7f-\x9f?#%\\]/;

// Every character any rule below looks at (line breaks and Python whitespace are all in here):
// a name without any of them needs no further check. One test per file on a rescan.
const SUSPECT = new RegExp(`[#?%\\\\\\x00-\\x1f\\x7f-\\x9f${PY_SPACE}]`);

/** Whether a path holds no character that could make it unrepresentable (a fast pre-check). */
export function obviouslyRepresentable(relativePath: string): boolean {
  return !SUSPECT.test(relativePath);
}

/** Why a relative path cannot appear in a PULP_MANIFEST or be synced by Pulp, or undefined when it can. */
export function unrepresentableReason(relativePath: string): string | undefined {
  if (PY_LINE_BREAK.test(relativePath)) return 'contains a line break';
  if (PY_EDGE_SPACE.test(relativePath)) return 'starts or ends with whitespace';
  if (relativePath.startsWith('#')) return 'a top-level name starting with # reads as a comment';
  return urlBreakerReason(relativePath);
}

/**
 * Why Pulp cannot sync a path that a manifest line can hold (see the module comment), or
 * undefined. The manifest parser applies this to every line.
 */
export function urlBreakerReason(relativePath: string): string | undefined {
  const m = URL_BREAKER.exec(relativePath);
  if (!m) return undefined;
  const c = m[0];
  if (c === '?') return 'contains "?": Pulp would read the rest of the name as a URL query';
  if (c === '#') return 'contains "#": Pulp would read the rest of the name as a URL fragment';
  if (c === '%') return 'contains "%": Pulp would read it as a percent-escape and serve the file under another name';
  if (c === '\\') return 'contains a backslash';
  return `contains the control character U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Whether a directory entry's name must be checked against its raw bytes: Node decodes names as
 * UTF-8 and turns invalid bytes into U+FFFD, so only a name holding U+FFFD can be mis-decoded.
 */
export function mayBeMisdecoded(name: string): boolean {
  return name.includes('\uFFFD');
}

/** A name's raw bytes for messages: valid UTF-8 stays as is, every other byte becomes `\xNN`. */
export function escapeRawName(raw: Buffer): string {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const len = utf8SequenceLength(raw, i);
    if (len === 0) {
      out += `\\x${raw[i].toString(16).padStart(2, '0')}`;
      i += 1;
    } else {
      out += raw.subarray(i, i + len).toString('utf8');
      i += len;
    }
  }
  return out;
}

/** Whether raw bytes are valid UTF-8 (so that the decoded name opens the same file). */
export function isValidUtf8(raw: Buffer): boolean {
  for (let i = 0; i < raw.length; ) {
    const len = utf8SequenceLength(raw, i);
    if (len === 0) return false;
    i += len;
  }
  return true;
}

/** Length of the well-formed UTF-8 sequence at `i`, or 0 if there is none. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const c1 = b[i + 1] ?? 0;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 > 0x9f) return 0; // UTF-16 surrogates
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const c1 = b[i + 1] ?? 0;
    if (c === 0xf0 && c1 < 0x90) return 0; // overlong
    if (c === 0xf4 && c1 > 0x8f) return 0; // above U+10FFFF
    return cont(1) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
