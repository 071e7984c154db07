/**
 * A seeded, distribution-like tree and one update of it, as plain data: which file lives where,
 * how big it is and which content generation it holds. Nothing here touches the disk
 * (bench/scenario-files.ts writes what this plans), so the same seed always plans the same tree
 * and the same update, and the benchmarks can state the scenario without generating it.
 *
 * The shape follows a package repository: many packages between 10 KiB and 2 MiB (skewed small),
 * a few large images, metadata files rewritten whole on every update, and a few large logs that
 * only grow. The update adds 2% new files, deletes 1%, renames or moves 1%, rewrites the metadata
 * and appends to the logs.
 */

/** What kind of file an entry stands for; it decides how the update treats it. */
export type FileKind = 'package' | 'image' | 'metadata' | 'log';

/** A run of bytes derived from `(seed, file id, gen)`; a file is one or more runs in order. */
export interface Segment {
  gen: number;
  size: number;
}

/** One file of a planned tree. Its bytes are a function of the seed, `id` and `segments` only. */
export interface PlannedFile {
  /** Stable identity: a renamed or moved file keeps its id and so its bytes. */
  id: number;
  /** `/`-separated, relative to the tree root. */
  path: string;
  kind: FileKind;
  segments: Segment[];
  size: number;
}

/** The scale and mix of a scenario. Percentages are of the tree's file count. */
export interface ScenarioConfig {
  seed: number;
  packages: number;
  /** @default 10 KiB */
  packageMinBytes: number;
  /** @default 2 MiB */
  packageMaxBytes: number;
  /** Sizes are min·(max/min)^(u^skew): 1 is log-uniform, higher skews small. @default 2.7 */
  packageSkew: number;
  images: number;
  /** Mean image size; each varies by ±25%. */
  imageBytes: number;
  /** Metadata files (four per repository directory: os/, updates/). @default 8 */
  metadata: number;
  metadataBytes: number;
  logs: number;
  logBytes: number;
  /** Bytes appended to each log by the update. */
  logAppendBytes: number;
  /** @default 2 */
  addedPct: number;
  /** @default 1 */
  deletedPct: number;
  /** @default 1 */
  movedPct: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** The issue's default scale: ≥ 10,000 files and ≥ 2 GiB. */
export const DEFAULT_SCENARIO: ScenarioConfig = {
  seed: 20260101,
  packages: 10_000,
  packageMinBytes: 10 * KiB,
  packageMaxBytes: 2 * MiB,
  packageSkew: 2.7,
  images: 3,
  imageBytes: 128 * MiB,
  metadata: 8,
  metadataBytes: 6 * MiB,
  logs: 3,
  logBytes: 48 * MiB,
  logAppendBytes: 512 * KiB,
  addedPct: 2,
  deletedPct: 1,
  movedPct: 1,
};

/** `--quick`: the same mix, scaled down so a whole benchmark stays within 90 s. */
export const QUICK_SCENARIO: ScenarioConfig = {
  ...DEFAULT_SCENARIO,
  packages: 500,
  packageMaxBytes: 1 * MiB,
  images: 2,
  imageBytes: 8 * MiB,
  metadataBytes: 512 * KiB,
  logBytes: 4 * MiB,
  logAppendBytes: 64 * KiB,
};

/** A planned tree: files sorted by path. */
export interface TreePlan {
  seed: number;
  files: PlannedFile[];
}

/** What one update does, and the tree it leaves. */
export interface UpdatePlan {
  added: PlannedFile[];
  deleted: PlannedFile[];
  moved: { from: PlannedFile; to: PlannedFile }[];
  rewritten: { before: PlannedFile; after: PlannedFile }[];
  appended: { before: PlannedFile; after: PlannedFile }[];
  after: TreePlan;
}

/** mulberry32: a tiny seeded PRNG, so plans do not depend on Node's Math.random. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'bra', 'cli', 'dro', 'fen', 'gul', 'hex', 'lib', 'py', 'tk', 'xo', 'qu'];
const ARCHES = ['x86_64', 'noarch', 'aarch64'];
const REPOS = ['os', 'updates'];
const METADATA_NAMES = ['primary.xml', 'filelists.xml', 'other.xml', 'repomd.xml', 'comps.xml', 'updateinfo.xml', 'modules.yaml', 'prestodelta.xml'];
const IMAGE_NAMES = ['boot.iso', 'install.img', 'efiboot.img', 'live.squashfs', 'netinst.iso'];
const LOG_NAMES = ['build.log', 'sync.log', 'access.log', 'audit.log', 'compose.log'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function packageName(rand: () => number): string {
  const n = 2 + Math.floor(rand() * 2);
  let name = '';
  for (let i = 0; i < n; i++) name += pick(rand, SYLLABLES);
  return name;
}

function packagePath(rand: () => number, id: number, repo: string): string {
  const name = packageName(rand);
  const version = `${1 + Math.floor(rand() * 9)}.${Math.floor(rand() * 20)}.${Math.floor(rand() * 10)}`;
  // The id in the release keeps every path unique without a lookup.
  return `${repo}/Packages/${name[0]}/${name}-${version}-${id}.el9.${pick(rand, ARCHES)}.rpm`;
}

function packageSize(rand: () => number, c: ScenarioConfig): number {
  const ratio = c.packageMaxBytes / c.packageMinBytes;
  return Math.round(c.packageMinBytes * ratio ** (rand() ** c.packageSkew));
}

function around(rand: () => number, mean: number): number {
  return Math.max(1, Math.round(mean * (0.75 + rand() * 0.5)));
}

function file(id: number, path: string, kind: FileKind, segments: Segment[]): PlannedFile {
  return { id, path, kind, segments, size: segments.reduce((s, g) => s + g.size, 0) };
}

function byPath(a: PlannedFile, b: PlannedFile): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** The initial tree of a scenario. Pure: equal configs give equal plans. */
export function planTree(c: ScenarioConfig): TreePlan {
  const rand = mulberry32(c.seed);
  const files: PlannedFile[] = [];
  let id = 0;
  for (let i = 0; i < c.packages; i++) {
    const repo = rand() < 0.7 ? 'os' : 'updates';
    files.push(file(id, packagePath(rand, id, repo), 'package', [{ gen: 0, size: packageSize(rand, c) }]));
    id++;
  }
  for (let i = 0; i < c.images; i++) {
    const name = IMAGE_NAMES[i % IMAGE_NAMES.length]!;
    files.push(file(id++, `os/images/${i < IMAGE_NAMES.length ? name : `${i}-${name}`}`, 'image', [{ gen: 0, size: around(rand, c.imageBytes) }]));
  }
  for (let i = 0; i < c.metadata; i++) {
    const repo = REPOS[i % REPOS.length]!;
    const name = METADATA_NAMES[Math.floor(i / REPOS.length) % METADATA_NAMES.length]!;
    const prefix = i < REPOS.length * METADATA_NAMES.length ? '' : `${i}-`;
    files.push(file(id++, `${repo}/repodata/${prefix}${name}`, 'metadata', [{ gen: 0, size: around(rand, c.metadataBytes) }]));
  }
  for (let i = 0; i < c.logs; i++) {
    const name = LOG_NAMES[i % LOG_NAMES.length]!;
    files.push(file(id++, `logs/${i < LOG_NAMES.length ? name : `${i}-${name}`}`, 'log', [{ gen: 0, size: around(rand, c.logBytes) }]));
  }
  return { seed: c.seed, files: files.sort(byPath) };
}

/**
 * One update of `tree`: picks distinct packages to delete and to move (never the same file twice),
 * adds new packages, rewrites every metadata file with new bytes and appends to every log.
 * Half of the moves rename within a directory (a version bump), half move to the other repository.
 */
export function planUpdate(tree: TreePlan, c: ScenarioConfig, generation = 1): UpdatePlan {
  const rand = mulberry32((c.seed ^ Math.imul(generation, 0x9e3779b1)) >>> 0);
  const total = tree.files.length;
  const nAdded = Math.round((total * c.addedPct) / 100);
  const nDeleted = Math.round((total * c.deletedPct) / 100);
  const nMoved = Math.round((total * c.movedPct) / 100);
  const packages = tree.files.filter((f) => f.kind === 'package');
  if (nDeleted + nMoved > packages.length) throw new RangeError(`scenario has ${packages.length} packages, the update needs ${nDeleted + nMoved}`);

  // A partial Fisher–Yates shuffle picks nDeleted + nMoved distinct packages.
  const order = packages.slice();
  for (let i = 0; i < nDeleted + nMoved; i++) {
    const j = i + Math.floor(rand() * (order.length - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const deleted = order.slice(0, nDeleted);
  const movedFrom = order.slice(nDeleted, nDeleted + nMoved);
  const used = new Set(tree.files.map((f) => f.path));
  const moved = movedFrom.map((from, i) => {
    const slash = from.path.lastIndexOf('/');
    const base = from.path.slice(slash + 1);
    let path: string;
    if (i % 2 === 0) {
      path = `${from.path.slice(0, slash)}/${base.replace(/-(\d+)\.el9\./, `-$1.${generation}.el9.`)}`;
    } else {
      const repo = from.path.startsWith('os/') ? 'updates' : 'os';
      path = `${repo}${from.path.slice(from.path.indexOf('/'))}`;
    }
    used.add(path);
    return { from, to: { ...from, path } };
  });
  let nextId = Math.max(...tree.files.map((f) => f.id)) + 1;
  const added: PlannedFile[] = [];
  while (added.length < nAdded) {
    const id = nextId++;
    const path = packagePath(rand, id, rand() < 0.7 ? 'os' : 'updates');
    if (used.has(path)) continue;
    used.add(path);
    added.push(file(id, path, 'package', [{ gen: generation, size: packageSize(rand, c) }]));
  }
  const rewritten = tree.files
    .filter((f) => f.kind === 'metadata')
    .map((before) => ({ before, after: file(before.id, before.path, 'metadata', [{ gen: generation, size: around(rand, before.size) }]) }));
  const appended = tree.files
    .filter((f) => f.kind === 'log')
    .map((before) => ({ before, after: file(before.id, before.path, 'log', [...before.segments, { gen: generation, size: c.logAppendBytes }]) }));

  const gone = new Set([...deleted, ...movedFrom].map((f) => f.path));
  const replaced = new Map([...rewritten, ...appended].map((r) => [r.after.path, r.after]));
  const files = tree.files
    .filter((f) => !gone.has(f.path))
    .map((f) => replaced.get(f.path) ?? f)
    .concat(added, moved.map((m) => m.to))
    .sort(byPath);
  return { added: added.sort(byPath), deleted: deleted.sort(byPath), moved, rewritten, appended, after: { seed: tree.seed, files } };
}

/** Totals of a tree, for reports. */
export function treeTotals(tree: TreePlan): { files: number; bytes: number; byKind: Record<FileKind, { files: number; bytes: number }> } {
  const byKind: Record<FileKind, { files: number; bytes: number }> = {
    package: { files: 0, bytes: 0 },
    image: { files: 0, bytes: 0 },
    metadata: { files: 0, bytes: 0 },
    log: { files: 0, bytes: 0 },
  };
  let bytes = 0;
  for (const f of tree.files) {
    byKind[f.kind].files++;
    byKind[f.kind].bytes += f.size;
    bytes += f.size;
  }
  return { files: tree.files.length, bytes, byKind };
}

/**
 * The bytes an ideal whole-file, content-addressed transfer of the update moves: new files and
 * every changed file in full (renames and moves are free: same bytes, same address).
 */
export function updateChangedBytes(u: UpdatePlan): { newFiles: number; rewritten: number; appendedWhole: number; appendedTail: number; moved: number } {
  const sum = (xs: PlannedFile[]) => xs.reduce((s, f) => s + f.size, 0);
  return {
    newFiles: sum(u.added),
    rewritten: sum(u.rewritten.map((r) => r.after)),
    appendedWhole: sum(u.appended.map((a) => a.after)),
    appendedTail: sum(u.appended.map((a) => a.after)) - sum(u.appended.map((a) => a.before)),
    moved: sum(u.moved.map((m) => m.to)),
  };
}
