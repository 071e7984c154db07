/**
 * A temp tree with every kind of name and entry the manifest must handle, and its expected
 * PULP_MANIFEST computed here independently (sha256 of known bytes, sorted by UTF-8 bytes).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Representable files: relative path → content. */
export const GOOD_FILES: Record<string, string | Buffer> = {
  'plain.txt': 'hello\n',
  'with space.txt': 'space',
  'comma,name.txt': 'comma',
  'a, b ,c': 'commas and inner spaces',
  'quote"s\'.txt': 'quotes',
  'ünïcödé/文件.txt': 'unicode',
  'x-\u{1F600}.txt': 'emoji, a surrogate pair in UTF-16',
  'x-\uFF01.txt': 'fullwidth !: after the emoji in UTF-16, before it in UTF-8',
  'empty': '',
  'nested/a/b/c/deep.bin': 'deep',
  'semi;colon.txt': 'pulp_file keeps ; in a path (urlparse splits params only for schemes that use them)',
  '.hidden': 'dotfile',
  'trailing dir /inside.txt': 'a directory name may end in a space: it is not at the edge of the path',
  'big.bin': Buffer.alloc(9 * 1024 * 1024 + 7, 0xab),
};

/** What the manifest lists under the default symlink policy: GOOD_FILES plus the two links inside the tree. */
export const LISTED_FILES: Record<string, string | Buffer> = {
  ...GOOD_FILES,
  'link-to-file': GOOD_FILES['plain.txt']!,
  'link-to-dir/a/b/c/deep.bin': GOOD_FILES['nested/a/b/c/deep.bin']!,
};

/** Names a PULP_MANIFEST cannot carry, as reported (relative paths; directories end in `/`). */
export const BAD_NAMES = [
  'line\nbreak.txt', ' leading.txt', 'trailing.txt ', '#top.txt', 'cr\rname', 'tab\t', 'vt\x0bname', ' lead dir/',
  // What pulp_file cannot put into a URL (recorded at a real Pulp 3.24, see manifest/names.ts).
  'q?.txt', 'sub/x#y.txt', 'sub/#not-a-comment', 'percent%20.txt', 'ctl\x01.txt', 'back\\slash', 'pct%dir/',
];
/** A file whose name is not UTF-8, as reported. */
export const NON_UTF8_REPORTED = 'bad-\\xff.txt';

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The expected manifest of `files` (default: the odd tree's LISTED_FILES), built without any pulpdist code. */
export function expectedManifest(files: Record<string, string | Buffer> = LISTED_FILES): string {
  return Object.entries(files)
    .map(([p, c]) => ({ p, line: `${p},${sha256(c)},${Buffer.byteLength(c)}\n` }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.p), Buffer.from(b.p)))
    .map((x) => x.line)
    .join('');
}

export function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
}

/** Build the full odd tree; returns a closer for the socket it keeps open. */
export async function buildOddTree(root: string): Promise<{ close: () => Promise<void> }> {
  writeFiles(root, GOOD_FILES);
  for (const bad of BAD_NAMES) {
    if (bad.endsWith('/')) writeFiles(root, { [bad + 'x.txt']: 'below an unrepresentable directory' });
    else writeFiles(root, { [bad]: 'unrepresentable' });
  }
  fs.writeFileSync(Buffer.concat([Buffer.from(root + '/bad-'), Buffer.from([0xff]), Buffer.from('.txt')]), 'not utf-8');
  fs.writeFileSync(path.join(root, 'PULP_MANIFEST'), 'an old manifest: never listed\n');
  fs.symlinkSync('plain.txt', path.join(root, 'link-to-file'));
  fs.symlinkSync('nested', path.join(root, 'link-to-dir'));
  fs.symlinkSync('/nonexistent', path.join(root, 'dangling'));
  execFileSync('mkfifo', [path.join(root, 'a-fifo')]);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(path.join(root, 'a-socket'), resolve));
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
