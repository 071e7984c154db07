/** Messages between the hash pool and its worker threads. */

/** Read size: large enough that syscalls cost nothing next to hashing, small enough for many threads. */
export const CHUNK_BYTES = 1024 * 1024;
/** A worker reports partial progress on a file every this many bytes. */
export const PROGRESS_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * In a batch of files whose size the walk did not read (`unsized`), a file this large or larger is
 * answered unread (DeferredFile): the scan sends it again with its size, so that large files are
 * spread over the threads by bytes. The largest unsized batch is then UNSIZED_BATCH_FILES files
 * just under this size, which bounds how unevenly two threads can end.
 */
export const DEFER_BYTES = 512 * 1024;

export interface HashRequest {
  id: number;
  /** Absolute paths, hashed in order. */
  paths: string[];
  /**
   * The walk did not stat these files: the thread stats each after reading it, answers a
   * non-regular file with ENOTREG and defers files of DEFER_BYTES and more (read no further than
   * DEFER_BYTES). It takes no stat before the read: the scan judges a change during the read from
   * the stat's stamps (a file last changed before the scan started, by more than the racy window,
   * cannot have changed during it) and reads any other file again, as a sized one.
   */
  unsized?: boolean;
}

/** A file hashed: its digest, the bytes read, and its stat after the read. */
export interface HashedFile {
  sha256: string;
  bytes: number;
  /** Bytes already announced through `progress` messages. */
  reported: number;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  /** st_dev, for the racy-clean window (racy.ts). */
  dev: string;
}

/** An unsized file of DEFER_BYTES or more, not read: its stat, for the scan to send it again. */
export interface DeferredFile {
  deferred: true;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

/** A file that could not be opened or read: the system error code. */
export interface HashFailure {
  error: string;
}

export type HashResult = HashedFile | HashFailure | DeferredFile;

export type HashReply =
  | { type: 'done'; id: number; results: HashResult[] }
  | { type: 'progress'; id: number; bytes: number };
