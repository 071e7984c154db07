/**
 * The rollout record in the status document: valid against schemas/status.schema.json, written to
 * the status branch's mirror file and read back by status/restore.ts as it was, and dropped (not
 * trusted) when the file holds something else.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SCHEMA_DIR } from '../../core/paths.js';
import type { MirrorRollout, StatusDocument } from '../../core/status.js';
import { seedMemory } from '../../controller/history.js';
import { createPassMemory } from '../../reconcilers/pass.js';
import { renderStatusFiles } from '../../status/files.js';
import { parseStatusFiles } from '../../status/restore.js';

const ajv = new Ajv.default({ allErrors: true, strict: true });
addFormats.default(ajv);
const validDoc = ajv.compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'status.schema.json'), 'utf8')) as object);

const ROLLOUT: MirrorRollout = {
  digest: 'b'.repeat(64), previous: 'a'.repeat(64), stage: 1, stages: 2, stageName: 'rest', state: 'Blocked',
  reason: 'rollout of bbbbbbbbbbbb… halted at stage 2/2 rest: probe repodata/repomd.xml at hub: answered 404',
  soakEndsAt: null, since: '2026-12-05T10:00:00.000Z', stageSince: '2026-12-05T10:12:00.000Z',
  published: { leaf: '2026-12-05T10:02:00.000Z', hub: '2026-12-05T10:13:00.000Z' },
  before: { leaf: 'a'.repeat(64), hub: 'a'.repeat(64), edge: null },
  haltedProbes: '[["repodata/repomd.xml",null]]',
};

function doc(rollout?: unknown): StatusDocument {
  return {
    controller: { version: '0.1.0', startedAt: '2026-12-05T09:00:00.000Z', observedCommit: null, specCommit: null, specErrors: [], lastPass: null },
    sites: [],
    mirrors: [{ name: 'm', origin: 'o', treeDigest: 'b'.repeat(64), sites: [], ...(rollout === undefined ? {} : { rollout: rollout as MirrorRollout }) }],
  };
}

test('a status document with a rollout is valid against the schema; a wrong state is not', () => {
  assert.ok(validDoc(doc(ROLLOUT)), JSON.stringify(validDoc.errors));
  assert.not.ok(validDoc(doc({ ...ROLLOUT, state: 'Sleeping' })));
  assert.not.ok(validDoc(doc({ ...ROLLOUT, extra: 1 })));
});

test('written to the status branch and read back after a restart, the rollout is as it was', () => {
  const restored = parseStatusFiles(renderStatusFiles(doc(ROLLOUT)));
  assert.equal(restored.mirrors[0]?.rollout, ROLLOUT);
  assert.equal(restored.skipped, []);
});

test('a restarted controller seeds its pass memory with the restored rollout; one it already has wins', () => {
  const restored = parseStatusFiles(renderStatusFiles(doc(ROLLOUT)));
  const memory = createPassMemory();
  seedMemory(memory, restored);
  assert.equal(memory.rollouts.get('m'), ROLLOUT);
  const newer = { ...ROLLOUT, stage: 0, state: 'Progressing' as const };
  const kept = createPassMemory();
  kept.rollouts.set('m', newer);
  seedMemory(kept, restored);
  assert.equal(kept.rollouts.get('m'), newer);
});

test('a mirror file whose rollout was edited into something else keeps its mirror, without the rollout', () => {
  const files = renderStatusFiles(doc(ROLLOUT));
  const name = 'mirrors/m.yaml';
  files.set(name, (files.get(name) ?? '').replace('stage: 1', 'stage: many'));
  const restored = parseStatusFiles(files);
  assert.is(restored.mirrors[0]?.name, 'm');
  assert.is(restored.mirrors[0]?.rollout, undefined);
});

test.run();
