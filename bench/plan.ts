/**
 * `npm run bench:plan`: `pulpdist plan` over a converged network of N mirrors × S embedded sites
 * (default 5,000 × 10; `--quick`: 200 × 4). Measures the wall time and peak RSS of the real
 * `pulpdist plan` process and counts the HTTP requests it makes (every site is reached through a
 * counting proxy). Targets: ≤ 10 s, ≤ 512 MiB, requests ≤ 3 × kinds × sites × pages.
 *
 *   node dist/bench/plan.js [--quick] [--mirrors N] [--sites N] [--trees N] [--out FILE] [--keep] [--dir DIR] [--profile DIR]
 *
 * `--dir DIR` keeps the network in DIR and reuses it on the next run with the same sizes: the
 * proxies come back on the same ports, so the specs (and every remote URL) stay the same and the
 * setup pass finds nothing to do. Set up 5,000 × 10 once, then measure as often as needed.
 *
 * Two runs are measured: `cold` (no local cache: what a CI job sees; the published digests come
 * from the tree labels pulpdist left on the distributions) and `warm` (the local cache of the run
 * before). Setting up the converged network (one reconcile pass) is timed too, but not a target.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchArgs, intOption, refuse } from './options.js';
import { silentLogger } from '../core/logger.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { createPulpClient, PULP_CLIENT_DEFAULTS } from '../pulp/client.js';
import { createPassMemory, reconcilePass } from '../reconcilers/pass.js';
import { controllerIdOption } from '../cli/options.js';
import { createSourceReader } from '../sources/reader.js';
import { loadSpecPaths } from '../spec/load.js';
import { startCountingProxy, type CountingProxy } from './plan-proxy.js';
import { startBenchSite, type BenchSite } from './rsync-sites.js';

/** The lists observe pages through per site: repositories, remotes, distributions and publications. */
const KINDS = 4;
const TARGET_WALL_S = 10;
const TARGET_RSS = 512 * 1024 * 1024;

interface Run {
  name: string;
  wallS: number;
  /** User + system CPU of the plan process: steadier than wall time on a shared machine. */
  cpuS: number;
  maxRssBytes: number;
  exitCode: number | null;
  requests: { api: number; content: number; total: number };
}

const USAGE = `usage: npm run bench:plan [-- --quick] [-- --mirrors N] [-- --sites N] [-- --trees N] [-- --out FILE] [-- --keep] [-- --dir DIR] [-- --profile DIR]

  --quick       200 mirrors × 4 sites instead of 5,000 × 10
  --mirrors N   mirrors in the converged network
  --sites N     embedded sites (one origin, three hubs, the rest leaves)
  --trees N     distinct source trees the mirrors share (default min(20, mirrors))
  --out FILE    also write the figures as JSON
  --keep        keep the temp dir
  --dir DIR     keep the network in DIR and reuse it on the next run with the same sizes
  --profile DIR write CPU profiles of the plan runs to DIR
  --rollout     give every mirror a spec.rollout (a canary leaf, then the rest): what rollouts cost a pass`;

const values = benchArgs(
  {
    quick: { type: 'boolean', default: false },
    mirrors: { type: 'string' },
    sites: { type: 'string' },
    trees: { type: 'string' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
    profile: { type: 'string' },
    dir: { type: 'string' },
    rollout: { type: 'boolean', default: false },
    help: { type: 'boolean' },
  },
  USAGE,
);
/** The sizes, each an integer ≥ 1 (else the error and the usage, exit 2: not 5,000 invalid specs later). */
function sizes(): { mirrors: number; sites: number; trees: number } {
  try {
    const mirrors = intOption('mirrors', values.mirrors, values.quick ? 200 : 5000);
    return { mirrors, sites: intOption('sites', values.sites, values.quick ? 4 : 10), trees: intOption('trees', values.trees, Math.min(20, mirrors)) };
  } catch (err) {
    return refuse((err as Error).message, USAGE);
  }
}
const { mirrors: MIRRORS, sites: SITES, trees: TREES } = sizes();

/** s00 is the origin; s01–s03 pull from it; the others from s01–s03 in turn (a three-level tree). */
function upstreamOf(i: number): number | null {
  if (i === 0) return null;
  if (i <= 3) return 0;
  return 1 + ((i - 4) % 3);
}
const siteName = (i: number) => `s${String(i).padStart(2, '0')}`;

async function writeSpecs(dir: string, proxies: CountingProxy[], trees: string[]): Promise<void> {
  await mkdir(path.join(dir, 'mirrors'), { recursive: true });
  const sites = proxies.map((p, i) => {
    const up = upstreamOf(i);
    return [
      'apiVersion: pulpdist/v1', 'kind: Site', `metadata: {name: ${siteName(i)}}`, 'spec:', `  pulp: {url: "${p.url}"}`,
      ...(up === null ? [] : [`  upstream: ${siteName(up)}`]), '  limits: {concurrentSyncs: 12, downloadConcurrency: 4}',
    ].join('\n');
  });
  await writeFile(path.join(dir, 'sites.yaml'), sites.join('\n---\n') + '\n');
  const all = Array.from({ length: SITES }, (_, i) => siteName(i)).join(', ');
  // 100 mirrors per file, as a large spec repository might group them.
  for (let f = 0; f * 100 < MIRRORS; f++) {
    const docs: string[] = [];
    for (let m = f * 100; m < Math.min(MIRRORS, (f + 1) * 100); m++) {
      docs.push([
        'apiVersion: pulpdist/v1', 'kind: Mirror', `metadata: {name: m${String(m).padStart(5, '0')}}`, 'spec:',
        `  source: {path: "${trees[m % trees.length]}"}`, `  origin: ${siteName(0)}`, `  sites: [${all}]`, `  basePath: b/m${m}`,
        ...(values.rollout ? ['  rollout:', '    stages:', `      - {name: canary, sites: [${siteName(SITES - 1)}], soak: 30m, verify: [{path: README}]}`, '      - {name: rest, sites: ["*"]}'] : []),
      ].join('\n'));
    }
    await writeFile(path.join(dir, 'mirrors', `m${f}.yaml`), docs.join('\n---\n') + '\n');
  }
}

/** Run the real `pulpdist plan`, recording its peak RSS from inside (process.resourceUsage at exit). */
function runPlan(specs: string, env: Record<string, string>, extra: string[]): Promise<{ wallS: number; cpuS: number; maxRssBytes: number; code: number | null; stdout: string; stderr: string }> {
  const hook = 'data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();process.stderr.write("\\nBENCH_MAXRSS_KIB="+u.maxRSS+" BENCH_CPU_US="+(u.userCPUTime+u.systemCPUTime)+"\\n")})';
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const prof = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [];
    const child = spawn(process.execPath, [...prof, '--import', hook, path.join(PACKAGE_ROOT, 'bin', 'pulpdist.js'), 'plan', '--specs', specs, '--json', ...extra], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      const kib = Number(/BENCH_MAXRSS_KIB=(\d+)/.exec(stderr)?.[1] ?? NaN);
      const cpuS = Number(/BENCH_CPU_US=(\d+)/.exec(stderr)?.[1] ?? NaN) / 1e6;
      resolve({ wallS, cpuS, maxRssBytes: kib * 1024, code, stdout, stderr: stderr.replace(/\nBENCH_MAXRSS_KIB=.*\n/, '') });
    });
  });
}

/** What a kept network was built with, so a rerun can reuse it. */
interface KeptNetwork {
  mirrors: number;
  sites: number;
  trees: number;
  ports: number[];
}

async function keptNetwork(dir: string): Promise<KeptNetwork | null> {
  try {
    const k = JSON.parse(await readFile(path.join(dir, 'bench-plan.json'), 'utf8')) as KeptNetwork;
    return k.mirrors === MIRRORS && k.sites === SITES && k.trees === TREES && k.ports.length === SITES ? k : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const keep = !!values.keep || !!values.dir;
  const dir = values.dir ? path.resolve(values.dir) : await mkdtemp(path.join(os.tmpdir(), 'pulpdist-bench-plan-'));
  if (values.dir) await mkdir(dir, { recursive: true });
  const kept = values.dir ? await keptNetwork(dir) : null;
  if (values.dir && !kept) {
    // A network of other sizes (or none): start afresh.
    for (const sub of ['sites', 'trees', 'specs', 'scan-cache', 'xdg-cache']) await rm(path.join(dir, sub), { recursive: true, force: true });
  }
  const sites: BenchSite[] = [];
  const proxies: CountingProxy[] = [];
  const signal = AbortSignal.timeout(4 * 3600_000);
  try {
    console.log(`bench:plan — ${MIRRORS} mirrors × ${SITES} embedded sites, ${TREES} source trees (in ${dir}${kept ? ', reused' : ''})`);
    const trees: string[] = [];
    for (let t = 0; t < TREES; t++) {
      const root = path.join(dir, 'trees', `t${t}`);
      await mkdir(path.join(root, 'sub'), { recursive: true });
      await writeFile(path.join(root, 'README'), `tree ${t}\n`);
      await writeFile(path.join(root, 'sub', 'data.bin'), Buffer.alloc(1024 + t, t));
      trees.push(root);
    }
    for (let i = 0; i < SITES; i++) {
      const s = await startBenchSite({ name: siteName(i), dataDir: path.join(dir, 'sites', siteName(i)), ...(i === 0 ? { allowedImportPath: path.join(dir, 'trees') } : {}), signal });
      sites.push(s);
      proxies.push(await startCountingProxy(s.url, kept?.ports[i] ?? 0));
    }
    if (values.dir) {
      const ports = proxies.map((p) => Number(new URL(p.url).port));
      await writeFile(path.join(dir, 'bench-plan.json'), JSON.stringify({ mirrors: MIRRORS, sites: SITES, trees: TREES, ports } satisfies KeptNetwork) + '\n');
    }
    const specsDir = path.join(dir, 'specs');
    await writeSpecs(specsDir, proxies, trees);
    const loaded = await loadSpecPaths([specsDir]);
    const errors = loaded.problems.filter((p) => p.severity === 'error');
    if (errors.length) throw new Error(`bench specs invalid: ${errors.slice(0, 3).map((p) => `${p.file}:${p.line}: ${p.message}`).join('; ')}`);

    // Converge the network: one pass (a second one if the first left anything to do).
    const clients = new Map(loaded.specs.sites.map((s) => [s.name, createPulpClient(s, { log: silentLogger })]));
    const memory = createPassMemory();
    const sources = createSourceReader({ cacheDir: path.join(dir, 'scan-cache') });
    // The id `pulpdist plan --specs DIR` derives: the network is this controller's, so the
    // measured plan is a converged one (not 3,200 adoptions).
    const controllerId = await controllerIdOption(undefined, specsDir);
    const t0 = Date.now();
    let done = 0;
    let setupPasses = 0;
    for (let pass = 0; pass < 3; pass++) {
      setupPasses++;
      const r = await reconcilePass(loaded.specs, {
        clients, log: silentLogger, now: () => new Date(), memory, sources,
        onEvent: (e) => {
          if (e.type === 'action-end' && ++done % 5000 === 0) console.log(`  setup: ${done} actions, ${formatDuration(Date.now() - t0)}`);
        },
      }, { signal, controllerId, maxConcurrentSyncs: 64, apiConcurrency: 24 });
      if (r.converged) break;
      if (pass === 2) throw new Error(`the network did not converge: ${r.failures.slice(0, 5).join('; ')}`);
    }
    const setupS = (Date.now() - t0) / 1000;
    console.log(`  converged in ${setupPasses} pass(es), ${done} actions, ${formatDuration(setupS * 1000)}`);

    const pages = Math.ceil(MIRRORS / PULP_CLIENT_DEFAULTS.pageSize);
    const bound = 3 * KINDS * SITES * pages;
    const env = { XDG_CACHE_HOME: path.join(dir, 'xdg-cache') };
    await rm(env.XDG_CACHE_HOME, { recursive: true, force: true }); // the cold run starts with no cache at all
    const runs: Run[] = [];
    for (const [name, extra] of [['cold (no local cache)', ['--no-cache']], ['prime local cache', []], ['warm (local cache)', []]] as const) {
      for (const p of proxies) p.reset();
      const r = await runPlan(specsDir, env, [...extra]);
      const api = proxies.reduce((a, p) => a + p.counts().api, 0);
      const content = proxies.reduce((a, p) => a + p.counts().content, 0);
      if (r.code !== 0) throw new Error(`pulpdist plan exited ${r.code} on a converged network: ${r.stderr.slice(-800)} ${r.stdout.slice(0, 800)}`);
      if (name.startsWith('prime')) continue;
      runs.push({ name, wallS: r.wallS, cpuS: r.cpuS, maxRssBytes: r.maxRssBytes, exitCode: r.code, requests: { api, content, total: api + content } });
    }

    const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
    console.log('');
    console.log(`| run | wall | target ≤ ${TARGET_WALL_S} s | CPU | peak RSS | target ≤ 512 MiB | requests (api + content) | target ≤ ${bound} |`);
    console.log('|---|---:|---|---:|---:|---|---:|---|');
    for (const r of runs) {
      console.log(`| ${r.name} | ${r.wallS.toFixed(2)} s | ${ok(r.wallS <= TARGET_WALL_S)} | ${r.cpuS.toFixed(2)} s | ${formatBytes(r.maxRssBytes)} | ${ok(r.maxRssBytes <= TARGET_RSS)} | ${r.requests.total} (${r.requests.api} + ${r.requests.content}) | ${ok(r.requests.total <= bound)} |`);
    }
    console.log(`\nload average while measuring: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores`);
    console.log(`requests bound: 3 × ${KINDS} kinds × ${SITES} sites × ${pages} page(s) of ${PULP_CLIENT_DEFAULTS.pageSize} = ${bound}; setup (not a target): ${setupS.toFixed(1)} s`);
    if (values.out) {
      await writeFile(values.out, JSON.stringify({ mirrors: MIRRORS, sites: SITES, trees: TREES, pageSize: PULP_CLIENT_DEFAULTS.pageSize, requestsBound: bound, setupSeconds: setupS, runs }, null, 2) + '\n');
    }
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all(sites.map((s) => s.stop()));
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench:plan failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
