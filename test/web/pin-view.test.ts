/**
 * A pinned placement (issue 20) on the page and in `pulpdist status`: marked "pinned" (the page
 * says why in a title), and its digest, another tree than the origin's on purpose, is not
 * marked stale. The same cell without the pin is stale and unmarked, so both checks can fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderStatusText } from '../../cli/commands/status.js';
import { SCHEMA_DIR } from '../../core/paths.js';
import type { StatusDocument } from '../../core/status.js';
import { renderStatusFiles } from '../../status/files.js';
import { parseStatusFiles } from '../../status/restore.js';
import { renderStatusPage } from '../../web/page.js';
import { DIGEST_B, sampleStatus } from '../../testkit/status-fixture.js';

const NOW = new Date('2026-12-05T12:00:00Z');

function withLeaf(pinned: boolean): StatusDocument {
  const doc = sampleStatus(NOW);
  const m = doc.mirrors.find((x) => x.name === 'epel-9')!;
  const leaf = m.sites.find((s) => s.site === 'leaf')!;
  Object.assign(leaf, { state: 'Synced', treeDigest: DIGEST_B, version: 2, message: 'serves the pinned tree b2b2b2b2b2b2… (v2): pinned by spec.pins.leaf' });
  if (pinned) leaf.pin = { digest: DIGEST_B.slice('sha256:'.length), version: 2, why: 'pinned by spec.pins.leaf' };
  return doc;
}

function leafCell(page: string): string {
  const row = page.slice(page.indexOf('epel-9'));
  const at = row.indexOf('data-site="leaf"');
  return row.slice(at, row.indexOf('</td>', at));
}

test('the page marks a pinned cell, says why, and does not call its tree stale', () => {
  const pinned = leafCell(renderStatusPage(withLeaf(true), { now: NOW }));
  assert.match(pinned, '<span class="pin" title="pinned by spec.pins.leaf">pinned</span>');
  assert.not.match(pinned, 'digest stale');
  const plain = leafCell(renderStatusPage(withLeaf(false), { now: NOW }));
  assert.not.match(plain, 'class="pin"');
  assert.match(plain, 'digest stale');
});

test('pulpdist status marks a pinned cell', () => {
  const line = (doc: StatusDocument) => renderStatusText(doc, { now: NOW, colour: false }).split('\n').find((l) => l.startsWith('epel-9'))!;
  assert.match(line(withLeaf(true)), /Synced v2 pinned /);
  assert.not.match(line(withLeaf(false)), 'pinned');
});

test('a pinned cell reads back from the status files with its pin (a restarted controller shows it before its first pass)', () => {
  const doc = withLeaf(true);
  const back = parseStatusFiles(renderStatusFiles(doc)).mirrors.find((m) => m.name === 'epel-9')!;
  assert.equal(back.sites.find((c) => c.site === 'leaf')!.pin, { digest: DIGEST_B.slice('sha256:'.length), version: 2, why: 'pinned by spec.pins.leaf' });
  assert.is(back.sites.find((c) => c.site === 'origin')!.pin, undefined);
});

test('schemas/status.schema.json: a pinned cell is valid; a pin without its why is not', () => {
  const ajv = new Ajv.default({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'status.schema.json'), 'utf8')) as object);
  const doc = JSON.parse(JSON.stringify(withLeaf(true))) as StatusDocument;
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  const leaf = doc.mirrors.find((m) => m.name === 'epel-9')!.sites.find((c) => c.site === 'leaf')!;
  delete (leaf.pin as { why?: string }).why;
  assert.not.ok(validate(doc));
  assert.ok(validate.errors?.some((e) => e.instancePath.endsWith('/pin') && e.message?.includes('why')), JSON.stringify(validate.errors));
});

test.run();
