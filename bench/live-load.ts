/**
 * `bench:live` part 3: what a real `pulpdist run` costs at 1,000 mirrors × 3 sites, idle and busy.
 * Three embedded sites (origin → hub → leaf, `pulpdist site` processes), each behind a counting
 * proxy, so every request the controller sends to a site is counted there; the controller is a
 * child process watching a local spec repository (default 30 s drift-repair interval).
 * - idle: converged, nothing to do; a window of drift-repair passes.
 * - busy: `busyMirrors` trees grow by a 4 MiB file each and hub and leaf are capped at 2 MiB/s, so
 *   syncs run (and are polled, and laid over the document live) for the whole window.
 * Per window: the controller's CPU (from /proc) and, per site, API requests per minute, of which
 * task polls; content requests (the syncs' own downloads between sites) are counted apart.
 * The live refresh sends no request of its own (its figures are the answers of the syncs' task
 * polls); its CPU is at most twice a second the cost of one render (part 2).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StatusDocument } from '../core/status.js';
import { startDemoSite, type DemoSite } from '../demo/sites.js';
import { startControllerProcess, type ControllerProcess } from '../testkit/controller-process.js';
import { commitAndPush, makeRepo, writeFiles } from '../testkit/git-server.js';
import { startCountingProxy, type CountingProxy } from './plan-proxy.js';

const MiB = 1024 * 1024;
const SITES = ['origin', 'hub', 'leaf'] as const;

export interface SiteRates {
  api_per_min: number;
  task_polls_per_min: number;
  content_per_min: number;
}

export interface LoadWindow {
  seconds: number;
  controller_cpu_s: number;
  /** Of one core. */
  controller_cpu_percent: number;
  passes: number;
  sites: Record<string, SiteRates>;
}

export interface LoadFigures {
  mirrors: number;
  idle: LoadWindow;
  busy: LoadWindow & { syncing_mirrors: number; progressing_seen: number };
  setup_s: number;
}

const siteYaml = (name: string, url: string, upstream: string | null): string =>
  `apiVersion: pulpdist/v1\nkind: Site\nmetadata: {name: ${name}}\nspec:\n  pulp: {url: "${url}"}\n` +
  (upstream ? `  upstream: ${upstream}\n  limits: {concurrentSyncs: 8, bandwidth: 2MiB/s}\n` : '  limits: {concurrentSyncs: 8}\n');

const mirrorYaml = (name: string, tree: string): string =>
  `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: ${name}}\nspec:\n  source: {path: ${tree}}\n  origin: origin\n  sites: [origin, hub, leaf]\n`;

async function cpuSeconds(pid: number): Promise<number> {
  // Fields 14 and 15 (utime, stime) are at 11 and 12 after the ") " split; CLK_TCK is 100 on Linux.
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100;
}

async function status(ctl: ControllerProcess): Promise<StatusDocument | null> {
  return fetch(`${ctl.url}/api/v1/status`).then((r) => r.json() as Promise<StatusDocument>, () => null);
}

async function until(ctl: ControllerProcess, pred: (d: StatusDocument) => boolean, timeoutMs: number, what: string): Promise<StatusDocument> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const d = await status(ctl);
    if (d && pred(d)) return d;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; log:\n${ctl.log().slice(-2000)}`);
}

const allSynced = (n: number) => (d: StatusDocument): boolean =>
  d.mirrors.length === n && d.mirrors.every((m) => m.sites.length === 3 && m.sites.every((c) => c.state === 'Synced'));

/** Count over `seconds` without touching the controller (no status requests inside the window). */
async function window(ctl: ControllerProcess, proxies: CountingProxy[], seconds: number): Promise<LoadWindow> {
  const passesBefore = (ctl.log().match(/^INFO +pass /gm) ?? []).length;
  for (const p of proxies) p.reset();
  const cpu0 = await cpuSeconds(ctl.pid);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu1 = await cpuSeconds(ctl.pid);
  const secs = (Date.now() - t0) / 1000;
  const perMin = (x: number): number => Math.round((x * 600) / secs) / 10;
  const sites: Record<string, SiteRates> = {};
  proxies.forEach((p, i) => {
    const c = p.counts();
    sites[SITES[i]!] = { api_per_min: perMin(c.api), task_polls_per_min: perMin(c.tasks), content_per_min: perMin(c.content) };
  });
  const cpu = cpu1 - cpu0;
  return {
    seconds: Math.round(secs),
    controller_cpu_s: Math.round(cpu * 100) / 100,
    controller_cpu_percent: Math.round((cpu / secs) * 1000) / 10,
    passes: (ctl.log().match(/^INFO +pass /gm) ?? []).length - passesBefore,
    sites,
  };
}

export async function liveLoad(dir: string, o: { mirrors: number; busyMirrors: number; windowS: number; log: (line: string) => void }): Promise<LoadFigures> {
  const signal = AbortSignal.timeout(3_600_000);
  const trees = path.join(dir, 'load-trees');
  mkdirSync(trees, { recursive: true });
  const sites: DemoSite[] = [];
  const proxies: CountingProxy[] = [];
  let ctl: ControllerProcess | undefined;
  try {
    for (const name of SITES) {
      const s = await startDemoSite({ name, dataDir: path.join(dir, `load-${name}`), allowedImportPaths: [trees], signal });
      sites.push(s);
      proxies.push(await startCountingProxy(s.url));
    }
    const names = Array.from({ length: o.mirrors }, (_, i) => `m${String(i).padStart(4, '0')}`);
    const files: Record<string, string> = {
      'specs/sites/origin.yaml': siteYaml('origin', proxies[0]!.url, null),
      'specs/sites/hub.yaml': siteYaml('hub', proxies[1]!.url, 'origin'),
      'specs/sites/leaf.yaml': siteYaml('leaf', proxies[2]!.url, 'hub'),
    };
    for (const n of names) {
      const root = path.join(trees, n);
      mkdirSync(root, { recursive: true });
      for (let i = 0; i < 3; i++) writeFileSync(path.join(root, `f${i}.bin`), Buffer.alloc(256, `${n}-${i}-`));
      files[`specs/mirrors/${n}.yaml`] = mirrorYaml(n, root);
    }
    const { bare, work } = makeRepo(dir, 'load-specs', files);
    const t0 = Date.now();
    ctl = await startControllerProcess(['--repo', bare, '--path', 'specs', '--state-dir', path.join(dir, 'load-state')], { timeoutMs: 60_000 });
    await until(ctl, allSynced(o.mirrors), 1_800_000, `${o.mirrors} mirrors Synced at 3 sites`);
    const setupS = Math.round((Date.now() - t0) / 1000);
    o.log(`load: ${o.mirrors} mirrors × 3 sites converged in ${setupS} s; idle window of ${o.windowS} s`);
    // Let the first passes' status commits and start-up garbage settle before the window opens.
    await new Promise((r) => setTimeout(r, 5000));
    const idle = await window(ctl, proxies, o.windowS);
    o.log(`load: idle: ${JSON.stringify(idle)}`);

    // Busy: grow some trees and commit (a watched local repository: the pass starts within a second).
    const busy = names.slice(0, o.busyMirrors);
    for (const n of busy) writeFileSync(path.join(trees, n, 'big.bin'), Buffer.alloc(4 * MiB, `${n} big `));
    writeFiles(work, { 'specs/README': `busy: ${busy.length} trees grew\n` });
    commitAndPush(work, 'grow trees');
    // The window opens once syncs run at the hub (task polls arrive there).
    const start = Date.now() + 120_000;
    while (Date.now() < start && proxies[1]!.counts().tasks === 0) await new Promise((r) => setTimeout(r, 100));
    const busyWindow = await window(ctl, proxies, o.windowS);
    // One status read after the window (none inside it): syncs must still have been running.
    const after = await status(ctl);
    const progressing = after ? after.mirrors.reduce((a, m) => a + m.sites.filter((c) => c.state === 'Progressing').length, 0) : 0;
    o.log(`load: busy: ${JSON.stringify(busyWindow)}; ${progressing} placements Progressing at the window's end`);
    await until(ctl, allSynced(o.mirrors), 900_000, 'the busy mirrors Synced');
    return { mirrors: o.mirrors, idle, busy: { ...busyWindow, syncing_mirrors: busy.length, progressing_seen: progressing }, setup_s: setupS };
  } finally {
    await ctl?.stop().catch(() => undefined);
    for (const p of proxies) await p.close();
    for (const s of sites) await s.stop().catch(() => undefined);
  }
}
