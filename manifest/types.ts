/** A PULP_MANIFEST line: `relative_path,sha256,size`. */
export interface ManifestEntry {
  /** `/`-separated path relative to the tree root, matching `^[^/]+(/[^/]+)*$`. */
  relativePath: string;
  /** Lowercase hex sha256 of the file's bytes. */
  sha256: string;
  size: number;
}
