/**
 * One place that removes credentials from text meant for people or machines (messages, logs,
 * status, commits). URLs lose their userinfo and query string (tokens live there); known secret
 * values registered at start-up are replaced wherever they appear.
 */
const secrets = new Set<string>();

/** Remember a secret value (a password read from the environment) so that `redact` hides it. */
export function registerSecret(value: string | undefined): void {
  // Very short values would redact ordinary words; a password that short is refused elsewhere.
  if (value && value.length >= 4) secrets.add(value);
}

/** Strip userinfo and query from a URL; anything unparsable is returned redacted as text. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    if (u.search) u.search = '?…';
    return redact(u.toString());
  } catch {
    return redact(url);
  }
}

/** Replace every registered secret and every URL userinfo in free text. */
export function redact(text: string): string {
  let out = text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1');
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

/** A `JSON.stringify` replacer that redacts every string: for documents served or written whole. */
export function redactStrings(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? redact(value) : value;
}
