/**
 * Reading mirror sources: a tree on disk is content-addressed with manifest/ (scanTree, with its
 * rescan cache); a published manifest is fetched over HTTP(S). Both end as a TreeSummary, whose
 * digest the plan compares with what the origin publishes. The reader is an injected edge, so
 * tests and the controller can give their own.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import { AbortFan } from '../core/abort-fan.js';
import { messageOf } from '../core/errors.js';
import { redact, redactUrl } from '../core/redact.js';
import { parseManifest } from '../manifest/parse.js';
import { HashPool } from '../manifest/hash-pool.js';
import { TreeBusyError, TreeChangingError } from '../manifest/errors.js';
import { unrepresentableWhy } from '../manifest/report.js';
import { scanTree, writeManifest, type ScanStats } from '../manifest/scan.js';
import type { MirrorSource } from '../spec/types.js';
import { treeOfText } from './observe.js';
import type { SourceTree, TreeSummary } from './plan-types.js';

export interface SourceReader {
  /** The tree a source holds now. Throws when it cannot be read. */
  read(source: MirrorSource, opts: { signal: AbortSignal }): Promise<TreeSummary>;
  /**
   * Make the source readable by the origin's remote: for a tree on disk, write its PULP_MANIFEST
   * at the tree's root (atomically). Nothing to do for a published manifest.
   */
  prepare(source: MirrorSource, tree: TreeSummary, opts: { signal: AbortSignal }): Promise<void>;
}

export interface SourceReaderOptions {
  /** Where scanTree keeps a rescan cache per tree; undefined = manifest/'s default location. */
  cacheDir?: string;
  /** HTTP(S) GET for `source.manifest`. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** Hash threads per scan. @default manifest/'s default (all cores) */
  workers?: number;
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

/**
 * A stable key of a source, so that mirrors sharing one are read once per pass. How a tree is
 * read (exclude, symlinks, settle, marker) is part of it: two mirrors of one tree that read it
 * differently get different manifests.
 */
export function sourceKey(source: MirrorSource): string {
  if (source.kind === 'manifest') return `manifest:${source.url}`;
  const { kind: _kind, path: p, ...how } = source;
  return Object.keys(how).length === 0 ? `path:${p}` : `path:${p}\0${JSON.stringify(how, Object.keys(how).sort())}`;
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
  if (bad.length) {
    notes.push(`${bad.length} file${bad.length === 1 ? '' : 's'} left out: names Pulp cannot carry: ${named(bad)} (${unrepresentableWhy(bad[0]!)}${bad.length > 1 ? ', …' : ''})`);
  }
  const links = stats.links.skipped;
  if (links.length) notes.push(`${links.length} symlink${links.length === 1 ? '' : 's'} left out (dangling, outside the tree or looping): ${named(links.map((l) => l.relativePath))}`);
  if (stats.excluded) notes.push(`${stats.excluded} path${stats.excluded === 1 ? '' : 's'} left out by exclude`);
  return notes;
}

/** The reader used when none is injected. */
export function createSourceReader(options: SourceReaderOptions = {}): SourceReader {
  const doFetch = options.fetch ?? globalThis.fetch;
  const etags = new Map<string, { etag: string; tree: TreeSummary }>();
  const hashing = sharedHashPool(options.workers ?? os.availableParallelism());
  return {
    async read(source, { signal }) {
      if (source.kind === 'path') {
        const cacheFile = options.cacheDir
          ? path.join(options.cacheDir, createHash('sha256').update(source.path).digest('hex').slice(0, 32) + '.cache')
          : undefined;
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
        } finally {
          hashing.release();
        }
        let bytes = 0;
        for (const e of r.entries) bytes += e.size;
        const notes = scanNotes(r.stats);
        return { digest: r.digest, files: r.entries.length, bytes, entries: r.entries, ...(notes.length ? { notes } : {}) };
      }
      const prior = etags.get(source.url);
      const res = await doFetch(source.url, { signal, headers: prior ? { 'if-none-match': prior.etag } : {} });
      if (res.status === 304 && prior) return prior.tree;
      if (!res.ok) throw new Error(`GET ${redactUrl(source.url)} answered ${res.status} ${res.statusText}`);
      // Strict UTF-8, as a site's sync reads it: a lossy decode (res.text()) would turn a bad byte
      // into U+FFFD and plan a tree that no site can sync.
      const tree = treeOfText(decodeManifest(new Uint8Array(await res.arrayBuffer())));
      const etag = res.headers.get('etag');
      if (etag) etags.set(source.url, { etag, tree });
      return tree;
    },
    async prepare(source, tree, { signal }) {
      if (source.kind !== 'path' || !tree.entries) return;
      await writeManifest(path.join(source.path, 'PULP_MANIFEST'), tree.entries, { signal });
    },
  };
}

/**
 * Read the sources of these mirrors, each distinct source once, a few at a time. A source that
 * cannot be read gives `{error}` for its mirrors (the plan waits for it; nothing is deleted).
 */
export async function readSources(
  mirrors: readonly { name: string; source: MirrorSource }[],
  reader: SourceReader,
  opts: { signal: AbortSignal; concurrency?: number },
): Promise<Map<string, SourceTree>> {
  const queue = new PQueue({ concurrency: opts.concurrency ?? 4 });
  // A queued read per distinct source: each under its own child signal (abort-fan.ts says why).
  const fan = new AbortFan(opts.signal);
  const byKey = new Map<string, Promise<SourceTree>>();
  for (const m of mirrors) {
    const k = sourceKey(m.source);
    if (byKey.has(k)) continue;
    byKey.set(
      k,
      fan.run((signal) => queue.add(
        async () => {
          try {
            return await reader.read(m.source, { signal });
          } catch (err) {
            if (signal.aborted) throw err;
            if (err instanceof TreeBusyError) return { error: redact(messageOf(err)), waiting: true as const };
            if (err instanceof TreeChangingError) return { error: `source tree changing: ${redact(messageOf(err))}`, waiting: true as const };
            return { error: redact(messageOf(err)) };
          }
        },
        { signal },
      ) as Promise<SourceTree>),
    );
  }
  const out = new Map<string, SourceTree>();
  for (const m of mirrors) out.set(m.name, await byKey.get(sourceKey(m.source))!);
  return out;
}
