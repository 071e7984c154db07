/**
 * Every validation rule with a spec that passes and one that fails, and the exact FILE:LINE:COLUMN
 * of each problem. Positions follow the contract: the value for a bad value, the key for an
 * unknown property, the parent key (or document start) for a missing one, the later occurrence
 * for cross-document rules.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MIRROR_BODY, SITES, load, mirror, where } from './fixtures.js';

/** A Site document whose `spec:` key is on line 4 and whose body starts on line 5. */
function site(name: string, body: string): string {
  return `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: ${name}}\nspec:\n${body}`;
}

const PULP = (name: string) => `  pulp:\n    url: https://pulp.${name}.example.com\n`;

interface Case {
  rule: string;
  good: Record<string, string>;
  bad: Record<string, string>;
  /** Exactly the problems of `bad`, as `FILE:LINE:COLUMN severity rule`. */
  expect: string[];
  /** Substrings the first problem's message must contain / must not contain. */
  says?: string[];
  never?: string[];
}

const CASES: Case[] = [
  {
    rule: 'schema: unknown property at its key, with a suggestion',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  basePath: x\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  basepath: x\n') },
    expect: ['m.yaml:8:3 error schema'],
    says: ['spec.basepath: unknown property "basepath" (did you mean "basePath"?)'],
  },
  {
    rule: 'schema: missing property at the parent key',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY) },
    bad: { 's.yaml': SITES, 'm.yaml': mirror('  source: {path: /srv/m1}\n  sites: [origin, hub]\n') },
    expect: ['m.yaml:4:1 error schema'],
    says: ['spec: missing required property "origin"'],
  },
  {
    rule: 'schema: missing top-level property at the document start',
    good: { 's.yaml': SITES, 'm.yaml': '# a comment\n' + mirror(MIRROR_BODY) },
    bad: { 's.yaml': SITES, 'm.yaml': '# a comment\napiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: m1}\n' },
    expect: ['m.yaml:2:1 error schema'],
    says: ['missing required property "spec"'],
  },
  {
    rule: 'schema: a value that breaks a pattern, at the value',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY) },
    bad: { 's.yaml': SITES, 'm.yaml': mirror('  source: {path: relative/dir}\n  origin: origin\n  sites: [origin, hub]\n') },
    expect: ['m.yaml:5:18 error schema'],
    says: ['spec.source.path: "relative/dir" must be an absolute path'],
  },
  {
    rule: 'schema: a wrong type, at the value',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  retainVersions: 3\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  retainVersions: "3"\n') },
    expect: ['m.yaml:8:19 error schema'],
    says: ['spec.retainVersions: must be an integer, got the string "3"'],
  },
  {
    rule: 'schema: names are DNS labels',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY, 'fedora-40') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY, 'Fedora_40') },
    expect: ['m.yaml:3:18 error schema'],
    says: ['metadata.name: "Fedora_40" must be a DNS label'],
  },
  {
    rule: 'schema: base paths have no leading slash',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  basePath: fedora/40\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  basePath: /fedora/../40\n') },
    expect: ['m.yaml:8:13 error schema'],
    says: ['must be a relative URL path'],
  },
  {
    rule: 'schema: a site listed twice, at the second entry',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY) },
    bad: { 's.yaml': SITES, 'm.yaml': mirror('  source: {path: /srv/m1}\n  origin: origin\n  sites: [origin, hub, origin]\n') },
    expect: ['m.yaml:7:24 error schema'],
    says: ['spec.sites[2]: "origin" is listed twice (also at [0])'],
  },
  {
    rule: 'source-kind: both kinds, at the later key',
    good: { 's.yaml': SITES, 'm.yaml': mirror('  source: {manifest: https://x.example.com/PULP_MANIFEST}\n  origin: origin\n  sites: [origin, hub]\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror('  source: {path: /srv/m1, manifest: https://x.example.com/PULP_MANIFEST}\n  origin: origin\n  sites: [origin, hub]\n') },
    expect: ['m.yaml:5:27 error source-kind'],
    says: ['spec.source.manifest: give exactly one of "path" or "manifest", not both'],
  },
  {
    rule: 'source-kind: neither kind, at the source key',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY) },
    bad: { 's.yaml': SITES, 'm.yaml': mirror('  source: {}\n  origin: origin\n  sites: [origin, hub]\n') },
    expect: ['m.yaml:5:3 error source-kind'],
    says: ['spec.source: needs exactly one of "path" or "manifest"'],
  },
  {
    rule: 'schedule-kind: interval and cron together',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  schedule: {interval: 6h}\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  schedule: {interval: 6h, cron: "0 * * * *"}\n') },
    expect: ['m.yaml:8:28 error schedule-kind'],
  },
  {
    rule: 'schema: durations',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  schedule: {interval: 1h30m}\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  schedule: {interval: 6 hours}\n') },
    expect: ['m.yaml:8:24 error schema'],
    says: ['must be a duration such as 30s, 15m, 6h, 1d'],
  },
  {
    rule: 'interval: zero',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  schedule: {interval: 30s}\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  schedule: {interval: 0s}\n') },
    expect: ['m.yaml:8:24 error interval'],
  },
  {
    rule: 'cron: a field out of range, at the value (cron-parser)',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  schedule: {cron: "0 23 * * 1-5"}\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  schedule: {cron: "0 25 * * 1-5"}\n') },
    expect: ['m.yaml:8:20 error cron'],
    says: ['spec.schedule.cron: invalid cron expression "0 25 * * 1-5"'],
  },
  {
    rule: 'schema: cron expressions have 5 fields',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  schedule: {cron: "*/15 * * * *"}\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  schedule: {cron: "0 0 * * * *"}\n') },
    expect: ['m.yaml:8:20 error schema'],
    says: ['5-field cron expression'],
  },
  {
    rule: 'schema: bandwidths',
    good: { 's.yaml': SITES + '---\n' + site('s1', PULP('s1') + '  limits: {bandwidth: 200Mbit/s}\n') },
    bad: { 's.yaml': SITES + '---\n' + site('s1', PULP('s1') + '  limits: {bandwidth: 200 Mbps}\n') },
    expect: ['s.yaml:17:23 error schema'],
    says: ['spec.limits.bandwidth: "200 Mbps" must be a bandwidth such as 50MiB/s or 200Mbit/s'],
  },
  {
    rule: 'bandwidth: zero',
    good: { 's.yaml': SITES + '---\n' + site('s1', PULP('s1') + '  limits: {bandwidth: 1MiB/s}\n') },
    bad: { 's.yaml': SITES + '---\n' + site('s1', PULP('s1') + '  limits: {bandwidth: 0MiB/s}\n') },
    expect: ['s.yaml:17:23 error bandwidth'],
  },
  {
    rule: 'schema: the API URL is an origin',
    good: { 's.yaml': site('s1', PULP('s1')) },
    bad: { 's.yaml': site('s1', '  pulp:\n    url: pulp.s1.example.com/api\n') },
    expect: ['s.yaml:6:10 error schema'],
    says: ['must be an http(s) origin'],
  },
  {
    rule: 'auth-password: neither passwordEnv nor passwordFile, at the auth key',
    good: { 's.yaml': site('s1', PULP('s1') + '    auth: {username: u, passwordEnv: S1_PASSWORD}\n') },
    bad: { 's.yaml': site('s1', PULP('s1') + '    auth: {username: u}\n') },
    expect: ['s.yaml:7:5 error auth-password'],
  },
  {
    rule: 'auth-password: both, at the later key',
    good: { 's.yaml': site('s1', PULP('s1') + '    auth: {username: u, passwordFile: /run/secrets/s1}\n') },
    bad: { 's.yaml': site('s1', PULP('s1') + '    auth: {username: u, passwordEnv: A, passwordFile: /run/p}\n') },
    expect: ['s.yaml:7:41 error auth-password'],
  },
  {
    rule: 'inline-secret: a password in auth, at the value, never repeated',
    good: { 's.yaml': site('s1', PULP('s1') + '    auth: {username: u, passwordEnv: S1_PASSWORD}\n') },
    bad: { 's.yaml': site('s1', PULP('s1') + '    auth: {username: u, password: hunter2-very-secret}\n') },
    expect: ['s.yaml:7:35 error inline-secret'],
    says: ['spec.pulp.auth.password: inline secret', 'passwordEnv', 'passwordFile'],
    never: ['hunter2'],
  },
  {
    rule: 'schema: a password pasted where its variable name belongs is not repeated',
    good: { 's.yaml': site('s1', PULP('s1') + '    auth: {username: u, passwordEnv: S1_PASSWORD}\n') },
    bad: { 's.yaml': site('s1', PULP('s1') + '    auth: {username: u, passwordEnv: "c0rrect horse!"}\n') },
    expect: ['s.yaml:7:38 error schema'],
    says: ['spec.pulp.auth.passwordEnv: the value must be an environment variable name'],
    never: ['c0rrect', 'horse'],
  },
  {
    rule: 'inline-secret: a password in the URL user info',
    good: { 's.yaml': site('s1', PULP('s1')) },
    bad: { 's.yaml': site('s1', '  pulp:\n    url: https://admin:s3cr3t-pw@pulp.s1.example.com\n') },
    expect: ['s.yaml:6:10 error inline-secret'],
    says: ['passwordEnv'],
    never: ['s3cr3t-pw'],
  },
  {
    rule: 'inline-secret: a token anywhere (no unknown-property error on top)',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY) },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  apiToken: abc123-token-value\n') },
    expect: ['m.yaml:8:13 error inline-secret'],
    never: ['abc123'],
  },
  {
    rule: 'inline-secret: a token in a manifest URL query',
    good: { 's.yaml': SITES, 'm.yaml': mirror('  source: {manifest: "https://x.example.com/PULP_MANIFEST"}\n  origin: origin\n  sites: [origin]\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror('  source: {manifest: "https://x.example.com/PULP_MANIFEST?token=zz9-value"}\n  origin: origin\n  sites: [origin]\n') },
    expect: ['m.yaml:5:22 error inline-secret'],
    never: ['zz9-value'],
  },
  {
    rule: 'duplicate-name: the later file in path order, whatever order files come in',
    good: { 'b.yaml': SITES.replace('name: origin}', 'name: origin2}'), 'a.yaml': site('origin', PULP('origin')) },
    bad: { 'b.yaml': SITES, 'a.yaml': site('origin', PULP('origin')) },
    expect: ['b.yaml:3:18 error duplicate-name'],
    says: ['metadata.name: duplicate Site name "origin": already defined at a.yaml:3:18'],
  },
  {
    rule: 'duplicate-name: mirrors across files',
    good: { 's.yaml': SITES, 'a.yaml': mirror(MIRROR_BODY), 'b.yaml': mirror(MIRROR_BODY, 'm2') },
    bad: { 's.yaml': SITES, 'a.yaml': mirror(MIRROR_BODY), 'b.yaml': mirror(MIRROR_BODY) },
    expect: ['b.yaml:3:18 error duplicate-name'],
  },
  {
    rule: 'unknown-site: in sites, naming the known ones',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY) },
    bad: { 's.yaml': SITES, 'm.yaml': mirror('  source: {path: /srv/m1}\n  origin: origin\n  sites: [origin, hub, brq2]\n') },
    expect: ['m.yaml:7:24 error unknown-site'],
    says: ['spec.sites[2]: unknown site "brq2" (known: hub, origin)'],
  },
  {
    rule: 'unknown-site: an upstream',
    good: { 's.yaml': SITES + '---\n' + site('s1', PULP('s1') + '  upstream: hub\n') },
    bad: { 's.yaml': SITES + '---\n' + site('s1', PULP('s1') + '  upstream: hbu\n') },
    expect: ['s.yaml:17:13 error unknown-site'],
    says: ['spec.upstream: unknown site "hbu" (known: hub, origin, s1)'],
  },
  {
    rule: 'unknown-site and origin-not-in-sites: an origin',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY) },
    bad: { 's.yaml': SITES, 'm.yaml': mirror('  source: {path: /srv/m1}\n  origin: orgin\n  sites: [origin, hub]\n') },
    expect: ['m.yaml:6:11 error origin-not-in-sites', 'm.yaml:6:11 error unknown-site'],
  },
  {
    rule: 'origin-not-in-sites',
    good: { 's.yaml': SITES, 'm.yaml': mirror('  source: {path: /srv/m1}\n  origin: hub\n  sites: [hub]\n') },
    bad: { 's.yaml': SITES, 'm.yaml': mirror('  source: {path: /srv/m1}\n  origin: hub\n  sites: [origin]\n') },
    expect: ['m.yaml:6:11 error origin-not-in-sites'],
    says: ['spec.origin: origin "hub" is not one of sites (origin)'],
  },
  {
    rule: 'upstream-cycle: named, at the later member',
    good: {
      's.yaml': 'apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: a}\nspec: {pulp: {url: https://a.example.com}, upstream: b}\n---\n' + 'apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: b}\nspec: {pulp: {url: https://b.example.com}}\n',
    },
    bad: {
      's.yaml': 'apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: a}\nspec: {pulp: {url: https://a.example.com}, upstream: b}\n---\n' + 'apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: b}\nspec: {pulp: {url: https://b.example.com}, upstream: a}\n',
    },
    expect: ['s.yaml:9:54 error upstream-cycle'],
    says: ['spec.upstream: upstream cycle: b → a → b'],
  },
  {
    rule: 'upstream-cycle: a site that is its own upstream',
    good: { 's.yaml': SITES },
    bad: { 's.yaml': SITES.replace('upstream: origin', 'upstream: hub') },
    expect: ['s.yaml:9:61 error upstream-cycle'],
    says: ['upstream cycle: hub → hub'],
  },
  {
    rule: 'base-path-conflict: the same base path twice',
    good: { 's.yaml': SITES, 'a.yaml': mirror(MIRROR_BODY + '  basePath: x/y\n'), 'b.yaml': mirror(MIRROR_BODY + '  basePath: x/z\n', 'm2') },
    bad: { 's.yaml': SITES, 'a.yaml': mirror(MIRROR_BODY + '  basePath: x/y\n'), 'b.yaml': mirror(MIRROR_BODY + '  basePath: x/y\n', 'm2') },
    expect: ['b.yaml:8:13 error base-path-conflict'],
    says: ['spec.basePath: basePath "x/y" is already used by mirror "m1" (a.yaml:8:13)'],
  },
  {
    rule: 'base-path-conflict: a base path inside another',
    good: { 's.yaml': SITES, 'a.yaml': mirror(MIRROR_BODY + '  basePath: x\n'), 'b.yaml': mirror(MIRROR_BODY + '  basePath: xy/z\n', 'm2') },
    bad: { 's.yaml': SITES, 'a.yaml': mirror(MIRROR_BODY + '  basePath: x\n'), 'b.yaml': mirror(MIRROR_BODY + '  basePath: x/z\n', 'm2') },
    expect: ['b.yaml:8:13 error base-path-conflict'],
    says: ['basePath "x/z" is inside basePath "x" of mirror "m1"'],
  },
  {
    rule: 'base-path-conflict: a base path around another, the default one (the name)',
    good: { 's.yaml': SITES, 'a.yaml': mirror(MIRROR_BODY + '  basePath: fedora-40/x86\n'), 'b.yaml': mirror(MIRROR_BODY, 'fedora') },
    bad: { 's.yaml': SITES, 'a.yaml': mirror(MIRROR_BODY + '  basePath: fedora/x86\n'), 'b.yaml': mirror(MIRROR_BODY, 'fedora') },
    expect: ['b.yaml:3:18 error base-path-conflict'],
    says: ['basePath "fedora" (the default: the mirror\'s name) contains basePath "fedora/x86" of mirror "m1"'],
  },
  {
    rule: 'upstream-bypass: a warning when nothing up the chain carries a mirror (exit stays 0)',
    good: { 's.yaml': SITES + '---\n' + site('leaf', PULP('leaf') + '  upstream: hub\n'), 'm.yaml': mirror('  source: {path: /srv/m1}\n  origin: origin\n  sites: [origin, leaf]\n') },
    bad: {
      's.yaml': SITES + '---\n' + site('leaf', PULP('leaf') + '  upstream: hub\n') + '---\n' + site('other', PULP('other')),
      'm.yaml': mirror('  source: {path: /srv/m1}\n  origin: other\n  sites: [other, leaf]\n'),
    },
    expect: ['m.yaml:7:18 warning upstream-bypass'],
    says: ['site "leaf" will pull this mirror straight from its origin "other": no site up its upstream chain (hub → origin) carries it'],
  },
  {
    rule: 'tls-disabled: a warning',
    good: { 's.yaml': site('s1', PULP('s1') + '    tlsValidation: true\n') },
    bad: { 's.yaml': site('s1', PULP('s1') + '    tlsValidation: false\n') },
    expect: ['s.yaml:7:20 warning tls-disabled'],
  },
  {
    rule: 'plain-http-auth: a warning, except on loopback',
    good: { 's.yaml': site('s1', '  pulp:\n    url: http://127.0.0.1:24817\n    auth: {username: u, passwordEnv: P}\n') + '---\n' + site('s2', '  pulp:\n    url: "http://[::1]:8080"\n    auth: {username: u, passwordEnv: P}\n') },
    bad: { 's.yaml': site('s1', '  pulp:\n    url: http://pulp.s1.example.com\n    auth: {username: u, passwordEnv: P}\n') },
    expect: ['s.yaml:6:10 warning plain-http-auth'],
  },
  {
    rule: 'duplicate-key: at the second key',
    good: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY) },
    bad: { 's.yaml': SITES, 'm.yaml': mirror(MIRROR_BODY + '  origin: hub\n') },
    expect: ['m.yaml:8:3 error duplicate-key'],
  },
  {
    rule: 'yaml-syntax: a tab as indentation',
    good: { 's.yaml': site('s1', PULP('s1')) },
    bad: { 's.yaml': site('s1', '  pulp:\n\turl: https://pulp.s1.example.com\n') },
    expect: ['s.yaml:6:1 error yaml-syntax'],
    says: ['tab used for indentation'],
  },
  {
    rule: 'api-version: unknown, at the value',
    good: { 's.yaml': SITES },
    bad: { 's.yaml': SITES.replace('apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: hub}', 'apiVersion: pulpdist/v2\nkind: Site\nmetadata: {name: hub}') },
    expect: ['s.yaml:6:13 error api-version'],
    says: ['apiVersion: unknown apiVersion "pulpdist/v2" (expected "pulpdist/v1")'],
  },
  {
    rule: 'kind: unknown, at the value, with a hint for the case',
    good: { 's.yaml': SITES },
    bad: { 's.yaml': SITES.replace('kind: Site\nmetadata: {name: hub}', 'kind: site\nmetadata: {name: hub}') },
    expect: ['s.yaml:7:7 error kind'],
    says: ['unknown kind "site" (expected "Site"; kinds are case-sensitive)'],
  },
  {
    rule: 'kind: missing, at the document start',
    good: { 's.yaml': SITES },
    bad: { 's.yaml': SITES.replace('kind: Site\nmetadata: {name: hub}', 'metadata: {name: hub}') },
    expect: ['s.yaml:6:1 error kind'],
  },
  {
    rule: 'document-shape: a list is not a spec',
    good: { 's.yaml': SITES },
    bad: { 's.yaml': SITES + '---\n- a\n- b\n' },
    expect: ['s.yaml:11:1 error document-shape'],
  },
];

for (const c of CASES) {
  test(`${c.rule}`, () => {
    const good = load(c.good);
    assert.equal(where(good), [], 'the passing spec has problems: ' + good.problems.map((p) => p.message).join('; '));
    const bad = load(c.bad);
    assert.equal(where(bad), c.expect);
    const text = bad.problems.map((p) => p.message).join('\n');
    for (const s of c.says ?? []) assert.ok(bad.problems[0]!.message.includes(s), `expected ${JSON.stringify(s)} in ${JSON.stringify(bad.problems[0]!.message)}`);
    for (const s of c.never ?? []) assert.not.ok(text.includes(s), `the messages repeat ${JSON.stringify(s)}: ${text}`);
  });
}

test('a file order given by the caller does not change the problems', () => {
  const files = { 'b.yaml': SITES, 'a.yaml': SITES, 'c.yaml': mirror(MIRROR_BODY.replace('[origin, hub]', '[origin, hub, x]')) };
  const reversed = Object.fromEntries(Object.entries(files).reverse());
  assert.equal(load(files).problems, load(reversed).problems);
  assert.equal(where(load(files)), ['b.yaml:3:18 error duplicate-name', 'b.yaml:8:18 error duplicate-name', 'c.yaml:7:24 error unknown-site']);
});

test.run();
