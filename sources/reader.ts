/**
 * Reading mirror sources, the I/O edge of a pass: a tree on disk is content-addressed with
 * manifest/ (scanTree, with its rescan cache, on a shared hash pool); a published manifest is
 * fetched over HTTP(S). Both end as a TreeSummary, whose digest the plan compares with what the
 * origin publishes. The composition roots (controller/start.ts, the CLI, benchmarks, tests) build
 * one reader and give it to every pass (reconcilers/pass-types.ts `PassDeps.sources`).
 */
import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { outboundPolicy, policyFetch } from '../core/outbound.js';
import { redactUrl } from '../core/redact.js';
import { HashPool } from '../manifest/hash-pool.js';
import { parseManifest } from '../manifest/parse.js';
import { TreeBusyError, TreeChangingError } from '../manifest/errors.js';
import { unrepresentableWhy } from '../manifest/report.js';
import { scanTree, writeManifest, type ScanStats } from '../manifest/scan.js';
import { SourceWaitingError } from '../reconcilers/source.js';
import type { SourceReader } from '../reconcilers/pass-types.js';
import type { TreeSummary } from '../reconcilers/plan-types.js';
import { treeOfText } from '../reconcilers/tree.js';
import { WatchedTrees } from './tree-watch.js';
import { updateView, viewDirOf, VIEWS_FOLDER } from './view.js';

/** A source manifest may be large and far away: the whole GET may take as long as a download's idle limit. */
const SOURCE_POLICY = outboundPolicy({ timeoutMs: 300_000 });

export interface SourceReaderOptions {
  /**
   * The controller's state directory (`--state-dir`): read-only trees get their view under
   * `STATE/sources/` (sources/view.ts). Without it, a read-only tree cannot be read.
   */
  stateDir?: string;
  /** Where scanTree keeps a rescan cache per tree (`STATE/manifest-cache`); undefined = manifest/'s default location. */
  cacheDir?: string;
  /** HTTP(S) GET for `source.manifest`. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** Hash threads per scan. @default manifest/'s default (all cores) */
  workers?: number;
  /**
   * Watch local trees between reads (sources/tree-watch.ts): a tree nothing touched since its
   * last scan is not scanned again. For long-lived readers (the controller); a one-pass caller
   * would pay for watches it never uses. @default false
   */
  watchTrees?: boolean;
}


/** The text of manifest bytes; invalid UTF-8 throws the parser's error naming the line. */
function decodeManifest(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    parseManifest(bytes);
    throw new Error('manifest is not valid UTF-8');
  }
}

/** Threads of an idle shared pool stop after this long; the next scan starts them again. */
const POOL_IDLE_MS = 10_000;

/**
 * One hash pool for every tree this reader scans: a pass reads hundreds of small trees a few at a
 * time, and a pool per scan started threads for each (tens of ms of CPU per tree, more than the
 * hashing). Closed once no scan has used it for POOL_IDLE_MS, so an idle controller holds no threads.
 */
function sharedHashPool(workers: number): { acquire(): HashPool; release(): void } {
  let pool: HashPool | null = null;
  let users = 0;
  let timer: NodeJS.Timeout | null = null;
  return {
    acquire() {
      if (timer) clearTimeout(timer);
      timer = null;
      users += 1;
      pool ??= new HashPool({ workers });
      return pool;
    },
    release() {
      users -= 1;
      if (users > 0) return;
      timer = setTimeout(() => {
        const idle = pool;
        pool = null;
        timer = null;
        void idle?.close();
      }, POOL_IDLE_MS);
      timer.unref();
    },
  };
}

/** The reader of mirror sources: pass one to every pass of a caller (it keeps ETags and a hash pool). */
export function createSourceReader(options: SourceReaderOptions = {}): SourceReader {
  const doFetch = options.fetch ?? globalThis.fetch;
  const etags = new Map<string, { etag: string; tree: TreeSummary }>();
  const hashing = sharedHashPool(options.workers ?? os.availableParallelism());
  const viewsDir = options.stateDir === undefined ? undefined : path.join(path.resolve(options.stateDir), VIEWS_FOLDER);
  const cacheDir = options.cacheDir;
  // The real root each tree was scanned at, so that a view links what was content-addressed even
  // when the tree's path is a symlink retargeted since (a `current -> compose-N` link).
  const roots = new WeakMap<TreeSummary, string>();
  const watched = options.watchTrees ? new WatchedTrees() : null;
  return {
    ...(viewsDir ? { viewsDir } : {}),
    async read(source, { signal }) {
      if (source.kind === 'path') {
        if (source.readOnly && !viewsDir) throw new Error(`source.readOnly needs the controller's state directory (--state-dir) for the manifest of ${source.path}`);
        const cacheFile = cacheDir
          ? path.join(cacheDir, createHash('sha256').update(source.path).digest('hex').slice(0, 32) + '.cache')
          : undefined;
        const same = await watched?.unchanged(source);
        if (same) return same;
        // Armed before the scan, so that a change while it runs is seen too.
        const armed = watched?.arm(source) ?? null;
        const pool = hashing.acquire();
        let r;
        try {
          r = await scanTree(source.path, {
            signal,
            pool,
            // Never publish a tree that is being written (docs/specs.md): a change seen during the
            // scan, an unsettled tree or a marker ends as a waiting source, read again next pass.
            requireQuiet: true,
            ...(source.exclude ? { exclude: source.exclude } : {}),
            ...(source.symlinks ? { symlinks: source.symlinks } : {}),
            ...(source.settleMs !== undefined ? { settleMs: source.settleMs } : {}),
            ...(source.inProgressMarker !== undefined ? { inProgressMarker: source.inProgressMarker } : {}),
            ...(cacheFile ? { cacheFile } : {}),
            ...(options.workers ? { workers: options.workers } : {}),
          });
        } catch (err) {
          armed?.watch.close();
          if (err instanceof TreeBusyError) throw new SourceWaitingError(err.message, { cause: err });
          if (err instanceof TreeChangingError) throw new SourceWaitingError(`source tree changing: ${err.message}`, { cause: err });
          throw err;
        } finally {
          hashing.release();
        }
        let bytes = 0;
        for (const e of r.entries) bytes += e.size;
        const notes = scanNotes(r.stats);
        const tree: TreeSummary = { digest: r.digest, files: r.entries.length, bytes, entries: r.entries, ...(notes.length ? { notes } : {}) };
        roots.set(tree, r.root);
        if (armed) watched?.keep(source, armed, r.root, tree);
        return tree;
      }
      const prior = etags.get(source.url);
      const res = await policyFetch(source.url, { signal, headers: prior ? { 'if-none-match': prior.etag } : {} }, SOURCE_POLICY, doFetch);
      if (res.status === 304 && prior) return prior.tree;
      if (!res.ok) throw new Error(`GET ${redactUrl(source.url)} answered ${res.status} ${res.statusText}`);
      // Strict UTF-8, as a site's sync reads it: a lossy decode (res.text()) would turn a bad byte
      // into U+FFFD and plan a tree that no site can sync.
      const tree = treeOfText(decodeManifest(new Uint8Array(await res.arrayBuffer())));
      const etag = res.headers.get('etag');
      if (etag) etags.set(source.url, { etag, tree });
      return tree;
    },
    close() {
      watched?.close();
    },
    async prepare(source, tree, { signal, mirror }) {
      if (source.kind !== 'path' || !tree.entries) return;
      if (!source.readOnly) {
        // The tree digest is the sha256 of the canonical manifest: an unchanged file is found
        // without building the text again.
        await writeManifest(path.join(source.path, 'PULP_MANIFEST'), tree.entries, { signal, digest: tree.digest });
        return;
      }
      if (!viewsDir) throw new Error(`source.readOnly needs the controller's state directory (--state-dir) for the manifest of ${source.path}`);
      await updateView(viewDirOf(viewsDir, mirror), roots.get(tree) ?? (await realpath(source.path)), tree.entries, { signal });
    },
  };
}

/** Names shown in a note before "and N more". */
const NOTE_NAMES = 5;

function named(items: readonly string[]): string {
  const shown = items.slice(0, NOTE_NAMES).map((p) => JSON.stringify(p));
  return shown.join(', ') + (items.length > NOTE_NAMES ? `, and ${items.length - NOTE_NAMES} more` : '');
}

/** The plan warnings of a scan: what it left out (names, links, exclusions). */
export function scanNotes(stats: ScanStats): string[] {
  const notes: string[] = [];
  const bad = stats.unrepresentable;
  const [first] = bad;
  if (first !== undefined) {
    notes.push(`${bad.length} file${bad.length === 1 ? '' : 's'} left out: names Pulp cannot carry: ${named(bad)} (${unrepresentableWhy(first)}${bad.length > 1 ? ', …' : ''})`);
  }
  const followed = stats.links.followed;
  if (followed) notes.push(`${followed} symlink${followed === 1 ? '' : 's'} followed: published at ${followed === 1 ? 'its' : 'their'} own path${followed === 1 ? '' : 's'} with the target's content`);
  const links = stats.links.skipped;
  if (links.length) notes.push(`${links.length} symlink${links.length === 1 ? '' : 's'} left out (dangling, outside the tree or looping): ${named(links.map((l) => l.relativePath))}`);
  if (stats.excluded) notes.push(`${stats.excluded} path${stats.excluded === 1 ? '' : 's'} left out by exclude`);
  return notes;
}
