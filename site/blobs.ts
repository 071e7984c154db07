/**
 * The content-addressed file store: `DATA/artifacts/ab/cdef…` named by sha256. A blob is written to
 * `DATA/tmp/`, fsynced, verified by the writer, and only then renamed into place, so a path under
 * `artifacts/` always holds exactly the bytes its name promises; a crash leaves at most a temp file,
 * and temp files are swept at start-up. Directories touched by renames are fsynced before the
 * metadata that refers to them is committed (`syncDirs`).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from './store.js';

export class BlobStore {
  readonly root: string;
  readonly tmpDir: string;
  private dirtyDirs = new Set<string>();

  constructor(readonly dataDir: string) {
    this.root = path.join(dataDir, 'artifacts');
    this.tmpDir = path.join(dataDir, 'tmp');
  }

  /** Create the directories and remove temp files a crash left behind. */
  async init(): Promise<number> {
    await mkdir(this.root, { recursive: true });
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    return 0;
  }

  /** Where the blob with this digest lives. */
  pathOf(sha256: string): string {
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2));
  }

  /** Pulp's `file` field for an artifact: `artifact/ab/cdef…`. */
  fileField(sha256: string): string {
    return `artifact/${sha256.slice(0, 2)}/${sha256.slice(2)}`;
  }

  /** Size of the stored blob, or null when it is absent. */
  async sizeOf(sha256: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch {
      return null;
    }
  }

  /** A fresh temp file to write into. */
  async createTemp(): Promise<{ path: string; fh: FileHandle }> {
    const p = path.join(this.tmpDir, randomUUID());
    return { path: p, fh: await open(p, 'w') };
  }

  /** fsync and close a finished temp file, then rename it to its digest's place. */
  async commitTemp(tmp: { path: string; fh: FileHandle }, sha256: string): Promise<void> {
    try {
      await tmp.fh.sync();
    } finally {
      await tmp.fh.close();
    }
    const dest = this.pathOf(sha256);
    const dir = path.dirname(dest);
    await mkdir(dir, { recursive: true });
    await rename(tmp.path, dest);
    this.dirtyDirs.add(dir);
  }

  /** Close and remove a temp file that will not be used. Never throws. */
  async discardTemp(tmp: { path: string; fh: FileHandle }): Promise<void> {
    await tmp.fh.close().catch(() => undefined);
    await rm(tmp.path, { force: true }).catch(() => undefined);
  }

  /** Store small bytes (a publication's manifest) by their digest; returns the digest. */
  async putBytes(bytes: Uint8Array): Promise<string> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if ((await this.sizeOf(sha256)) === bytes.length) return sha256;
    const tmp = await this.createTemp();
    try {
      await tmp.fh.writeFile(bytes);
    } catch (err) {
      await this.discardTemp(tmp);
      throw err;
    }
    await this.commitTemp(tmp, sha256);
    return sha256;
  }

  /** Make every rename since the last call durable (before committing metadata that names them). */
  async syncDirs(): Promise<void> {
    const dirs = [...this.dirtyDirs];
    this.dirtyDirs.clear();
    for (const d of dirs) await fsyncDir(d);
    if (dirs.length) await fsyncDir(this.root);
  }

  /** Bytes and count of stored blobs (for tests and status; walks the tree). */
  async usage(): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    for (const d of await readdir(this.root).catch(() => [] as string[])) {
      for (const f of await readdir(path.join(this.root, d)).catch(() => [] as string[])) {
        files++;
        bytes += (await stat(path.join(this.root, d, f))).size;
      }
    }
    return { files, bytes };
  }
}
