/**
 * A task's final record is its record of truth: when the journal cannot take it, the task is
 * reported failed (not completed until the next start), and each lost write is logged once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../core/logger.js';
import { Store } from '../../site/store.js';
import { TaskManager } from '../../site/tasks.js';

let dir = '';

test.before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-tasks-'));
});

test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A journal that refuses every write from now on: its path becomes a directory (root cannot write it either). */
async function breakJournal(store: Store, dataDir: string): Promise<void> {
  await store.close();
  const journal = path.join(dataDir, 'metadata', 'journal.jsonl');
  await rm(journal, { force: true });
  await mkdir(journal);
}

test('a lost final record fails the task (the start is not written: only the final record counts)', async () => {
  const dataDir = path.join(dir, 'lost');
  const store = await Store.open(dataDir);
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ format: 'json', level: 'warn', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const tasks = new TaskManager(store, log, '/pulp/api/v3/workers/w/', 1);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const ran: string[] = [];
  const a = await tasks.submit({ name: 'a', cid: 'c', exclusive: ['/x/'], run: async () => { await gate; ran.push('a'); } });
  const b = await tasks.submit({ name: 'b', cid: 'c', exclusive: ['/x/'], run: async () => void ran.push('b') });
  assert.is(tasks.get(b.id)?.state, 'waiting');
  await breakJournal(store, dataDir);
  release();
  await tasks.wait(a.id);
  await tasks.wait(b.id);
  assert.equal(ran, ['a', 'b']);
  for (const t of [a, b]) {
    const rec = tasks.get(t.id);
    assert.is(rec?.state, 'failed', t.name);
    assert.match(String(rec?.error?.description), /^The task's result could not be recorded: cannot write the metadata journal: EISDIR/);
    assert.ok(rec?.finished_at, t.name);
  }
  const about = (id: string) => lines.filter((l) => l.task === id).map((l) => `${l.level} ${l.msg}`);
  assert.equal(about(a.id), ['error task result not written to the journal; the task is reported failed']);
  assert.equal(about(b.id), ['error task result not written to the journal; the task is reported failed']);
  assert.is(lines.find((l) => l.task === a.id)?.state, 'completed');
  await tasks.shutdown(0);
});

test('with a working journal the final record is written as the task ended', async () => {
  const dataDir = path.join(dir, 'ok');
  const store = await Store.open(dataDir);
  const lines: string[] = [];
  const tasks = new TaskManager(store, createLogger({ level: 'warn', write: (l) => lines.push(l) }), '/w/', 1);
  const t = await tasks.submit({ name: 'ok', cid: 'c', run: async () => undefined });
  await tasks.wait(t.id);
  await store.close();
  const again = await Store.open(dataDir);
  assert.is(again.t.tasks.get(t.id)?.state, 'completed');
  assert.equal(lines, []);
  await again.close();
});

test('the journal holds what a restart needs of a task, no more: waiting and final for a dispatched one, final only for an immediate one', async () => {
  const dataDir = path.join(dir, 'records');
  const store = await Store.open(dataDir);
  const tasks = new TaskManager(store, createLogger({ level: 'warn', write: () => undefined }), '/w/', 1);
  const dispatched = await tasks.submit({ name: 'sync', cid: 'c', run: async () => undefined });
  await tasks.wait(dispatched.id);
  const immediate = await tasks.submit({ name: 'patch', cid: 'c', immediate: true, run: async () => undefined });
  assert.is(tasks.get(immediate.id)?.state, 'completed', 'an immediate task with its locks free is done when submit resolves');
  await tasks.shutdown(0);
  await store.close();
  const journal = await readFile(path.join(dataDir, 'metadata', 'journal.jsonl'), 'utf8');
  const states = (id: string) =>
    journal.trim().split('\n').flatMap((l) => (JSON.parse(l) as Array<{ put?: string; v?: { id: string; state: string } }>).filter((op) => op.put === 'tasks' && op.v?.id === id).map((op) => op.v!.state));
  assert.equal(states(dispatched.id), ['waiting', 'completed']);
  assert.equal(states(immediate.id), ['completed']);
  // After a restart the immediate task reads back as it ended.
  const again = await Store.open(dataDir);
  assert.is(again.t.tasks.get(immediate.id)?.state, 'completed');
  await again.close();
});

test.run();
