/**
 * The path inside a distribution that the content app looks up. Users reach the embedded site
 * directly, while a real Pulp's content app sits behind a reverse proxy that removes dot segments
 * (RFC 3986 §5.2.4): apt asks a flat repository (`deb URL ./`) for `BASE/./Packages`, which the
 * proxy turns into `BASE/Packages`. So dot segments are removed here, after the distribution is
 * found and only inside it: a `..` stops at the distribution's root, so no request can reach
 * another distribution's files (`a/../../other/x` is `other/x` inside this one).
 *
 * Leading slashes are dropped as pulpcore drops them (`rel_path.lstrip("/")`): recorded at a real
 * Pulp 3.24, `BASE//PULP_MANIFEST` is 200 while `rec4//mirror/PULP_MANIFEST` is 404 (the base path
 * must match exactly; reference/real-pulp-3.24/extra4 §7). Other `//` stay, and miss. Pure.
 */

/** The lookup key for `inner`, the decoded path after the distribution's base path and its `/`. */
export function contentInnerPath(inner: string): string {
  const trimmed = inner.charCodeAt(0) === 0x2f ? inner.replace(/^\/+/, '') : inner;
  // The common case has dots only inside names (`x.rpm`): no segment is `.` or `..`.
  return DOT_SEGMENT.test(trimmed) ? removeDotSegments(trimmed) : trimmed;
}

/** A segment that is `.` or `..`. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/**
 * RFC 3986 §5.2.4 on a relative path, clamped at its root: `.` segments go, `..` removes the
 * segment before it (nothing when there is none), and a path ending in `.` or `..` ends in `/`
 * (it names a directory).
 */
export function removeDotSegments(path: string): string {
  const segs = path.split('/');
  const out: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      if (i === segs.length - 1) out.push('');
      continue;
    }
    out.push(s);
  }
  return out.join('/');
}
