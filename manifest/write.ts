/** Writing a PULP_MANIFEST file. */
import { canonicalManifest } from './digest.js';
import { writeFileAtomic } from './atomic-write.js';
import type { ManifestEntry } from './types.js';

/** Write `PULP_MANIFEST` (or FILE) atomically: temp file + fsync + rename. */
export async function writeManifest(file: string, entries: readonly ManifestEntry[], options: { signal?: AbortSignal } = {}): Promise<void> {
  await writeFileAtomic(file, canonicalManifest(entries), options);
}
