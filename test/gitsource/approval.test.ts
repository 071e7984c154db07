/** The Git approval of a mass delete (gitsource/approval.ts): the trailer, and only as a trailer. */
import { mkdtempSync, rmSync } from 'node:fs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { approvesMassDelete, commitApprovesMassDelete, headApproval } from '../../gitsource/approval.js';
import { runGit } from '../../testkit/git-server.js';

test('approvesMassDelete: a trailer in the last paragraph says yes/true; a mention in the body or a subject does not', () => {
  const table: [string, boolean][] = [
    ['Remove every mirror\n\nPulpdist-Allow-Mass-Delete: yes\n', true],
    ['Remove every mirror\n\nWhy: decommission\n\nSigned-off-by: A <a@x>\npulpdist-allow-mass-delete: TRUE', true],
    ['Remove every mirror\n\nPulpdist-Allow-Mass-Delete: no\n', false],
    ['Pulpdist-Allow-Mass-Delete: yes', false],
    ['Remove\n\nPulpdist-Allow-Mass-Delete: yes\n\nthe body goes on after it', false],
    ['Remove\n\nSee Pulpdist-Allow-Mass-Delete: yes in the docs', false],
    ['Remove every mirror', false],
  ];
  for (const [message, want] of table) assert.is(approvesMassDelete(message), want, message);
});

test('a commit of a repository, and the HEAD of the checkout that holds a spec directory', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pulpdist-approval-'));
  try {
    const work = path.join(dir, 'work');
    fs.mkdirSync(path.join(work, 'mirrors'), { recursive: true });
    runGit(['init', '-q', '-b', 'main'], work);
    fs.writeFileSync(path.join(work, 'mirrors', 'a.yaml'), 'x: 1\n');
    runGit(['add', '-A'], work);
    runGit(['commit', '-q', '-m', 'add'], work);
    assert.equal(await headApproval(fs, path.join(work, 'mirrors')), { commit: runGit(['rev-parse', 'HEAD'], work).trim(), approved: false });
    runGit(['commit', '-q', '--allow-empty', '-m', 'remove all\n\nPulpdist-Allow-Mass-Delete: yes'], work);
    const head = runGit(['rev-parse', 'HEAD'], work).trim();
    assert.equal(await headApproval(fs, path.join(work, 'mirrors')), { commit: head, approved: true });
    assert.is(await commitApprovesMassDelete({ fs, gitdir: path.join(work, '.git'), cache: {} }, head), true);
    assert.is(await commitApprovesMassDelete({ fs, gitdir: path.join(work, '.git'), cache: {} }, runGit(['rev-parse', 'HEAD~1'], work).trim()), false);
    // Not inside a work tree: nothing approves.
    const plain = path.join(dir, 'plain');
    fs.mkdirSync(plain);
    assert.is(await headApproval(fs, plain), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
