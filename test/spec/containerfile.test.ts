/**
 * The Containerfile, without a container engine: its instructions say what the issue asks, every
 * COPY source exists, and the HEALTHCHECK command really tells a live /livez from a dead one
 * (run with this Node against a real local server).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../core/paths.js';

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

async function instructions(): Promise<Instruction[]> {
  const text = await readFile(path.join(PACKAGE_ROOT, 'Containerfile'), 'utf8');
  const out: Instruction[] = [];
  let stage = -1;
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!m || line.trim().startsWith('#')) continue;
    if (m[1] === 'FROM') stage++;
    out.push({ op: m[1]!, args: m[2]!, stage });
  }
  return out;
}

test('two stages on node:22-slim; the final one installs production dependencies only', async () => {
  const ins = await instructions();
  const froms = ins.filter((i) => i.op === 'FROM');
  assert.equal(froms.map((f) => f.args), ['docker.io/library/node:22-slim AS build', 'docker.io/library/node:22-slim']);
  const final = ins.filter((i) => i.stage === 1);
  const runs = final.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(runs.some((r) => r.includes('npm ci --omit=dev --ignore-scripts')), runs.join('\n'));
  assert.ok(final.some((i) => i.op === 'COPY' && i.args === '--from=build /app/dist/ dist/'));
  const build = ins.filter((i) => i.stage === 0 && i.op === 'RUN').map((i) => i.args);
  assert.ok(build.some((r) => r.startsWith('npm ci')) && build.some((r) => r.startsWith('npm run build')));
});

test('non-root user, entrypoint, port, healthcheck', async () => {
  const final = (await instructions()).filter((i) => i.stage === 1);
  const one = (op: string) => final.filter((i) => i.op === op).map((i) => i.args);
  assert.equal(one('USER'), ['node']);
  assert.equal(one('ENTRYPOINT'), ['["pulpdist"]']);
  assert.equal(one('EXPOSE'), ['8080']);
  assert.is(one('HEALTHCHECK').length, 1);
  assert.match(one('HEALTHCHECK')[0]!, /http:\/\/127\.0\.0\.1:8080\/livez/);
  // `pulpdist` resolves on PATH to the bin shim.
  assert.ok(one('RUN').some((r) => r.includes('ln -s /app/bin/pulpdist.js /usr/local/bin/pulpdist')));
});

test('every COPY source of the final stage exists in the project', async () => {
  const copies = (await instructions()).filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
  for (const c of copies) {
    const sources = c.args.split(/\s+/).slice(0, -1);
    for (const s of sources) if (s !== '.') await stat(path.join(PACKAGE_ROOT, s));
  }
  const ignore = await readFile(path.join(PACKAGE_ROOT, '.containerignore'), 'utf8');
  for (const must of ['node_modules', 'dist', '.git']) assert.ok(ignore.split('\n').includes(must), must);
});

/** The HEALTHCHECK's exec form, with its port pointed at a test server. */
async function healthcheckExitCode(port: number): Promise<number | null> {
  const hc = (await instructions()).find((i) => i.op === 'HEALTHCHECK')!;
  const argv = JSON.parse(hc.args.slice(hc.args.indexOf('CMD ') + 4)) as string[];
  assert.is(argv[0], 'node');
  const args = argv.slice(1).map((a) => a.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

test('the healthcheck command passes on a live /livez and fails on a 503 or a closed port', async () => {
  let status = 200;
  const server = http.createServer((req, res) => {
    res.statusCode = req.url === '/livez' ? status : 404;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    assert.is(await healthcheckExitCode(port), 0);
    status = 503;
    assert.is(await healthcheckExitCode(port), 1);
  } finally {
    await new Promise((r) => server.close(r));
  }
  assert.is(await healthcheckExitCode(port), 1);
});

test.run();
