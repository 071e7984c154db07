import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ManifestParseError, parseManifest } from '../../manifest/parse.js';

const D = 'a'.repeat(64);
const E = 'b'.repeat(64);

function failsOn(text: string | Uint8Array, line: number, re: RegExp): void {
  try {
    parseManifest(text);
  } catch (err) {
    assert.instance(err, ManifestParseError);
    assert.is((err as ManifestParseError).line, line);
    assert.is((err as ManifestParseError).code, 'ManifestParseError');
    assert.match((err as Error).message, re);
    assert.match((err as Error).message, new RegExp(`line ${line}\\b`));
    return;
  }
  assert.unreachable(`expected a failure on line ${line}`);
}

test('pulp_file rules: last two commas, stripping, blank and # lines skipped, every line counted', () => {
  const text = `# comment\n\n  a,b.txt , ${D} , 12 \r\nsub/c.bin,${E},0\n`;
  assert.equal(parseManifest(text), [
    { relativePath: 'a,b.txt', sha256: D, size: 12 },
    { relativePath: 'sub/c.bin', sha256: E, size: 0 },
  ]);
  failsOn(`# c\n\nx,${D},1\nbad line\n`, 4, /relative_path,sha256,size/);
});

test('bytes are decoded as strict UTF-8 and a bad byte names its line', () => {
  const good = new TextEncoder().encode(`é.txt,${D},1\n`);
  assert.is(parseManifest(good)[0]!.relativePath, 'é.txt');
  const bad = Buffer.concat([Buffer.from(`a,${D},1\n`), Buffer.from([0x62, 0xff, 0x2c]), Buffer.from(`${D},1\n`)]);
  failsOn(bad, 2, /UTF-8/);
});

test('hardening: traversal, absolute, backslash, NUL, empty segments', () => {
  failsOn(`../etc/passwd,${D},1`, 1, /"\.\." segment/);
  failsOn(`a/../../b,${D},1`, 1, /"\.\." segment/);
  failsOn(`ok,${D},1\n./a,${D},1`, 2, /"\." segment/);
  failsOn(`/abs,${D},1`, 1, /absolute/);
  failsOn(`a\\b,${D},1`, 1, /backslash/);
  failsOn(`a\0b,${D},1`, 1, /NUL/);
  failsOn(`a//b,${D},1`, 1, /empty segment/);
  failsOn(`a/,${D},1`, 1, /ends with/);
  failsOn(`,${D},1`, 1, /empty/);
});

test('digest and size rules', () => {
  failsOn(`a,${D.toUpperCase()},1`, 1, /64 lowercase hex/);
  failsOn(`a,${D.slice(1)},1`, 1, /64 lowercase hex/);
  failsOn(`a,${D},-1`, 1, /whole number/);
  failsOn(`a,${D},1.5`, 1, /whole number/);
  failsOn(`a,${D},9007199254740993`, 1, /too large/);
  assert.is(parseManifest(`a,${D},9007199254740991`)[0]!.size, Number.MAX_SAFE_INTEGER);
});

test('duplicates and file/directory overlaps fail on the second line', () => {
  failsOn(`a,${D},1\nb,${D},1\na,${E},2`, 3, /duplicate .*line 1/);
  failsOn(`a,${D},1\na/b,${D},1`, 2, /inside "a"/);
  failsOn(`a/b,${D},1\na,${D},1`, 2, /directory/);
});

test('a line over 64 KiB is refused', () => {
  failsOn(`${'x'.repeat(70_000)},${D},1`, 1, /longer than/);
});

test('property: any list of safe entries round-trips through its text', () => {
  const seg = fc.stringMatching(/^[a-zA-Z0-9_,. -]{1,8}$/).filter((s) => s.trim() === s && s !== '.' && s !== '..' && !s.startsWith('#'));
  const entry = fc.record({
    relativePath: fc.array(seg, { minLength: 1, maxLength: 3 }).map((a) => a.join('/')),
    sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
    size: fc.nat(),
  });
  fc.assert(
    fc.property(fc.uniqueArray(entry, { selector: (e) => e.relativePath, maxLength: 20 }), (entries) => {
      // Drop entries that nest inside another entry's path (a file cannot also be a directory).
      const paths = new Set(entries.map((e) => e.relativePath));
      const ok = entries.filter((e) => !e.relativePath.split('/').some((_, i, a) => i > 0 && paths.has(a.slice(0, i).join('/'))));
      const keep = ok.filter((e) => !ok.some((o) => o.relativePath.startsWith(e.relativePath + '/')));
      const text = keep.map((e) => `${e.relativePath},${e.sha256},${e.size}`).join('\n');
      assert.equal(parseManifest(text), keep.map((e) => ({ relativePath: e.relativePath, sha256: e.sha256, size: e.size })));
    }),
  );
});

test.run();
