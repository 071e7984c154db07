#!/usr/bin/env node
// Runs every compiled uvu test file (dist/test/**/*.test.js) in its own Node process, so that one
// file's leaked handle or crash cannot hide another's results, then prints uvu's totals summed up
// as one closing line: `N passed, N failed`.
//
// usage: node scripts/run-tests.mjs [SUBSTRING…]   (only files whose path contains a substring)
// env:   TEST_JOBS (parallel files, default 2), TEST_FILE_TIMEOUT (seconds per file, default 600)
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const testDir = path.join(root, 'dist', 'test');
const filters = process.argv.slice(2);
/** A positive whole number from the environment, or the runner stops with a usage error. */
function envCount(name, fallback) {
  const text = process.env[name] ?? String(fallback);
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.log(`error: ${name} must be a whole number ≥ 1, got "${text}"`);
    console.log('0 passed, 1 failed');
    process.exit(2);
  }
  return n;
}
const jobs = envCount('TEST_JOBS', 2);
const timeoutS = envCount('TEST_FILE_TIMEOUT', 600);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = walk(testDir).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.log('no test files matched');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
const started = Date.now();

/** SIGKILL a test file's process group; one that is already gone is fine, anything else is reported. */
function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if (err.code !== 'ESRCH') console.log(`warning: could not kill test process group ${pid}: ${err.message}`);
  }
}

function runFile(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--enable-source-maps', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutS * 1000);
    // A file that could not even be started is a failure of its own, never a silent skip.
    child.on('error', (err) => (out += `\n(could not run: ${err.message})`));
    child.on('close', (code) => {
      clearTimeout(timer);
      const text = strip(out);
      const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? NaN);
      const ok = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? NaN);
      const skip = Number(/Skipped:\s+(\d+)/.exec(text)?.[1] ?? 0);
      const rel = path.relative(root, file);
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      if (Number.isNaN(total) || Number.isNaN(ok)) {
        failed += 1;
        failures.push({ rel, text: text + (timedOut ? `\n(timed out after ${timeoutS}s)` : `\n(exit code ${code}, no uvu totals)`) });
        console.log(`✗ ${rel}: no totals (${timedOut ? 'timed out' : 'exit ' + code}) ${secs}s`);
      } else {
        const bad = total - ok - skip;
        passed += ok;
        skipped += skip;
        // A file that exits non-zero with every test passed still failed (e.g. a crash in `after`).
        const fileFailed = bad > 0 || code !== 0;
        failed += bad > 0 ? bad : code !== 0 ? 1 : 0;
        if (fileFailed) failures.push({ rel, text });
        console.log(`${fileFailed ? '✗' : '✓'} ${rel}: ${ok}/${total} passed${skip ? `, ${skip} skipped` : ''} ${secs}s`);
      }
      resolve();
    });
  });
}

const queue = [...files];
await Promise.all(
  Array.from({ length: Math.max(1, jobs) }, async () => {
    while (queue.length) await runFile(queue.shift());
  }),
);

for (const f of failures) {
  console.log(`\n──── ${f.rel} ────\n${f.text.trim()}`);
}
console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(1)}s`);
if (passed + failed === 0) failed = 1; // a run that ran no test is a failure
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
