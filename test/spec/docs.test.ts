/**
 * The user docs of this part stay true: the GitLab jobs in docs/validate-in-ci.md are valid YAML
 * whose reports are the files their scripts write, and every rule id the rule tests exercise is
 * in the table of docs/specs.md.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../core/paths.js';

async function doc(name: string): Promise<string> {
  return readFile(path.join(PACKAGE_ROOT, 'docs', name), 'utf8');
}

test('each .gitlab-ci.yml job publishes the JUnit and Code Quality files its script writes', async () => {
  const text = await doc('validate-in-ci.md');
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].filter((m) => m[1]!.includes('validate-specs:')).map((m) => parse(m[1]!) as Record<string, { script: string[]; artifacts: { when: string; reports: { junit: string; codequality: string } } }>);
  assert.is(blocks.length, 2);
  for (const block of blocks) {
    const job = block['validate-specs']!;
    const script = job.script.join('\n');
    assert.match(script, new RegExp(`--format junit > ${job.artifacts.reports.junit.replace('.', '\\.')} \\|\\| true`));
    assert.match(script, new RegExp(`--format codequality > ${job.artifacts.reports.codequality.replace('.', '\\.')} \\|\\| true`));
    // The last command sets the job's status and prints the problems in the log.
    assert.match(job.script[job.script.length - 1]!, /pulpdist validate [^>|]+$/);
    assert.is(job.artifacts.when, 'always');
  }
});

test('docs/specs.md lists every rule id', async () => {
  const text = await doc('specs.md');
  const tests = await readFile(path.join(PACKAGE_ROOT, 'test', 'spec', 'rules.test.ts'), 'utf8');
  const robust = await readFile(path.join(PACKAGE_ROOT, 'test', 'spec', 'robustness.test.ts'), 'utf8');
  const ids = new Set([...(tests + robust).matchAll(/:\d+:\d+ (?:error|warning) ([a-z-]+)'/g)].map((m) => m[1]!));
  assert.ok(ids.size >= 25, `only ${ids.size} rule ids found in the tests`);
  for (const id of ids) assert.ok(text.includes('`' + id + '`'), `docs/specs.md does not mention \`${id}\``);
});

test.run();
