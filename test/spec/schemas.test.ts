/**
 * The JSON Schemas users and editors read: draft-07, a description on every property,
 * additionalProperties false on every object, patterns in step with core/units.ts, shared
 * definitions identical in both files, and every example spec pointing its editor at one.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { EXAMPLE_SPECS_DIR, SCHEMA_DIR } from '../../core/paths.js';
import { BANDWIDTH_PATTERN, DURATION_PATTERN } from '../../core/units.js';
import { SCHEMA_FILES } from '../../spec/schema-check.js';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; definitions?: Record<string, Schema>; $ref?: string };

async function schema(file: string): Promise<Schema> {
  return JSON.parse(await readFile(path.join(SCHEMA_DIR, file), 'utf8')) as Schema;
}

/** Every subschema with its JSON-pointer-like path. */
function* walk(node: unknown, at: string): Generator<[string, Schema]> {
  if (!node || typeof node !== 'object') return;
  if (!Array.isArray(node)) yield [at, node as Schema];
  for (const [k, v] of Object.entries(node)) if (v && typeof v === 'object') yield* walk(v, `${at}/${k}`);
}

function resolve(root: Schema, s: Schema): Schema {
  if (typeof s.$ref === 'string' && s.$ref.startsWith('#/definitions/')) return { ...root.definitions![s.$ref.slice(14)]!, ...s };
  return s;
}

for (const kind of ['Site', 'Mirror'] as const) {
  const file = SCHEMA_FILES[kind];

  test(`${file}: draft-07, kind and apiVersion fixed`, async () => {
    const s = await schema(file);
    assert.is(s.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(s.properties!.kind!.const, kind);
    assert.equal(s.properties!.apiVersion!.const, 'pulpdist/v1');
  });

  test(`${file}: every property has a description`, async () => {
    const s = await schema(file);
    const missing: string[] = [];
    let count = 0;
    for (const [at, node] of walk(s, '#')) {
      for (const [name, prop] of Object.entries(node.properties ?? {})) {
        count++;
        if (typeof resolve(s, prop).description !== 'string') missing.push(`${at}/properties/${name}`);
      }
    }
    assert.equal(missing, []);
    assert.ok(count >= (kind === 'Site' ? 19 : 17), `only ${count} properties found`);
  });

  test(`${file}: additionalProperties is false on every object with properties`, async () => {
    const s = await schema(file);
    const open = [...walk(s, '#')].filter(([, n]) => n.properties && n.additionalProperties !== false).map(([at]) => at);
    assert.equal(open, []);
  });

  test(`${file}: shared definitions are the same as in the other schema`, async () => {
    const [site, mirror] = [await schema(SCHEMA_FILES.Site), await schema(SCHEMA_FILES.Mirror)];
    for (const name of ['dnsLabel', 'metadata']) assert.equal(site.definitions![name], mirror.definitions![name], name);
  });
}

test('patterns match core/units.ts', async () => {
  const site = await schema(SCHEMA_FILES.Site);
  const mirror = await schema(SCHEMA_FILES.Mirror);
  const limits = site.properties!.spec!.properties!.limits!.properties!;
  assert.is(limits.bandwidth!.pattern, BANDWIDTH_PATTERN);
  const schedule = mirror.properties!.spec!.properties!.schedule!.properties!;
  assert.is(schedule.interval!.pattern, DURATION_PATTERN);
});

test('every example spec names its schema for yaml-language-server', async () => {
  for (const [sub, file] of [['sites', SCHEMA_FILES.Site], ['mirrors', SCHEMA_FILES.Mirror]] as const) {
    const names = (await readdir(path.join(EXAMPLE_SPECS_DIR, sub))).filter((n) => n.endsWith('.yaml'));
    assert.ok(names.length >= 3, sub);
    for (const n of names) {
      const text = await readFile(path.join(EXAMPLE_SPECS_DIR, sub, n), 'utf8');
      const first = text.split('\n')[0]!;
      assert.is(first, `# yaml-language-server: $schema=../../schemas/${file}`, n);
      // The relative path must reach the real file from where the spec is.
      const target = path.resolve(EXAMPLE_SPECS_DIR, sub, first.split('=')[1]!);
      assert.is(target, path.join(SCHEMA_DIR, file));
    }
  }
});

test('the base path pattern refuses what Pulp refuses', async () => {
  const mirror = await schema(SCHEMA_FILES.Mirror);
  const re = new RegExp(mirror.properties!.spec!.properties!.basePath!.pattern as string, 'u');
  for (const ok of ['a', 'fedora/40/x86_64', 'a.b/c-d_e', 'v1.2']) assert.ok(re.test(ok), ok);
  for (const bad of ['/a', 'a/', 'a//b', 'a b', '../a', 'a/./b', 'a/..', '.', '']) assert.not.ok(re.test(bad), bad);
});

test.run();
