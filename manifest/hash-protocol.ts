/** Messages between the hash pool and its worker threads. */

/** Read size: large enough that syscalls cost nothing next to hashing, small enough for many threads. */
export const CHUNK_BYTES = 1024 * 1024;
/** A worker reports partial progress on a file every this many bytes. */
export const PROGRESS_EVERY_BYTES = 64 * 1024 * 1024;

export interface HashRequest {
  id: number;
  /** Absolute paths, hashed in order. */
  paths: string[];
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

/** A file that could not be opened or read: the system error code. */
export interface HashFailure {
  error: string;
}

export type HashResult = HashedFile | HashFailure;

export type HashReply =
  | { type: 'done'; id: number; results: HashResult[] }
  | { type: 'progress'; id: number; bytes: number };
