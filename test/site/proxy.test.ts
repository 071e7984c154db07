/**
 * Syncs through a remote's `proxy_url`, against a real forward proxy (Debian's tinyproxy, on
 * 127.0.0.1): an http upstream by absolute-form requests, an https upstream through a CONNECT
 * tunnel with TLS verified end to end (the remote's CA; without it the tunnel's certificate is
 * refused), and a proxy that wants Basic credentials (`proxy_username`/`proxy_password`): 407
 * without them. The proxy's log shows that every request went through it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serveTree, type TreeServer } from '../../testkit/http-tree.js';
import { call, runTask, startSite, type RunningSite } from '../../testkit/site.js';
import { makeTestCertificate } from '../../testkit/tls-cert.js';
import { randomFiles, writeTree, type TreeFile } from '../../testkit/tree.js';

const TINYPROXY = ['/usr/bin/tinyproxy', '/usr/sbin/tinyproxy'].find((p) => existsSync(p));

interface Proxy {
  url: string;
  log: () => Promise<string>;
  stop: () => Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** tinyproxy in the foreground on a free port, with `BasicAuth` when `auth` is given. */
async function startTinyproxy(dir: string, name: string, auth?: { user: string; password: string }): Promise<Proxy> {
  if (!TINYPROXY) throw new Error('these tests need tinyproxy (apt-get install tinyproxy; .ci/run installs it)');
  const port = await freePort();
  const logFile = path.join(dir, `${name}.log`);
  const conf = path.join(dir, `${name}.conf`);
  // No ConnectPort line: CONNECT to any port (the test servers' ports are random).
  const lines = [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 30', `LogFile "${logFile}"`, 'LogLevel Connect', `PidFile "${path.join(dir, `${name}.pid`)}"`, 'MaxClients 64', 'Allow 127.0.0.1'];
  if (auth) lines.push(`BasicAuth ${auth.user} ${auth.password}`);
  await writeFile(conf, lines.join('\n') + '\n');
  const child: ChildProcess = spawn(TINYPROXY, ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tinyproxy did not start on port ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

let tmp: string;
let files: TreeFile[];
let plain: TreeServer;
let secure: TreeServer;
let ca: string;
let open: Proxy;
let guarded: Proxy;
let site: RunningSite;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-proxy-'));
  const tree = path.join(tmp, 'tree');
  files = randomFiles(6, 30_000);
  await writeTree(tree, files);
  const cert = makeTestCertificate(tmp);
  ca = cert.cert;
  plain = await serveTree(tree);
  secure = await serveTree(tree, { tls: { key: cert.key, cert: cert.cert } });
  open = await startTinyproxy(tmp, 'open');
  guarded = await startTinyproxy(tmp, 'guarded', { user: 'alice', password: 'pr0xy-pass' });
  site = await startSite();
});

test.after(async () => {
  await site?.stop();
  await open?.stop();
  await guarded?.stop();
  await plain?.close();
  await secure?.close();
  await rm(tmp, { recursive: true, force: true });
});

let n = 0;
/** A fresh repository synced from `url` with `remote` fields; the finished task. */
async function syncVia(url: string, remote: Record<string, unknown>): Promise<any> {
  const name = `p${n++}`;
  const repo = (await call(site, 'POST', '/pulp/api/v3/repositories/file/file/', { name })).body.pulp_href;
  const r = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name, url: `${url}/PULP_MANIFEST`, max_retries: 0, ...remote });
  assert.is(r.status, 201, JSON.stringify(r.body));
  return runTask(site, 'POST', `${repo}sync/`, { remote: r.body.pulp_href, mirror: true });
}

const port = (u: string) => new URL(u).port;
const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

test('an http upstream through the proxy: absolute-form requests, every one through it', async () => {
  const t = await syncVia(plain.url, { proxy_url: open.url });
  assert.is(t.state, 'completed', JSON.stringify(t.error));
  const log = await open.log();
  const gets = count(log, new RegExp(`Request \\(file descriptor \\d+\\): GET http://127\\.0\\.0\\.1:${port(plain.url)}/\\S+ HTTP/1\\.1`, 'g'));
  assert.is(gets, files.length + 1, 'the manifest and every file through the proxy');
});

test('an https upstream through a CONNECT tunnel, the origin\'s certificate verified end to end', async () => {
  const ok = await syncVia(secure.url.replace('127.0.0.1', 'localhost'), { proxy_url: open.url, ca_cert: ca });
  assert.is(ok.state, 'completed', JSON.stringify(ok.error));
  assert.ok(count(await open.log(), new RegExp(`CONNECT localhost:${port(secure.url)} HTTP/1\\.1`, 'g')) >= 1, 'a tunnel through the proxy');
  // Without the remote's CA the certificate seen through the tunnel is refused: TLS is ours, not the proxy's.
  const refused = await syncVia(secure.url.replace('127.0.0.1', 'localhost'), { proxy_url: open.url });
  assert.is(refused.state, 'failed');
  assert.match(refused.error.description, /self[- ]signed certificate/i);
});

test('a proxy that wants credentials: 407 without them, through with proxy_username/proxy_password', async () => {
  const noAuth = await syncVia(plain.url, { proxy_url: guarded.url });
  assert.is(noAuth.state, 'failed');
  assert.match(noAuth.error.description, /^407, message='Proxy Authentication Required'/);
  const tunnelNoAuth = await syncVia(secure.url.replace('127.0.0.1', 'localhost'), { proxy_url: guarded.url, ca_cert: ca });
  assert.is(tunnelNoAuth.state, 'failed');
  assert.match(tunnelNoAuth.error.description, /the proxy refused CONNECT localhost:\d+: 407/);
  const creds = { proxy_url: guarded.url, proxy_username: 'alice', proxy_password: 'pr0xy-pass' };
  const viaHttp = await syncVia(plain.url, creds);
  assert.is(viaHttp.state, 'completed', JSON.stringify(viaHttp.error));
  const viaTunnel = await syncVia(secure.url.replace('127.0.0.1', 'localhost'), { ...creds, ca_cert: ca });
  assert.is(viaTunnel.state, 'completed', JSON.stringify(viaTunnel.error));
  const wrong = await syncVia(plain.url, { ...creds, proxy_password: 'wrong-pass' });
  assert.is(wrong.state, 'failed');
  assert.not.match(JSON.stringify(wrong), /pr0xy-pass|wrong-pass/);
});

test('the remote API stores proxy fields as real Pulp does: the URL shown, credentials write-only and never in the URL', async () => {
  const made = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'px', url: `${plain.url}/PULP_MANIFEST`, proxy_url: open.url, proxy_username: 'u', proxy_password: 'secret-pw' });
  assert.is(made.status, 201);
  assert.is(made.body.proxy_url, open.url);
  assert.not.ok('proxy_password' in made.body);
  assert.not.ok('proxy_username' in made.body);
  const hidden = Object.fromEntries(made.body.hidden_fields.map((f: { name: string; is_set: boolean }) => [f.name, f.is_set]));
  assert.equal([hidden.proxy_username, hidden.proxy_password], [true, true]);
  const inUrl = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'px2', url: `${plain.url}/PULP_MANIFEST`, proxy_url: 'http://u:p@127.0.0.1:3128' });
  assert.is(inUrl.status, 400);
  assert.equal(inUrl.body, { proxy_url: ['proxy_url must not contain credentials'] });
  const noProxy = await call(site, 'POST', '/pulp/api/v3/remotes/file/file/', { name: 'px3', url: `${plain.url}/PULP_MANIFEST`, proxy_username: 'u', proxy_password: 'p' });
  assert.is(noProxy.status, 400);
  assert.equal(noProxy.body, { non_field_errors: ['proxy credentials cannot be specified without a proxy'] });
  // A PATCH that sets credentials on a remote that already has a proxy is fine.
  const patched = await call(site, 'PATCH', made.body.pulp_href, { proxy_username: 'v', proxy_password: 'w' });
  assert.is(patched.status, 202, JSON.stringify(patched.body));
});

test.run();
