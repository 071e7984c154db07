/**
 * Item 6 of issue 8: passwords given through the environment never show. Two sites require basic
 * auth; the controller gets their password, a Git token and a webhook secret through its
 * environment (and, once, the Git token in the repository URL). `plan` (text, json, markdown), `apply`, `run` (with its status endpoint and status
 * commits pushed over authenticated HTTP), `pulpdist status` and /metrics run, also with a wrong
 * password and with secrets written into specs; every output is searched for every secret, also
 * in base64 (a Basic header) and URL-encoded forms.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../../testkit/cli.js';
import { startControllerProcess, type ControllerProcess } from '../../testkit/controller-process.js';
import { makeRepo, runGit, startGitServer, type RunningGitServer } from '../../testkit/git-server.js';
import { getStatus, mirrorDoc, pollUntil, pulpdist, siteDocs, startNetwork, stopNetwork, writeSpecs, writeTreeFiles, type NetSite, type SiteDef } from './support.js';

const SITE_PW = 'Pw-Zq7xK2-siteSecret-91c';
const WRONG_PW = 'Pw-Wr0ng-9f3e-notTheOne';
const GIT_TOKEN = 'glpat-Tk8d-gitSecret-55a0';
const HOOK_SECRET = 'Hk-77b1-hookSecret-e2';
const SECRETS = [SITE_PW, WRONG_PW, GIT_TOKEN, HOOK_SECRET];
/** Every form a secret could leak in: as is, URL-encoded, inside a Basic header. */
const FORMS = SECRETS.flatMap((s) => [
  s,
  encodeURIComponent(s),
  Buffer.from(`admin:${s}`).toString('base64'),
  Buffer.from(`pulpdist:${s}`).toString('base64'),
  Buffer.from(`oauth2:${s}`).toString('base64'),
]);

const SITES: SiteDef[] = [
  { name: 'origin', auth: { username: 'admin', passwordEnv: 'FAULTS_SITE_PW' } },
  { name: 'leaf', upstream: 'origin', auth: { username: 'admin', passwordEnv: 'FAULTS_SITE_PW' } },
];
let dir = '';
let cleanup = async (): Promise<void> => {};
let net: Map<string, NetSite> | undefined;
let git: RunningGitServer | undefined;
let ctl: ControllerProcess | undefined;
let specs = '';
let tree = '';
/** Every text any process or endpoint produced, by where it came from. */
const outputs: [string, string][] = [];

function collect(where: string, text: string): void {
  outputs.push([where, text]);
}

function assertNoSecret(): void {
  const leaks: string[] = [];
  for (const [where, text] of outputs) {
    for (const f of FORMS) if (text.includes(f)) leaks.push(`${where} contains ${f.slice(0, 6)}…`);
  }
  assert.equal(leaks, [], 'no secret in any output');
}

test.before(async () => {
  ({ dir, cleanup } = await tempDir('pulpdist-faults-secrets-'));
  tree = path.join(dir, 'trees', 'm');
  mkdirSync(tree, { recursive: true });
  await writeTreeFiles(tree, { 'a.txt': 'alpha\n', 'sub/b.txt': 'bravo\n' });
  net = await startNetwork(
    SITES.map((s) => ({ ...s, start: { username: 'admin', password: SITE_PW, ...(s.name === 'origin' ? { allowedImportPaths: [path.join(dir, 'trees')] } : {}) } })),
    dir,
  );
  specs = path.join(dir, 'specs');
  await writeSpecs(specs, net, SITES, [{ name: 'm', source: { path: tree }, origin: 'origin', sites: ['origin', 'leaf'] }]);
});

test.after(async () => {
  await ctl?.kill();
  await git?.close();
  for (const n of net?.values() ?? []) collect(`site ${n.name} log`, n.site.stderr());
  await stopNetwork(net);
  await cleanup();
});

const env = (): Record<string, string> => ({ XDG_CACHE_HOME: path.join(dir, 'cache'), FAULTS_SITE_PW: SITE_PW });

test('plan (text, json, markdown) and apply with the right password: converge, and say nothing secret', async () => {
  for (const format of ['text', 'json', 'markdown']) {
    const r = await pulpdist(['plan', '--specs', specs, '--format', format, '--log-level', 'debug'], env());
    assert.is(r.code, 2, r.stdout + r.stderr);
    collect(`plan --format ${format}`, r.stdout + r.stderr);
  }
  const a = await pulpdist(['apply', '--specs', specs, '--log-level', 'debug'], env());
  assert.is(a.code, 0, a.stdout + a.stderr);
  assert.match(a.stderr, /DEBUG pulp request/, 'debug logging was on (requests are logged)');
  collect('apply', a.stdout + a.stderr);
  assertNoSecret();
});

test('a wrong password: a clear 401 message naming the site and the variable, and no secret', async () => {
  const r = await pulpdist(['apply', '--specs', specs, '--log-level', 'debug'], { ...env(), FAULTS_SITE_PW: WRONG_PW });
  const out = r.stdout + r.stderr;
  assert.is(r.code, 1, out);
  assert.match(out, /origin: .*401/);
  assert.match(out, /FAULTS_SITE_PW/, 'the message names the variable to fix');
  collect('apply with a wrong password', out);
  const p = await pulpdist(['plan', '--specs', specs, '--format', 'json'], { ...env(), FAULTS_SITE_PW: WRONG_PW });
  assert.is(p.code, 1);
  collect('plan --format json with a wrong password', p.stdout + p.stderr);
  assertNoSecret();
});

test('secrets written into a spec are refused without being repeated', async () => {
  const bad = path.join(dir, 'bad-specs');
  mkdirSync(bad, { recursive: true });
  await writeTreeFiles(bad, {
    'sites.yaml': siteDocs(net!, SITES).replace('passwordEnv: FAULTS_SITE_PW}', `password: "${SITE_PW}"}`),
    'm.yaml': mirrorDoc({ name: 'm', source: { manifest: `https://oauth2:${GIT_TOKEN}@example.com/PULP_MANIFEST?private_token=${HOOK_SECRET}` }, origin: 'origin', sites: ['origin', 'leaf'] }),
  });
  for (const args of [['validate', bad], ['validate', '--format', 'json', bad], ['validate', '--format', 'junit', bad], ['validate', '--format', 'codequality', bad], ['plan', '--specs', bad], ['apply', '--specs', bad]]) {
    const r = await runCli(args, { env: env() });
    assert.is(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /inline secret/);
    collect(args.join(' '), r.stdout + r.stderr);
  }
  assertNoSecret();
});

test('run: logs (text and json), status JSON, the HTML page, /metrics, pulpdist status and the status commits hold no secret', async () => {
  const repos = path.join(dir, 'repos');
  mkdirSync(repos, { recursive: true });
  const { bare } = makeRepo(repos, 'specs', {
    'specs/sites.yaml': siteDocs(net!, SITES),
    'specs/m.yaml': mirrorDoc({ name: 'm', source: { path: tree }, origin: 'origin', sites: ['origin', 'leaf'] }),
  });
  git = await startGitServer(repos, { auth: { username: 'pulpdist', password: GIT_TOKEN } });
  // JSON logs with the Git token in the environment; text logs with it in the repository URL.
  for (const format of ['json', 'text']) {
    const inUrl = format === 'text';
    const repo = inUrl ? `${git.url.replace('http://', `http://pulpdist:${GIT_TOKEN}@`)}/specs.git` : `${git.url}/specs.git`;
    ctl = await startControllerProcess(
      ['--repo', repo, '--path', 'specs', '--interval', '1s', '--state-dir', path.join(dir, `state-${format}`), '--log-format', format, '--log-level', 'debug',
        '--webhook-secret-env', 'FAULTS_HOOK'],
      { env: { ...env(), ...(inUrl ? {} : { PULPDIST_GIT_USERNAME: 'pulpdist', PULPDIST_GIT_TOKEN: GIT_TOKEN }), FAULTS_HOOK: HOOK_SECRET } },
    );
    const url = ctl.url;
    // Ready too: the second run starts from the status the first one committed (Synced at once).
    await pollUntil('m Synced everywhere, the controller ready', async () => {
      const d = await getStatus(url);
      const ready = (await fetch(`${url}/readyz`)).status === 200;
      return ready && d.mirrors[0]?.sites.length === 2 && d.mirrors[0].sites.every((s) => s.state === 'Synced') ? d : undefined;
    }, 60_000);
    // A webhook with a wrong secret, one with the right one.
    collect('webhook 401', await (await fetch(`${url}/hooks/git`, { method: 'POST', headers: { 'x-gitlab-token': WRONG_PW, 'x-gitlab-event': 'Push Hook' }, body: '{}' })).text());
    for (const p of ['/', '/api/v1/status', '/api/v1/mirrors', '/api/v1/mirrors/m', '/api/v1/sites', '/metrics', '/readyz', '/livez']) {
      const r = await fetch(url + p, { headers: { 'accept-encoding': 'identity' } });
      assert.is(r.status, 200, p);
      collect(`GET ${p} (${format})`, await r.text());
    }
    const st = await runCli(['status', '--server', url, '--json']);
    assert.is(st.code, 0, st.stderr);
    collect('pulpdist status --json', st.stdout + st.stderr);
    const st2 = await runCli(['status', '--server', url]);
    collect('pulpdist status', st2.stdout + st2.stderr);
    await pollUntil('a status commit', async () => {
      try {
        return runGit(['rev-parse', '--verify', '-q', 'refs/heads/pulpdist/status'], bare) || undefined;
      } catch {
        return undefined;
      }
    }, 30_000);
    assert.is(await ctl.stop(), 0, ctl.log().slice(-2000));
    collect(`controller log (${format})`, ctl.log());
    assert.match(ctl.log(), format === 'json' ? /"level":"debug"/ : /^DEBUG /m, 'debug logging was on');
    ctl = undefined;
  }
  collect('status branch history', runGit(['log', '-p', '--format=%H %an <%ae>%n%B', 'pulpdist/status'], bare));
  assert.match(outputs.at(-1)![1], /status\/mirrors\/m\.yaml/);
  assertNoSecret();
});

test('the sites themselves log no password', () => {
  for (const n of net!.values()) collect(`site ${n.name} log`, n.site.stderr());
  assert.ok(outputs.some(([w, t]) => w === 'site origin log' && /request/.test(t)), 'the site logged its requests');
  assertNoSecret();
});

test.run();
