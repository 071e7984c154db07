/** `pulpdist plan --format json` in tests: the document, checked against schemas/plan.schema.json. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import AjvModule from 'ajv';
import { SCHEMA_DIR } from '../core/paths.js';
import type { PlanDocument } from '../reconcilers/plan-document.js';
import { runCli } from './cli.js';

// ajv is CommonJS: its class is the default export's `default` under Node's ESM interop.
const Ajv = AjvModule.default ?? AjvModule;
let validate: ReturnType<InstanceType<typeof Ajv>['compile']> | undefined;

/** The plan of `specs` as JSON; throws, with the schema's errors, when the document does not match it. */
export async function planJson(specs: string, env: Record<string, string>): Promise<{ code: number | null; doc: PlanDocument }> {
  const p = await runCli(['plan', '--specs', specs, '--format', 'json'], { env, timeoutMs: 120_000 });
  const doc = JSON.parse(p.stdout) as PlanDocument;
  validate ??= new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, 'plan.schema.json'), 'utf8')));
  if (!validate(doc)) throw new Error(`plan --format json does not match plan.schema.json: ${JSON.stringify(validate.errors)}\n${p.stdout}`);
  return { code: p.code, doc };
}
