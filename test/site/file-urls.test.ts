/**
 * `fileUrls` puts an http(s) file's URL together as a string; the URL parser is the reference:
 * for every name, the answer must be what the parser makes of the manifest URL with its last
 * segment replaced by the quoted path (what pulpdist did per file before, and what yarl sends).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileUrls } from '../../site/download.js';

/** The reference: the URL parser, once per file. */
function parsedUrl(manifestUrl: string, relativePath: string): string {
  const u = new URL(manifestUrl);
  const dir = u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1);
  u.pathname =
    dir +
    relativePath
      .split('/')
      .map((s) => encodeURIComponent(s).replace(/%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/gi, (m) => decodeURIComponent(m)))
      .join('/');
  return u.href;
}

const MANIFESTS = [
  'http://127.0.0.1:8080/pulp/content/tree/PULP_MANIFEST',
  'https://mirror.example.org/a/b/PULP_MANIFEST?token=x&y=%20z',
  'http://[::1]:9/PULP_MANIFEST#frag',
  'HTTP://Example.COM:80/x/../y/./PULP_MANIFEST',
  'http://h/dir%20with%20space/M',
  'http://h/M',
  'http://h',
  'file:///srv/tree/PULP_MANIFEST',
];

const NAMES = [
  'a.txt',
  'd1/d2/f.bin',
  'pool/main/h/hello/hello_2.10-3_amd64.deb',
  'plus+amp&eq=.txt',
  "sub!$&'()*+,;=:@delims",
  'space in name.txt',
  'percent%20literal%2e%2E.txt',
  'hash#and?query',
  'ünïcødé/日本語.txt',
  'emoji 😀.bin',
  'back\\slash',
  'quote"lt<gt>`{}|^[]',
  '.hidden',
  '...three',
  'a/./b',
  'a/../b',
  './lead',
  'trail/.',
  'x/..',
  '..',
  '.',
  'a//b',
  '~tilde_-.',
  'tab\tname',
  'C:/drive',
  'c|/pipe',
];

test('fileUrls answers what the URL parser makes of every name', () => {
  for (const m of MANIFESTS) {
    const urlOf = fileUrls(m);
    for (const n of NAMES) assert.is(urlOf(n), parsedUrl(m, n), `${m} + ${JSON.stringify(n)}`);
  }
});

test('fileUrls agrees with the parser on generated names', () => {
  // Deterministic: characters from every class that quoting treats differently.
  const alphabet = ['a', 'Z', '0', '-', '.', '_', '~', '!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=', ':', '@', '/', ' ', '%', '#', '?', '"', '<', '>', '\\', '^', '`', '{', '|', '}', '[', ']', 'é', '€', '\u{1F600}'];
  let seed = 20261207;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const urlOfs = MANIFESTS.map((m) => [m, fileUrls(m)] as const);
  for (let i = 0; i < 3000; i++) {
    const len = 1 + Math.floor(next() * 12);
    let n = '';
    for (let j = 0; j < len; j++) n += alphabet[Math.floor(next() * alphabet.length)];
    for (const [m, urlOf] of urlOfs) assert.is(urlOf(n), parsedUrl(m, n), `${m} + ${JSON.stringify(n)}`);
  }
});

test.run();
