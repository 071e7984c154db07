/**
 * `pulpdist plan`: what `apply` would change at every site, with transfer estimates. Also the
 * plumbing `apply` shares: loading specs, one client per site, the published-manifest cache kept
 * on disk between runs (so that planning a converged network reads no manifest).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from '../command.js';
import { ConfigError, UsageError } from '../../core/errors.js';
import { parseDuration } from '../../core/units.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { createPulpClient } from '../../pulp/client.js';
import type { PulpClient } from '../../pulp/types.js';
import { createPassMemory, preparePlan, type PassMemory } from '../../reconcilers/pass.js';
import { planDocument } from '../../reconcilers/plan-document.js';
import { PublishedCache } from '../../reconcilers/published-cache.js';
import { renderMarkdown, renderText } from '../../reconcilers/render-plan.js';
import { loadSpecPaths } from '../../spec/load.js';
import type { SpecSet } from '../../spec/types.js';

const FORMATS = ['text', 'json', 'markdown'] as const;
type PlanFormat = (typeof FORMATS)[number];

/** A spec tree with errors: not an exception, the problems are printed positioned. */
export class InvalidSpecsError extends ConfigError {
  constructor(readonly problems: string[]) {
    super(`the specs have ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was planned or changed`);
  }
}

/** Load and validate the specs; problems go to stderr and raise InvalidSpecsError. */
export async function loadValidSpecs(specsPath: string): Promise<SpecSet> {
  const result = await loadSpecPaths([specsPath]);
  const lines = result.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.severity}: ${p.message}`);
  if (result.problems.some((p) => p.severity === 'error')) {
    process.stderr.write(lines.join('\n') + '\n');
    throw new InvalidSpecsError(lines);
  }
  if (lines.length) process.stderr.write(lines.join('\n') + '\n');
  return result.specs;
}

/** One REST client per site, credentials from the env variables the specs name. */
export function clientsFor(specs: SpecSet, log: Logger, env: NodeJS.ProcessEnv = process.env, options: { requestTimeoutMs?: number } = {}): Map<string, PulpClient> {
  return new Map(specs.sites.map((s) => [s.name, createPulpClient(s, { env, log: log.child({ site: s.name }), ...options })]));
}

/** `--request-timeout`: the Pulp client's per-request timeout (a UsageError naming the option when malformed). */
export function requestTimeoutOption(value: unknown): { requestTimeoutMs?: number } {
  if (value === undefined) return {};
  const text = String(value);
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    ms = NaN;
  }
  if (!(ms >= 1)) throw new UsageError(`--request-timeout must be a duration such as 500ms, 30s or 2m, got "${text}"`);
  return { requestTimeoutMs: ms };
}

/** Where the published-manifest cache of this set of sites lives. */
export function cacheFileFor(specs: SpecSet, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const key = createHash('sha256').update(specs.sites.map((s) => `${s.name}=${s.pulp.url}${s.pulp.apiRoot}`).sort().join('\n')).digest('hex').slice(0, 24);
  return path.join(base, 'pulpdist', `published-${key}.json`);
}

/** A PassMemory whose manifest cache comes from `file` (missing or torn = empty: it is only a cache). */
export async function loadMemory(file: string | null): Promise<PassMemory> {
  if (!file) return createPassMemory();
  try {
    return createPassMemory(PublishedCache.fromJSON(JSON.parse(await readFile(file, 'utf8'))));
  } catch {
    return createPassMemory();
  }
}

/** Save the cache atomically (temp + rename). A failure to save costs only speed next time. */
export async function saveMemory(file: string | null, memory: PassMemory, log: Logger): Promise<void> {
  if (!file) return;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(memory.published));
    await rename(tmp, file);
  } catch (err) {
    log.warn('could not save the published-manifest cache', { file, error: err });
  }
}

/** An AbortSignal that fires on SIGINT/SIGTERM; `dispose` removes the handlers. */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const on = (sig: NodeJS.Signals) => ac.abort(new Error(`interrupted by ${sig}`));
  process.once('SIGINT', on);
  process.once('SIGTERM', on);
  return { signal: ac.signal, dispose: () => (process.off('SIGINT', on), process.off('SIGTERM', on)) };
}

/** `--site` values checked against the specs. */
export function selectedSites(values: unknown, specs: SpecSet): string[] | undefined {
  const list = (Array.isArray(values) ? values : values === undefined ? [] : [values]).map(String);
  if (list.length === 0) return undefined;
  const known = specs.sites.map((s) => s.name);
  for (const s of list) if (!known.includes(s)) throw new UsageError(`unknown site "${s}" (known: ${known.join(', ')})`);
  return list;
}

export const command: Command = {
  name: 'plan',
  summary: 'show what apply would change at every site, with transfer estimates',
  usage: 'pulpdist plan [--specs PATH] [--format text|json|markdown] [--json] [--site NAME]…',
  options: {
    specs: { type: 'string', default: '.' },
    format: { type: 'string', short: 'f', default: 'text' },
    json: { type: 'boolean', default: false },
    site: { type: 'string', multiple: true },
    'no-cache': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    'request-timeout': { type: 'string' },
  },
  help: `
Loads the specs, observes every site (managed objects only, a few paginated calls per site and
kind) and every mirror's source, and prints what \`pulpdist apply\` would do: per site, objects to
create (+), update (~, with each field's old → new value) and delete (-, with what stops being
published), and syncs (>) with their reason and transfer estimate: the files and bytes the target
does not already hold (content-addressed: a renamed file costs nothing). Changes nothing.

options:
  --specs PATH          spec file or directory (default: .)
  -f, --format FORMAT   text (default), json (schemas/plan.schema.json) or markdown (for a
                        merge-request note: a summary table, then one collapsible section per site)
  --json                short for --format json
  --site NAME           only this site (repeatable); the plan still follows the whole topology
  --no-cache            read every published manifest again instead of trusting the cache of
                        the last run (kept under $XDG_CACHE_HOME/pulpdist/)
  --log-level LEVEL     debug, info, warn (default) or error, on stderr
  --request-timeout D   time allowed for one request to a site (default 30s)

Site passwords come from the environment variables the Site specs name (auth.passwordEnv).

examples:
  pulpdist plan --specs mirrors
  pulpdist plan --specs mirrors --site leaf
  pulpdist plan --specs mirrors --format markdown > plan.md

exit codes:
  0  no changes
  2  changes present
  1  error: invalid specs, an unreachable site or an unreadable source (the plan is still printed)
`,
  async run({ values }) {
    const format = values.json ? 'json' : String(values.format ?? 'text');
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`unknown format "${format}" (use one of: ${FORMATS.join(', ')})`);
    const level = String(values['log-level'] ?? 'warn');
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`unknown log level "${level}" (use debug, info, warn or error)`);
    const log = createLogger({ level: level as 'warn' });
    const specs = await loadValidSpecs(String(values.specs ?? '.'));
    const sites = selectedSites(values.site, specs);
    const cacheFile = values['no-cache'] ? null : cacheFileFor(specs);
    const memory = await loadMemory(cacheFile);
    const { signal, dispose } = interruptSignal();
    try {
      const prepared = await preparePlan(specs, { clients: clientsFor(specs, log, process.env, requestTimeoutOption(values['request-timeout'])), log, now: () => new Date(), memory }, { signal, dryRun: true, ...(sites ? { sites } : {}) });
      await saveMemory(cacheFile, memory, log);
      const p = prepared.plan;
      const out = format === 'json' ? JSON.stringify(planDocument(p), null, 2) + '\n' : format === 'markdown' ? renderMarkdown(p) : renderText(p);
      process.stdout.write(out);
      const broken = p.sites.some((s) => !s.reachable) ||
        [...prepared.observed.sources.entries()].some(([m, t]) => 'error' in t && (!sites || prepared.desired.mirrors.get(m)?.placements.some((x) => sites.includes(x.site))));
      if (broken) return 1;
      return planDocument(p).changes ? 2 : 0;
    } finally {
      dispose();
    }
  },
};

export type { PlanFormat };
