/**
 * The plumbing `plan` and `apply` share: loading specs, one client per site, the
 * published-manifest cache kept on disk between runs (so that planning a converged network reads
 * no manifest), and Ctrl-C.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, InterruptedError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { createPulpClient } from '../pulp/client.js';
import type { PulpClient } from '../pulp/types.js';
import { createPassMemory } from '../reconcilers/pass.js';
import type { PassMemory, SourceReader } from '../reconcilers/pass-types.js';
import { createSourceReader } from '../sources/reader.js';
import { defaultStateDir, manifestCacheDir } from '../sources/state-dir.js';
import { PublishedCache } from '../reconcilers/published-cache.js';
import { rolloutRecordOf } from '../reconcilers/rollout-record.js';
import { loadSpecPaths } from '../spec/load.js';
import type { SpecSet } from '../spec/types.js';

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

/** Where the published-manifest cache of this set of sites lives. */
export function cacheFileFor(specs: SpecSet, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const key = createHash('sha256').update(specs.sites.map((s) => `${s.name}=${s.pulp.url}${s.pulp.apiRoot}`).sort().join('\n')).digest('hex').slice(0, 24);
  return path.join(base, 'pulpdist', `published-${key}.json`);
}

/** A PassMemory whose manifest cache comes from `file` (missing or torn = empty: it is only a cache). */
export async function loadMemory(file: string | null): Promise<PassMemory> {
  if (!file) return createPassMemory();
  let memory: PassMemory;
  try {
    memory = createPassMemory(PublishedCache.fromJSON(JSON.parse(await readFile(file, 'utf8'))));
  } catch {
    memory = createPassMemory();
  }
  // One-shot plan and apply have no status branch: the rollouts go on from the file beside the cache.
  try {
    const saved: unknown = JSON.parse(await readFile(rolloutsFile(file), 'utf8'));
    if (saved && typeof saved === 'object' && !Array.isArray(saved)) {
      for (const [name, v] of Object.entries(saved)) {
        const rec = rolloutRecordOf(v);
        if (rec) memory.rollouts.set(name, rec);
      }
    }
  } catch {
    // None yet, or torn: the rollouts start again from what the sites serve.
  }
  return memory;
}

/** Where one-shot runs keep the rollout records of the sites whose cache is `cacheFile`. */
export function rolloutsFile(cacheFile: string): string {
  return path.join(path.dirname(cacheFile), path.basename(cacheFile).replace(/^published-/, 'rollouts-'));
}

/** Save the cache atomically (temp + rename). A failure to save costs only speed next time. */
export async function saveMemory(file: string | null, memory: PassMemory, log: Logger): Promise<void> {
  if (!file) return;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(memory.published));
    await rename(tmp, file);
    const rollouts = rolloutsFile(file);
    await writeFile(`${rollouts}.${process.pid}.tmp`, JSON.stringify(Object.fromEntries(memory.rollouts)));
    await rename(`${rollouts}.${process.pid}.tmp`, rollouts);
  } catch (err) {
    log.warn('could not save the published-manifest cache', { file, error: err });
  }
}

/** The help text of `--state-dir` for plan and apply, its text starting at column `col`. */
/** The --controller-id lines of plan's and apply's help, the description starting at column `col`. */
export function controllerIdHelp(col: number): string {
  return helpLines('  --controller-id ID', col, [
    "this controller's id, carried by the label pulpdist_controller on every",
    'object it makes; objects of other ids are never changed or deleted.',
    'Default: derived from the repository holding the specs (its origin URL),',
    'branch main and the spec path, as pulpdist run derives it for --repo,',
    '--branch and --path; printed at the top of the plan.',
    'PULPDIST_CONTROLLER_ID in the environment does the same as the option',
  ]);
}

function helpLines(option: string, col: number, lines: string[]): string {
  return lines.map((l, i) => (i === 0 ? option.padEnd(col) : ' '.repeat(col)) + l).join('\n');
}

export function stateDirHelp(col: number): string {
  const lines = [
    "the controller's state directory, as pulpdist run --state-dir: where a mirror",
    'with source.readOnly keeps its PULP_MANIFEST (DIR/sources/MIRROR/) and, when',
    'given, the rescan caches of trees (default: $XDG_STATE_HOME/pulpdist or',
    '~/.local/state/pulpdist; the caches then stay under $XDG_CACHE_HOME/pulpdist/)',
  ];
  return helpLines('  --state-dir DIR', col, lines);
}

/**
 * The source reader of plan and apply. Its state directory is the one \`pulpdist run\` uses by
 * default, so that plan, apply and the controller agree on a read-only tree's remote url. The scan
 * caches move there only when --state-dir is given (before it existed they were in the XDG cache).
 */
export function sourceReaderFor(stateDirOption: unknown, env: NodeJS.ProcessEnv = process.env): SourceReader {
  const given = typeof stateDirOption === 'string' && stateDirOption !== '' ? path.resolve(stateDirOption) : undefined;
  return createSourceReader({ stateDir: given ?? defaultStateDir(env), ...(given ? { cacheDir: manifestCacheDir(given) } : {}) });
}

/** An AbortSignal that fires on SIGINT/SIGTERM; `dispose` removes the handlers. */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const on = (sig: 'SIGINT' | 'SIGTERM') => ac.abort(new InterruptedError(sig));
  process.once('SIGINT', on);
  process.once('SIGTERM', on);
  return { signal: ac.signal, dispose: () => (process.off('SIGINT', on), process.off('SIGTERM', on)) };
}
