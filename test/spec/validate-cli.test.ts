/**
 * `pulpdist validate` as a user runs it (the installed bin, a child process): exit codes, the text
 * lines and summary, and the three machine formats parsed and checked field by field.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, tempDir } from '../../testkit/cli.js';
import { runGit } from '../../testkit/git-server.js';
import { MIRROR_BODY, SITES, mirror } from './fixtures.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
const SECRET = 'tr0ub4dor-and-3';

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-validate-'));
  // bad/: one error in each of two documents, a warning, a document with no kind, a secret.
  await mkdir(path.join(dir, 'bad', 'm'), { recursive: true });
  await writeFile(
    path.join(dir, 'bad', 'sites.yaml'),
    SITES + '---\napiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: s3}\nspec: {pulp: {url: https://s3.example.com, tlsValidation: false, auth: {username: u, password: ' + SECRET + '}}}\n',
  );
  await writeFile(path.join(dir, 'bad', 'm', 'one.yaml'), mirror(MIRROR_BODY.replace('[origin, hub]', '[origin, hub, brq2]')) + '---\nfoo: 1\n');
  await writeFile(path.join(dir, 'bad', 'm', 'two.yaml'), mirror(MIRROR_BODY, 'm2'));
  // warn/: valid, one warning.
  await mkdir(path.join(dir, 'warn'));
  await writeFile(path.join(dir, 'warn', 's.yaml'), SITES.replace('example.com}}', 'example.com, tlsValidation: false}}'));
  // good/: valid, the current directory in one test.
  await mkdir(path.join(dir, 'good'));
  await writeFile(path.join(dir, 'good', 'all.yaml'), SITES + '---\n' + mirror(MIRROR_BODY));
});

test.after(() => cleanup());

test('the example mirrors/ are valid (exit 0)', async () => {
  const r = await runCli(['validate', 'mirrors']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(r.stdout, 'ok: 6 files, 6 documents\n');
});

test('several paths, and a clean run in the machine formats', async () => {
  const r = await runCli(['validate', 'mirrors/sites', 'mirrors/mirrors', '--format', 'junit']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /<testsuites name="pulpdist validate" tests="6" failures="0" errors="0">/);
  assert.match(r.stdout, /<testcase classname="mirrors\/mirrors\/tools.yaml" name="Mirror\/tools" file="mirrors\/mirrors\/tools.yaml" line="3"\/>/);
  const q = await runCli(['validate', 'mirrors', '-f', 'codequality']);
  assert.is(q.code, 0, q.stderr);
  assert.equal(JSON.parse(q.stdout), []);
});

test('with no path it validates the current directory', async () => {
  const r = await runCli(['validate'], { cwd: path.join(dir, 'good') });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(r.stdout, 'ok: 1 file, 3 documents\n');
});

test('text: one FILE:LINE:COLUMN line per problem, then the summary; exit 1', async () => {
  const r = await runCli(['validate', 'bad'], { cwd: dir });
  assert.is(r.code, 1);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines, [
    'bad/m/one.yaml:7:24: error: spec.sites[2]: unknown site "brq2" (known: hub, origin, s3)',
    'bad/m/one.yaml:9:1: error: missing apiVersion: every document starts with "apiVersion: pulpdist/v1"',
    'bad/m/one.yaml:9:1: error: missing kind: say "kind: Site" or "kind: Mirror"',
    'bad/sites.yaml:14:59: warning: spec.pulp.tlsValidation: TLS certificate validation is off: anyone on the path can impersonate this Pulp server',
    'bad/sites.yaml:14:96: error: spec.pulp.auth.password: inline secret: secrets never live in Git: remove it (and rotate it, since Git history keeps it), and give the Pulp password through spec.pulp.auth.passwordEnv (an environment variable) or spec.pulp.auth.passwordFile (a mounted file)',
    '5 problems (4 errors, 1 warning) in 3 files, 6 documents',
  ]);
    assert.not.match(r.stdout + r.stderr, SECRET);
});

test('warnings alone keep exit 0', async () => {
  const r = await runCli(['validate', 'warn'], { cwd: dir });
  assert.is(r.code, 0);
  assert.is(r.stdout, 'warn/s.yaml:4:68: warning: spec.pulp.tlsValidation: TLS certificate validation is off: anyone on the path can impersonate this Pulp server\n1 problem (0 errors, 1 warning) in 1 file, 2 documents\n');
});

test('json: ok, counts and every problem with its fields', async () => {
  const r = await runCli(['validate', 'bad', '--format', 'json'], { cwd: dir });
  assert.is(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; files: number; documents: number; problems: Record<string, unknown>[] };
  assert.equal([out.ok, out.files, out.documents], [false, 3, 6]);
  assert.equal(Object.keys(out.problems[0]!), ['file', 'line', 'column', 'severity', 'message', 'rule']);
  assert.equal(out.problems[0], { file: 'bad/m/one.yaml', line: 7, column: 24, severity: 'error', message: 'spec.sites[2]: unknown site "brq2" (known: hub, origin, s3)', rule: 'unknown-site' });
  assert.ok(out.problems.some((p) => p.rule === 'inline-secret' && p.severity === 'error'));
  assert.ok(out.problems.some((p) => p.rule === 'tls-disabled' && p.severity === 'warning'));
  assert.not.match(r.stdout, SECRET);
  const g = await runCli(['validate', 'good', '--format', 'json'], { cwd: dir });
  assert.is(g.code, 0, g.stderr);
  assert.equal(JSON.parse(g.stdout), { ok: true, files: 1, documents: 3, problems: [] });
});

test('junit: a testsuite per file, a testcase per document, failures with the messages', async () => {
  const r = await runCli(['validate', 'bad', '--format', 'junit'], { cwd: dir });
  assert.is(r.code, 1);
  const xml = r.stdout;
  assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="pulpdist validate" tests="6" failures="3" errors="0">\n/);
  assert.match(xml, /<\/testsuites>\n$/);
  assert.is((xml.match(/<testsuite /g) ?? []).length, 3);
  assert.is((xml.match(/<\/testsuite>/g) ?? []).length, 3);
  const cases = [...xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"/g)].map((m) => `${m[1]} ${m[2]}`);
  assert.equal(cases, ['bad/m/one.yaml Mirror/m1', 'bad/m/one.yaml bad/m/one.yaml#2', 'bad/m/two.yaml Mirror/m2', 'bad/sites.yaml Site/origin', 'bad/sites.yaml Site/hub', 'bad/sites.yaml Site/s3']);
  const m1 = /<testcase [^>]*name="Mirror\/m1"[^>]*>\s*<failure type="unknown-site" message="([^"]*)">([^<]*)<\/failure>/.exec(xml);
  assert.ok(m1, xml);
  assert.is(m1![1], 'spec.sites[2]: unknown site &quot;brq2&quot; (known: hub, origin, s3)');
  assert.is(m1![2], 'bad/m/one.yaml:7:24: error: spec.sites[2]: unknown site &quot;brq2&quot; (known: hub, origin, s3)');
  assert.match(xml, /<testcase classname="bad\/m\/two.yaml" name="Mirror\/m2" file="bad\/m\/two.yaml" line="1"\/>/);
  // The warning rides along in system-out of the document that has it, next to its failure.
  assert.match(xml, /name="Site\/s3"[^>]*>\s*<failure type="inline-secret"[^>]*>[^<]*<\/failure>\s*<system-out>[^<]*warning: spec.pulp.tlsValidation/);
  assert.not.match(xml, SECRET);
  // Every element that opens is closed (a cheap well-formedness check without an XML parser).
  const opened = (xml.match(/<(testsuites|testsuite|testcase|failure|system-out)[ >]/g) ?? []).length;
  const closed = (xml.match(/<\/(testsuites|testsuite|testcase|failure|system-out)>|\/>/g) ?? []).length;
  assert.is(opened, closed);
});

test('codequality: GitLab fields, stable fingerprints, severities', async () => {
  const run = () => runCli(['validate', 'bad', '--format', 'codequality'], { cwd: dir });
  const r = await run();
  assert.is(r.code, 1);
  const issues = JSON.parse(r.stdout) as { description: string; check_name: string; fingerprint: string; severity: string; location: { path: string; lines: { begin: number } } }[];
  assert.is(issues.length, 5);
  const first = issues[0]!;
  assert.equal(Object.keys(first).sort(), ['check_name', 'description', 'fingerprint', 'location', 'severity']);
  assert.equal(first.location, { path: 'bad/m/one.yaml', lines: { begin: 7 } });
  assert.equal([first.check_name, first.severity], ['unknown-site', 'major']);
  assert.is(first.fingerprint, createHash('sha256').update(`unknown-site\u0000bad/m/one.yaml\u0000${first.description}`).digest('hex'));
  assert.ok(issues.some((i) => i.check_name === 'tls-disabled' && i.severity === 'minor'));
  assert.is(new Set(issues.map((i) => i.fingerprint)).size, issues.length);
  assert.equal(JSON.parse((await run()).stdout), issues);
  assert.not.match(r.stdout, SECRET);
});

test('usage errors exit 2 without a stack trace', async () => {
  for (const [args, said] of [
    [['validate', '--frobnicate'], /--frobnicate/],
    [['validate', 'no-such-dir'], /error: path "no-such-dir" does not exist/],
    [['validate', 'good', '--format', 'yaml'], /error: unknown format "yaml" \(use one of: text, json, junit, codequality\)/],
  ] as const) {
    const r = await runCli([...args], { cwd: dir });
    assert.is(r.code, 2, args.join(' '));
    assert.match(r.stderr, said);
    assert.match(r.stderr, /usage: pulpdist validate/);
    assert.not.match(r.stderr, /at .*\.js:\d+/);
    assert.is(r.stdout, '');
  }
});

test('--help explains the formats with examples', async () => {
  const r = await runCli(['validate', '--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /^usage: pulpdist validate \[PATH…\] \[--format text\|json\|junit\|codequality\]/);
  assert.match(r.stdout, /examples:\n {2}pulpdist validate mirrors\n/);
  assert.match(r.stdout, /2 {2}usage error/);
});

test('a file named on its own is checked in its spec set: no false "unknown site", its own errors still shown', async () => {
  const repo = path.join(dir, 'repo');
  await mkdir(path.join(repo, 'specs', 'sites'), { recursive: true });
  await mkdir(path.join(repo, 'specs', 'mirrors'), { recursive: true });
  const [origin, hub] = SITES.split('---\n');
  await writeFile(path.join(repo, 'specs', 'sites', 'origin.yaml'), origin!);
  await writeFile(path.join(repo, 'specs', 'sites', 'hub.yaml'), hub!);
  await writeFile(path.join(repo, 'specs', 'mirrors', 'good.yaml'), mirror(MIRROR_BODY));
  // An error in a file that is not named must not be reported.
  await writeFile(path.join(repo, 'specs', 'mirrors', 'other.yaml'), mirror(MIRROR_BODY.replace('[origin, hub]', '[origin, nowhere]'), 'm9'));
  await writeFile(path.join(repo, 'specs', 'mirrors', 'bad.yaml'), mirror(MIRROR_BODY.replace('[origin, hub]', '[origin, brq2]'), 'm2'));
  runGit(['init', '-q', repo], dir);
  const cwd = path.join(repo, 'specs');

  const hubAlone = await runCli(['validate', 'sites/hub.yaml'], { cwd });
  assert.is(hubAlone.code, 0, hubAlone.stdout + hubAlone.stderr);
  assert.is(hubAlone.stdout, 'ok: 1 file, 1 document\n');
  const two = await runCli(['validate', 'sites/hub.yaml', 'mirrors/bad.yaml'], { cwd });
  assert.is(two.code, 1);
  assert.is(two.stdout.split('\n')[0], 'mirrors/bad.yaml:7:19: error: spec.sites[1]: unknown site "brq2" (known: hub, origin)');
  assert.match(two.stdout, /^1 problem \(1 error, 0 warnings\) in 2 files, 2 documents$/m);
  const explicit = await runCli(['validate', '--context', cwd, path.join(cwd, 'sites', 'hub.yaml')], { cwd: dir });
  assert.is(explicit.code, 0, explicit.stdout);
  // Checked on their own, as before.
  const alone = await runCli(['validate', '--no-context', 'sites/hub.yaml'], { cwd });
  assert.is(alone.code, 1);
  assert.match(alone.stdout, /^sites\/hub\.yaml:4:\d+: error: spec\.upstream: unknown site "origin" \(known: hub\)$/m);
  const both = await runCli(['validate', '--no-context', '--context', '.', 'sites/hub.yaml'], { cwd });
  assert.is(both.code, 2);
});

test('a directory without spec files is an error (exit 1) unless --allow-empty', async () => {
  await mkdir(path.join(dir, 'nothing-here'), { recursive: true });
  const r = await runCli(['validate', path.join(dir, 'nothing-here')]);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stdout, /nothing-here:1:1: error: no \*\.yaml or \*\.yml file under this directory/);
  const ok = await runCli(['validate', '--allow-empty', path.join(dir, 'nothing-here')]);
  assert.is(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, /warning: no \*\.yaml/);
});

test.run();
