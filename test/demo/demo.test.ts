/**
 * `pulpdist demo` as a user runs it: it prints its URLs, every bundled mirror becomes Synced at
 * every one of its sites, a commit to the demo repository is picked up, and Ctrl-C (SIGINT) exits
 * 0 and removes the temp dir.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusDocument } from '../../core/status.js';
import { BIN } from '../../testkit/cli.js';
import { runGit } from '../../testkit/git-server.js';

test('demo: sites + repo + controller; every mirror Synced; a commit is applied; SIGINT cleans up', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--listen', '127.0.0.1:0', '--interval', '3s'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dir = '';
  try {
    const end = Date.now() + 60_000;
    while (!/pulpdist demo is running/.test(out)) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`demo did not start:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    dir = /setting up in (\S+)/.exec(out)![1]!;
    const url = /status page\s+(http:\/\/\S+?)\/\s/.exec(out)![1]!;
    const repo = /spec repository\s+(\S+)/.exec(out)![1]!;
    assert.ok(existsSync(dir));
    assert.match(out, /site origin: http:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, /git commit -am/);

    const poll = async (pred: (d: StatusDocument) => boolean, what: string): Promise<StatusDocument> => {
      const until = Date.now() + 90_000;
      let last: StatusDocument | null = null;
      while (Date.now() < until) {
        last = await fetch(`${url}/api/v1/status`).then((r) => r.json() as Promise<StatusDocument>, () => null);
        if (last && pred(last)) return last;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last?.mirrors.map((m) => m.sites.map((c) => `${m.name}@${c.site}:${c.state}:${c.message}`)))}\n${err.slice(-3000)}`);
    };
    const doc = await poll((d) => d.mirrors.length > 0 && d.mirrors.every((m) => m.sites.every((c) => c.state === 'Synced')), 'every mirror Synced');
    assert.equal(doc.sites.map((s) => s.name), ['hub', 'leaf', 'origin']);
    assert.ok(doc.mirrors.length >= 3);
    assert.is(doc.controller.specErrors.length, 0);

    // The printed next steps, pasted into a second shell that has none of the demo's variables:
    // the status view, then cd + the env file + plan (converged: no changes, exit 0).
    const steps = out.slice(out.indexOf('Try next')).split('\n').map((l) => l.replace(/\s+# .*$/, '').trim());
    const step = (re: RegExp): string => steps.find((l) => re.test(l)) ?? assert.unreachable(`no step matching ${re} in:\n${out}`) as never;
    const shellEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', XDG_CACHE_HOME: path.join(dir, 'cache') };
    const script = [step(/^cd /), step(/^\. .*env\.sh$/), step(/ plan --specs mirrors$/), step(/ status --server /)].join(' && ');
    const second = spawnSync('sh', ['-c', script], { env: shellEnv, encoding: 'utf8', timeout: 60_000 });
    assert.is(second.status, 0, `${script}\n${second.stdout}\n${second.stderr}`);
    assert.match(second.stdout, /No changes: every site matches the specs\./);
    assert.match(second.stdout, /^tools\s+Synced/m);
    assert.not.match(second.stderr, /is not set/);
    const noEnv = spawnSync('sh', ['-c', `${step(/^cd /)} && ${step(/ plan --specs mirrors$/)}`], { env: shellEnv, encoding: 'utf8', timeout: 60_000 });
    assert.is(noEnv.status, 1, 'without the env file the passwords are missing: the step is needed');

    // What the printed instructions say: edit a spec, commit, watch it apply.
    const tools = path.join(repo, 'mirrors', 'mirrors', 'tools.yaml');
    writeFileSync(tools, readFileSync(tools, 'utf8').replace(/sites: \[origin, leaf\]/, 'sites: [origin, hub, leaf]'));
    runGit(['commit', '-q', '-am', 'carry tools at the hub'], repo);
    const head = runGit(['rev-parse', 'HEAD'], repo);
    const after = await poll((d) => d.controller.observedCommit === head && (d.mirrors.find((m) => m.name === 'tools')?.sites.every((c) => c.state === 'Synced') ?? false), 'the commit applied');
    assert.equal(after.mirrors.find((m) => m.name === 'tools')!.sites.map((c) => c.site).sort(), ['hub', 'leaf', 'origin']);
    assert.match(runGit(['log', '-1', '--format=%an %s', 'pulpdist/status'], repo), /^pulpdist status: .*\[skip ci\]/);
  } finally {
    child.kill('SIGINT');
    const code = await exited;
    assert.is(code, 0, err.slice(-2000));
  }
  assert.ok(dir && !existsSync(dir), `temp dir ${dir} removed`);
});

test.run();
