/**
 * Wires one controller process: Git source → loop (spec loader, reconcile pass with one Pulp
 * client per site) → status writer, metrics and the status endpoint. `pulpdist run`, `pulpdist
 * demo` and the benchmark all start the controller through here.
 */
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../core/logger.js';
import { createPulpClient } from '../pulp/client.js';
import type { PulpClient } from '../pulp/types.js';
import { mirrorHistory, type HistoryDocument } from '../reconcilers/history.js';
import { createPassMemory, reconcilePass } from '../reconcilers/pass.js';
import { createSourceReader } from '../sources/reader.js';
import { loadSpecFiles } from '../spec/load.js';
import type { SiteSpec, SpecSet } from '../spec/types.js';
import { openGitSource } from '../gitsource/source.js';
import { systemClock } from './clock.js';
import { createController, type Controller } from './loop.js';
import { createMetrics } from '../web/metrics.js';
import { startStatusServer } from '../web/server.js';
import { createStatusWriter } from '../status/writer.js';

export interface StartControllerOptions {
  /** A local path or an http(s) URL. */
  repo: string;
  /** @default 'main' */
  branch?: string;
  /** @default '' (the whole tree) */
  path?: string;
  /** Empty string: no status commits. @default 'pulpdist/status' */
  statusBranch?: string;
  /** `host:port` of the status endpoint; null for none. @default '127.0.0.1:8080' */
  listen?: string | null;
  /** @default 30_000 */
  intervalMs?: number;
  /** @default 3_600_000 */
  passDeadlineMs?: number;
  /** @default 60_000 */
  preemptAfterMs?: number;
  /** Time allowed for one request to a Pulp site. @default PULP_CLIENT_DEFAULTS.requestTimeoutMs */
  requestTimeoutMs?: number;
  /** @default defaultStateDir(env) */
  stateDir?: string;
  /** Enables `POST /hooks/git` with this secret. */
  webhookSecret?: string;
  /** Where site passwords and Git credentials are read. @default process.env */
  env?: NodeJS.ProcessEnv;
  version: string;
  log: Logger;
  /** Start the loop at once; false for `--once`, which calls `controller.runOnce()`. @default true */
  autoStart?: boolean;
}

export interface RunningController {
  controller: Controller;
  /** The status endpoint's base URL, or null without one. */
  url: string | null;
  /** Stop the loop (waiting up to `graceMs` for a running pass), then the endpoint. */
  close(opts?: { graceMs?: number }): Promise<void>;
}

/** `$XDG_STATE_HOME/pulpdist`, else `~/.local/state/pulpdist`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'pulpdist');
}

/** Open the repository, start the status endpoint and the loop. */
export async function startController(o: StartControllerOptions): Promise<RunningController> {
  const env = o.env ?? process.env;
  const stateDir = o.stateDir ?? defaultStateDir(env);
  const log = o.log;
  const statusBranch = o.statusBranch ?? 'pulpdist/status';
  const source = await openGitSource({ repo: o.repo, branch: o.branch, path: o.path, statusBranch: statusBranch || undefined, stateDir, env, log: log.child({ component: 'git' }) });
  const clock = systemClock;
  const now = (): Date => new Date(clock.now());
  const startedAt = now();
  const metrics = createMetrics({ version: o.version, countSyncsSince: startedAt, now });

  // One client per site, rebuilt only when that site's spec changes, so connection pools and
  // password reads are reused across passes.
  const clients = new Map<string, { key: string; client: PulpClient }>();
  const clientsFor = (sites: SiteSpec[]): Map<string, PulpClient> => {
    const out = new Map<string, PulpClient>();
    for (const site of sites) {
      const key = JSON.stringify({ ...site, position: undefined, labels: undefined });
      let entry = clients.get(site.name);
      if (!entry || entry.key !== key) {
        entry = { key, client: createPulpClient(site, { env, log: log.child({ site: site.name }), requestTimeoutMs: o.requestTimeoutMs }) };
        clients.set(site.name, entry);
      }
      out.set(site.name, entry.client);
    }
    for (const name of [...clients.keys()]) if (!out.has(name)) clients.delete(name);
    return out;
  };
  // Kept across passes: published-manifest ETags, last sync times for schedules; the source reader's ETags and hash pool.
  const memory = createPassMemory();
  const sources = createSourceReader({ cacheDir: path.join(stateDir, 'manifest-cache') });
  // The specs of the latest pass, for the history endpoint: it reads the mirrors those name.
  let lastSpecs: SpecSet | null = null;
  const reconcile = (specs: SpecSet, { signal }: { signal: AbortSignal }) => {
    lastSpecs = specs;
    return reconcilePass(specs, { clients: clientsFor(specs.sites), log, now, memory, sources }, { signal });
  };
  const history = async (name: string, signal: AbortSignal): Promise<HistoryDocument | null> => {
    const m = lastSpecs?.mirrors.find((x) => x.name === name);
    if (!m) return null;
    const siteClients = new Map<string, PulpClient>();
    for (const [site, entry] of clients) siteClients.set(site, entry.client);
    return mirrorHistory(m, siteClients, { signal });
  };

  const controller = createController(
    {
      source,
      loadSpecs: (files) => loadSpecFiles(files),
      reconcile,
      writer: statusBranch ? createStatusWriter(source, { log, now }) : null,
      metrics,
      log,
      clock,
    },
    { intervalMs: o.intervalMs, passDeadlineMs: o.passDeadlineMs, preemptAfterMs: o.preemptAfterMs, version: o.version },
  );

  const listen = o.listen === undefined ? '127.0.0.1:8080' : o.listen;
  const server = listen
    ? await startStatusServer({
        listen,
        getStatus: controller.getStatus,
        now,
        isReady: controller.isReady,
        metrics,
        history,
        log: log.child({ component: 'http' }),
        ...(o.webhookSecret ? { webhook: { secret: o.webhookSecret, onPush: () => controller.trigger('webhook') } } : {}),
      })
    : null;
  if (o.autoStart !== false) await controller.start();
  log.info('controller started', { repo: source.description, branch: o.branch ?? 'main', status: server?.url ?? null, stateDir });
  return {
    controller,
    url: server?.url ?? null,
    async close({ graceMs } = {}) {
      await controller.stop({ graceMs });
      await server?.close();
    },
  };
}
