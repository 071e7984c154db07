/**
 * The strict reading of an HTTP/1.1 response head and of chunked framing's lines for
 * `http-get.ts`: pure functions over latin1 text, so that every rule is in one place.
 *
 * Why strict: a sync trusts what a PULP_MANIFEST says, and the manifest arrives this way. Where
 * RFC 9112 lets a recipient guess (obs-fold, a space before the colon, Content-Length beside
 * Transfer-Encoding, a coding other than a final `chunked`, differing lengths), two parsers on one
 * path can frame the same bytes differently — the request-smuggling / response-splitting class.
 * So every such answer is refused and its connection closed, never put back in the pool. The rules
 * are at least as strict as llhttp's (node:http's parser), which `test/site/http-differential`
 * checks on generated answers: where llhttp is stricter than the RFC (no whitespace before a
 * chunk extension's `;`), we follow llhttp.
 */

/** How the body of an answer ends. */
export type BodyFraming = { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export interface ParsedHead {
  status: number;
  statusMessage: string;
  /** Lowercased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Null for a 1xx answer (the real head follows). */
  framing: BodyFraming | null;
  /** The connection may carry another request after this answer's body. */
  reusable: boolean;
}

/** A token (RFC 9110 §5.6.2): header names, coding and extension names. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const TOKEN_RE = new RegExp(`^${TOKEN}$`);
/** A field value: visible characters, obs-text, spaces and tabs inside (no CTL, no bare CR or LF). */
const VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;
const STATUS_RE = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
/** A chunk-size line without its CRLF: hex size, then extensions with no whitespace (llhttp refuses BWS). */
const CHUNK_SIZE_RE = new RegExp(`^([0-9a-fA-F]{1,12})(?:;${TOKEN}(?:=(?:${TOKEN}|${QUOTED}))?)*$`);

/**
 * Parse a complete head (without the final empty line, lines separated by CRLF). Returns a string
 * saying what is wrong when the answer must be refused.
 */
export function parseHead(head: string): ParsedHead | string {
  const lines = head.split('\r\n');
  const statusLine = lines[0] ?? '';
  const m = STATUS_RE.exec(statusLine);
  if (!m) return `not an HTTP/1.x answer: '${printable(statusLine)}'`;
  const status = Number(m[2]);
  const fields = parseFields(lines, 1);
  if (typeof fields === 'string') return fields;
  const { headers, counts } = fields;
  // 101 only answers a request for an upgrade, which a GET of ours never makes.
  if (status === 101) return 'a 101 answer to a request that asked for no upgrade';
  const base = { status, statusMessage: m[3] ?? '', headers };
  if (status < 200) return { ...base, framing: null, reusable: true };

  const connection = headers.connection;
  const tokens = connection === undefined ? [] : connection.toLowerCase().split(',').map((t) => t.trim());
  let reusable = m[1] === '0' ? tokens.includes('keep-alive') : !tokens.includes('close');
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  // §6.3: both framings in one message is how smuggling starts; llhttp refuses it as well.
  if (te !== undefined && cl !== undefined) return 'both Content-Length and Transfer-Encoding';
  if ((counts.get('content-length') ?? 0) > 1) return 'more than one Content-Length';
  if (te !== undefined && (counts.get('transfer-encoding') !== 1 || te.toLowerCase() !== 'chunked')) {
    // We ask for no coding, and a coding we cannot undo would hand over bytes that are not the file.
    return `an unsupported Transfer-Encoding '${printable(te)}' (only 'chunked' is accepted)`;
  }
  // Checked even where the status says there is no body, as llhttp does.
  if (cl !== undefined && !/^\d{1,15}$/.test(cl)) return `a bad Content-Length '${printable(cl)}'`;
  let framing: BodyFraming;
  if (status === 204 || status === 304) framing = { kind: 'length', length: 0 };
  else if (te !== undefined) framing = { kind: 'chunked' };
  else if (cl !== undefined) framing = { kind: 'length', length: Number(cl) };
  else {
    framing = { kind: 'close' };
    reusable = false;
  }
  return { ...base, framing, reusable };
}

/**
 * Header (or trailer) field lines into lowercased names → values, with how often each name came;
 * `lines` from index `from` on. A string says what is wrong. Character tests rather than a regex
 * each where one character decides: this runs for every file a sync fetches.
 */
export function parseFields(lines: string[], from = 0): { headers: Record<string, string>; counts: Map<string, number> } | string {
  const headers: Record<string, string> = {};
  const counts = new Map<string, number>();
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (isBlank(line.charCodeAt(0))) return `a folded header line (obs-fold) '${printable(line)}'`;
    if (line.includes('\r') || line.includes('\n')) return `a bare CR or LF in the header line '${printable(line)}'`;
    const colon = line.indexOf(':');
    const rawName = colon < 0 ? line : line.slice(0, colon);
    if (colon < 0 || !TOKEN_RE.test(rawName)) {
      if (colon > 0 && isBlank(rawName.charCodeAt(rawName.length - 1))) return `whitespace before the colon in the header '${printable(rawName)}'`;
      return `an invalid header line '${printable(line)}'`;
    }
    // Optional whitespace around the value (spaces and tabs only: String#trim takes more).
    let a = colon + 1;
    let b = line.length;
    while (a < b && isBlank(line.charCodeAt(a))) a++;
    while (b > a && isBlank(line.charCodeAt(b - 1))) b--;
    const value = line.slice(a, b);
    if (!VALUE_RE.test(value)) return `a control character in the header '${printable(rawName)}'`;
    const name = rawName.toLowerCase();
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const before = headers[name];
    headers[name] = before === undefined ? value : `${before}, ${value}`;
  }
  return { headers, counts };
}

/** A space or a tab. */
function isBlank(code: number): boolean {
  return code === 32 || code === 9;
}

/** The size of a chunk from its size line (without CRLF), or a string saying what is wrong. */
export function chunkSize(line: string): number | string {
  const m = CHUNK_SIZE_RE.exec(line);
  return m ? parseInt(m[1] ?? '', 16) : `a bad chunk size '${printable(line)}'`;
}

/** At most 40 characters of untrusted text, with control characters shown as escapes. */
export function printable(text: string): string {
  return JSON.stringify(text.slice(0, 40)).slice(1, -1);
}
