/** Where specs come from, read from real repositories made with git: clone, linked worktree, bare. */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { originInConfig, originOf, specSourceOf } from '../../gitsource/identity.js';
import { tempDir } from '../../testkit/cli.js';

const git = (...args: string[]) => execFileSync('git', args, { env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } });

test('originInConfig: the url of [remote "origin"] only', () => {
  const text = '[core]\n\tbare = false\n[remote "upstream"]\n\turl = https://a/x.git\n[remote "origin"]\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n\turl = git@host:g/r.git\n';
  assert.is(originInConfig(text), 'git@host:g/r.git');
  assert.is(originInConfig('[remote "upstream"]\n\turl = https://a/x.git\n'), null);
});

test('a clone, a linked worktree of it, a bare repository, and a directory outside any', async () => {
  const { dir, cleanup } = await tempDir('pulpdist-identity-');
  try {
    const clone = path.join(dir, 'clone');
    await mkdir(path.join(clone, 'specs', 'sub'), { recursive: true });
    await writeFile(path.join(clone, 'specs', 'sub', 'm.yaml'), 'x\n');
    git('init', '-q', '-b', 'main', clone);
    git('-C', clone, 'remote', 'add', 'origin', 'https://gitlab.example.com/infra/mirrors.git');
    git('-C', clone, 'add', '.');
    git('-C', clone, 'commit', '-q', '-m', 'x');
    assert.equal(await specSourceOf(path.join(clone, 'specs')), { repo: 'https://gitlab.example.com/infra/mirrors.git', path: 'specs' });
    assert.equal(await specSourceOf(path.join(clone, 'specs', 'sub', 'm.yaml')), { repo: 'https://gitlab.example.com/infra/mirrors.git', path: 'specs/sub/m.yaml' });
    const wt = path.join(dir, 'wt');
    git('-C', clone, 'worktree', 'add', '-q', wt);
    assert.equal(await specSourceOf(path.join(wt, 'specs')), { repo: 'https://gitlab.example.com/infra/mirrors.git', path: 'specs' });
    const bare = path.join(dir, 'mirrors.git');
    git('clone', '-q', '--bare', clone, bare);
    assert.is(await originOf(bare), clone, 'a bare clone\'s origin is what it was cloned from');
    const plain = path.join(dir, 'plain');
    await mkdir(plain);
    // Outside any repository (the temp directory is in none): the directory itself.
    assert.equal(await specSourceOf(plain), { repo: plain, path: '' });
  } finally {
    await cleanup();
  }
});

test.run();
