/**
 * The EventSink kind: a valid document becomes an `EventSinkSpec` with every default; every rule
 * has a failing case with its exact FILE:LINE:COLUMN; inline secrets (in a URL, a password field,
 * an Authorization header) are errors that never repeat the value.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT, SCHEMA_DIR } from '../../core/paths.js';
import { MIRROR_BODY, SITES, load, mirror, where } from '../spec/fixtures.js';

/** An EventSink whose `spec:` key is on line 4 and whose body starts on line 5. */
function sink(body: string, name = 'hook'): string {
  return `apiVersion: pulpdist/v1\nkind: EventSink\nmetadata: {name: ${name}}\nspec:\n${body}`;
}

const base = { 'a-sites.yaml': SITES, 'b-mirror.yaml': mirror(MIRROR_BODY) };

test('a full http sink and an amqp sink normalize with their defaults', () => {
  const r = load({
    ...base,
    'c-sinks.yaml': `${sink(`  events:
    types: [org.pulpdist.sync.*, org.pulpdist.tree.propagated]
    mirrors: [m*]
    sites: [hub]
    minSeverity: warning
  queueSize: 50
  http:
    url: https://hooks.example.com/pulpdist?team=releng
    mode: structured
    secretEnv: HOOK_KEY
    headers: {X-Team: releng}
    timeout: 3s
    maxAttempts: 2
`)}---\n${sink(`  amqp:
    url: amqps://broker.example.com:5671/
    address: /exchange/pulpdist/events
    username: pulpdist
    passwordFile: /run/secrets/amqp
    caFile: /etc/pki/ca.pem
`, 'bus')}`,
  });
  assert.equal(where(r), []);
  assert.equal(r.specs.eventSinks?.map((s) => s.name), ['bus', 'hook']);
  const [bus, hook] = r.specs.eventSinks!;
  assert.equal(hook!.events, { types: ['org.pulpdist.sync.*', 'org.pulpdist.tree.propagated'], mirrors: ['m*'], sites: ['hub'], minSeverity: 'warning' });
  assert.is(hook!.queueSize, 50);
  assert.equal(hook!.http, { url: 'https://hooks.example.com/pulpdist?team=releng', mode: 'structured', headers: { 'X-Team': 'releng' }, timeoutMs: 3000, maxAttempts: 2, secret: { env: 'HOOK_KEY' } });
  assert.equal(bus!.events, { minSeverity: 'info' });
  assert.is(bus!.queueSize, 1000);
  assert.equal(bus!.amqp, { url: 'amqps://broker.example.com:5671', address: '/exchange/pulpdist/events', mode: 'binary', username: 'pulpdist', password: { file: '/run/secrets/amqp' }, caFile: '/etc/pki/ca.pem' });
  assert.equal(bus!.position, { file: 'c-sinks.yaml', line: 19, column: 1 });
});

test('a commit without EventSink documents has no eventSinks at all', () => {
  const r = load(base);
  assert.equal(where(r), []);
  assert.is('eventSinks' in r.specs, false);
});

interface Case {
  what: string;
  doc: string;
  expect: string[];
  says?: string;
}

const HTTP_OK = `  http: {url: https://h.example.com/x, secretEnv: K}\n`;
const CASES: Case[] = [
  { what: 'neither http nor amqp', doc: sink('  queueSize: 3\n'), expect: ['s.yaml:4:1 error sink-kind'], says: 'exactly one of "http" or "amqp"' },
  { what: 'both http and amqp', doc: sink(`${HTTP_OK}  amqp: {url: amqp://127.0.0.1:5672, address: q}\n`), expect: ['s.yaml:6:3 error sink-kind'], says: 'not both' },
  { what: 'unknown event type glob', doc: sink(`  events: {types: [sync.*]}\n${HTTP_OK}`), expect: ['s.yaml:5:20 error schema'], says: 'org.pulpdist.sync.*' },
  { what: 'bad severity', doc: sink(`  events: {minSeverity: fatal}\n${HTTP_OK}`), expect: ['s.yaml:5:25 error schema'], says: 'must be one of "info", "warning", "error", got "fatal"' },
  { what: 'user info in the webhook url', doc: sink('  http: {url: "https://u:p@h.example.com/x", secretEnv: K}\n'), expect: ['s.yaml:5:15 error inline-secret'], says: 'spec.http.secretEnv' },
  { what: 'an inline HMAC key', doc: sink('  http: {url: https://h.example.com/x, secret: hunter2hunter2}\n'), expect: ['s.yaml:5:48 error inline-secret'] },
  { what: 'an Authorization header', doc: sink('  http:\n    url: https://h.example.com/x\n    secretEnv: K\n    headers: {Authorization: Bearer abcdefgh}\n'), expect: ['s.yaml:8:15 error inline-secret'], says: 'the Authorization header carries credentials' },
  { what: 'a token header', doc: sink('  http:\n    url: https://h.example.com/x\n    secretEnv: K\n    headers: {X-Auth-Token: abcdefgh}\n'), expect: ['s.yaml:8:29 error inline-secret'] },
  { what: 'both secretEnv and secretFile', doc: sink('  http: {url: https://h.example.com/x, secretEnv: K, secretFile: /k}\n'), expect: ['s.yaml:5:54 error secret-source'] },
  { what: 'unsigned webhook', doc: sink('  http: {url: https://h.example.com/x}\n'), expect: ['s.yaml:5:3 warning unsigned-events'] },
  { what: 'plain http off the machine', doc: sink('  http: {url: http://h.example.com/x, secretEnv: K}\n'), expect: ['s.yaml:5:15 warning plain-http-events'] },
  { what: 'zero timeout', doc: sink('  http: {url: https://h.example.com/x, secretEnv: K, timeout: 0s}\n'), expect: ['s.yaml:5:63 error timeout'] },
  { what: 'an amqp password inline', doc: sink('  amqp: {url: amqps://b.example.com, address: q, password: hunter2hunter2}\n'), expect: ['s.yaml:5:60 error inline-secret'], says: 'spec.amqp.passwordEnv' },
  { what: 'amqp user info', doc: sink('  amqp: {url: "amqps://u:hunter2@b.example.com", address: q}\n'), expect: ['s.yaml:5:15 error inline-secret'] },
  { what: 'amqp url with a path', doc: sink('  amqp: {url: amqps://b.example.com/vhost, address: q}\n'), expect: ['s.yaml:5:15 error schema'], says: 'amqps://host:port' },
  { what: 'password over plain amqp', doc: sink('  amqp: {url: amqp://b.example.com, address: q, username: u, passwordEnv: P}\n'), expect: ['s.yaml:5:15 warning plain-amqp-auth'] },
  { what: 'two user names', doc: sink('  amqp: {url: amqps://b.example.com, address: q, username: u, usernameEnv: U}\n'), expect: ['s.yaml:5:63 error secret-source'] },
  { what: 'a CA file for plain amqp', doc: sink('  amqp: {url: amqp://127.0.0.1:5672, address: q, caFile: /ca.pem}\n'), expect: ['s.yaml:5:58 warning ca-without-tls'] },
  { what: 'a mirror filter that matches nothing', doc: sink(`  events: {mirrors: [m1, fedora-*]}\n${HTTP_OK}`), expect: ['s.yaml:5:26 warning unknown-mirror'] },
  { what: 'a site filter that matches nothing', doc: sink(`  events: {sites: [hubb]}\n${HTTP_OK}`), expect: ['s.yaml:5:20 warning unknown-site'] },
  { what: 'duplicate names', doc: `${sink(HTTP_OK)}---\n${sink(HTTP_OK)}`, expect: ['s.yaml:9:18 error duplicate-name'], says: 'already defined at s.yaml:3:18' },
  { what: 'unknown property', doc: sink(`  http: {url: https://h.example.com/x, secretEnv: K, retries: 3}\n`), expect: ['s.yaml:5:54 error schema'] },
];

for (const c of CASES) {
  test(`EventSink: ${c.what}`, () => {
    const r = load({ ...base, 's.yaml': c.doc });
    assert.equal(where(r), c.expect);
    if (c.says) assert.ok(r.problems[0]!.message.includes(c.says), r.problems[0]!.message);
    for (const p of r.problems) assert.not.ok(/hunter2|abcdefgh/.test(p.message), p.message);
    const errors = r.problems.some((p) => p.severity === 'error');
    // An invalid sink never reaches the spec model; a warning alone does not keep it out.
    assert.is(r.specs.eventSinks?.length ?? 0, errors ? (c.what === 'duplicate names' ? 1 : 0) : 1);
  });
}

test('docs/events.md lists every rule id these cases exercise', () => {
  const text = readFileSync(path.join(PACKAGE_ROOT, 'docs', 'events.md'), 'utf8');
  const ids = new Set(CASES.flatMap((c) => c.expect.map((e) => e.split(' ')[2]!)));
  assert.ok(ids.size >= 12, `only ${ids.size} rule ids`);
  for (const id of ids) assert.ok(text.includes('`' + id + '`'), `docs/events.md does not mention \`${id}\``);
});

test('an unknown kind names EventSink among the kinds', () => {
  const r = load({ 's.yaml': 'apiVersion: pulpdist/v1\nkind: EventSinks\nmetadata: {name: a}\nspec: {}\n' });
  assert.ok(r.problems[0]!.message.includes('Site, Mirror or EventSink'), r.problems[0]!.message);
});

test('eventsink.schema.json: draft-07, descriptions everywhere, closed objects, shared definitions as in site.schema.json', () => {
  const read = (f: string) => JSON.parse(readFileSync(path.join(SCHEMA_DIR, f), 'utf8')) as Record<string, any>;
  const s = read('eventsink.schema.json');
  const site = read('site.schema.json');
  assert.is(s.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.is(s.properties.kind.const, 'EventSink');
  for (const name of ['dnsLabel', 'metadata']) assert.equal(s.definitions[name], site.definitions[name], name);
  const missing: string[] = [];
  const open: string[] = [];
  const walk = (node: unknown, at: string): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, any>;
    if (n.properties && n.additionalProperties !== false) open.push(at);
    for (const [k, v] of Object.entries(n.properties ?? {})) {
      const target = typeof (v as any).$ref === 'string' ? { ...s.definitions[(v as any).$ref.slice(14)], ...(v as object) } : v;
      if (typeof (target as any).description !== 'string') missing.push(`${at}/${k}`);
    }
    for (const [k, v] of Object.entries(n)) if (v && typeof v === 'object') walk(v, `${at}/${k}`);
  };
  walk(s, '#');
  assert.equal(missing, []);
  assert.equal(open, []);
});

test.run();
