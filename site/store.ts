/**
 * The site's metadata store: every record in memory, made durable by an append-only journal.
 *
 * Why a journal: a sync commits thousands of records at once (content units, artifacts, a version)
 * and must become visible all together or not at all. One journal line holds one whole commit and is
 * fsynced before the commit resolves, so after a SIGKILL the store replays every complete line and
 * drops a torn last one: each commit is atomic, with no database and no per-object files to keep in
 * step. Commits that arrive while a write is in flight are grouped into one write and one fsync.
 * At start-up (and when the journal grows large) the state is compacted into `snapshot.json` by
 * write-temp, fsync, rename; a crash between the rename and the journal truncation is harmless
 * because replaying whole-record puts and deletes over the snapshot gives the same state.
 */
import { closeSync, openSync } from 'node:fs';
import { open, readFile, rename, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PulpdistError } from '../core/errors.js';
import { KINDS, advanceClockPast, type AnyRecord, type Kind, type Op, type Tables } from './records.js';
import { relationsToUpdate } from './relations.js';
import { datasync, fsyncDir, writeFully } from './durable-io.js';
import { StoreIndex } from './store-index.js';

/** The data directory cannot be used (unreadable, corrupt snapshot). */
export class StoreError extends PulpdistError {
  constructor(
    message: string,
    readonly file: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

const SNAPSHOT = 'snapshot.json';
const JOURNAL = 'journal.jsonl';
/** Compact once the journal passes this size. @default 64 MiB */
const COMPACT_AT = 64 * 1024 * 1024;

function emptyTables(): Tables {
  return {
    repositories: new Map(),
    versions: new Map(),
    remotes: new Map(),
    publications: new Map(),
    distributions: new Map(),
    content: new Map(),
    artifacts: new Map(),
    tasks: new Map(),
  };
}

/** Apply operations to the in-memory tables (and to their relations, once built). */
function applyOps(t: Tables, ops: Op[]): void {
  for (const op of ops) {
    const kind = 'put' in op ? op.put : op.del;
    const table = t[kind] as Map<string, AnyRecord>;
    const id = 'put' in op ? op.v.id : op.id;
    const rel = relationsToUpdate(t, kind);
    const before = rel ? table.get(id) : undefined;
    if ('put' in op) table.set(id, op.v);
    else table.delete(id);
    rel?.noteChange(kind, before, 'put' in op ? op.v : undefined);
  }
}

export class Store {
  /** The records; read freely, change only through `commit`. */
  readonly t: Tables;
  /** Artifact and content lookups by digest, kept up to date by `commit`. */
  readonly index: StoreIndex;
  /** The journal's descriptor, opened for appending on the first commit. */
  private journal: number | null = null;
  private journalSize = 0;
  private pending: { ops: Op[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  /**
   * The journal writer (`flush`) is running. A flag, not the promise alone: a flush whose write
   * fails at once ends before `commit` could store its promise.
   */
  private flushing = false;
  /** The last flush started (what `close` waits for). */
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    tables: Tables,
  ) {
    this.t = tables;
    this.index = new StoreIndex(tables);
  }

  /** Open (or create) the store in `dir`: load the snapshot, replay the journal, compact. */
  static async open(dir: string): Promise<Store> {
    const metaDir = path.join(dir, 'metadata');
    await mkdir(metaDir, { recursive: true });
    const t = emptyTables();
    const snapPath = path.join(metaDir, SNAPSHOT);
    let snapText: string | null = null;
    try {
      snapText = await readFile(snapPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StoreError(`cannot read ${snapPath}`, snapPath, { cause: err });
    }
    if (snapText !== null) {
      let snap: Record<string, { id: string }[]>;
      try {
        snap = JSON.parse(snapText) as Record<string, { id: string }[]>;
      } catch (err) {
        // The snapshot is only ever replaced by rename, so a bad one means outside damage.
        throw new StoreError(`${snapPath} is not valid JSON; restore it from a backup or remove the data directory`, snapPath, { cause: err });
      }
      for (const k of KINDS) for (const rec of snap[k] ?? []) (t[k] as Map<string, unknown>).set(rec.id, rec);
    }
    const jPath = path.join(metaDir, JOURNAL);
    let jText = '';
    try {
      jText = await readFile(jPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StoreError(`cannot read ${jPath}`, jPath, { cause: err });
    }
    for (const line of jText.split('\n')) {
      if (!line) continue;
      let ops: Op[];
      try {
        ops = JSON.parse(line) as Op[];
      } catch {
        // A torn last line from a crash mid-append: that commit never resolved, so drop it.
        break;
      }
      applyOps(t, ops);
    }
    for (const task of t.tasks.values()) advanceClockPast(task.pulp_created);
    for (const k of KINDS) {
      for (const rec of (t[k] as Map<string, { pulp_created?: string }>).values()) if (rec.pulp_created) advanceClockPast(rec.pulp_created);
    }
    const store = new Store(dir, t);
    await store.compact();
    return store;
  }

  /**
   * Apply `ops` in memory now (readers see them at once) and resolve when they are on disk.
   * Callers that answer a client await this first, so an acknowledged change survives a crash.
   */
  commit(ops: Op[]): Promise<void> {
    applyOps(this.t, ops);
    this.index.note(ops);
    return new Promise((resolve, reject) => {
      this.pending.push({ ops, resolve, reject });
      if (!this.flushing) this.writing = this.flush();
    });
  }

  /** Wait for every pending commit, then close the journal. */
  async close(): Promise<void> {
    while (this.flushing) await this.writing;
    this.closeJournal();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0);
        try {
          const text = batch.map((b) => JSON.stringify(b.ops) + '\n').join('');
          const buf = Buffer.from(text, 'utf8');
          // The write only reaches the page cache: on the event loop. The fdatasync waits for the disk.
          const fd = this.openJournal();
          writeFully(fd, buf, null);
          await datasync(fd);
          this.journalSize += buf.length;
          for (const b of batch) b.resolve();
        } catch (err) {
          for (const b of batch) b.reject(new StoreError('cannot write the metadata journal', path.join(this.dir, 'metadata', JOURNAL), { cause: err }));
        }
        if (this.journalSize > COMPACT_AT && this.pending.length === 0) await this.compact();
      }
    } finally {
      this.flushing = false;
    }
  }

  private openJournal(): number {
    this.journal ??= openSync(path.join(this.dir, 'metadata', JOURNAL), 'a');
    return this.journal;
  }

  private closeJournal(): void {
    if (this.journal !== null) closeSync(this.journal);
    this.journal = null;
  }

  /** Write every record to a new snapshot (temp, fsync, rename), then empty the journal. */
  private async compact(): Promise<void> {
    const metaDir = path.join(this.dir, 'metadata');
    const tmp = path.join(metaDir, SNAPSHOT + '.tmp');
    const snap: Record<string, unknown[]> = {};
    for (const k of KINDS) snap[k] = [...(this.t[k] as Map<string, unknown>).values()];
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(snap));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path.join(metaDir, SNAPSHOT));
    await fsyncDir(metaDir);
    this.closeJournal();
    await rm(path.join(metaDir, JOURNAL), { force: true });
    await fsyncDir(metaDir);
    this.journalSize = 0;
  }

  /** Count of records of a kind (for status and tests). */
  size(kind: Kind): number {
    return this.t[kind].size;
  }
}
