/** Trees from manifests: observe, apply and the source reader all summarise a manifest here. */
import { treeDigest } from '../manifest/digest.js';
import { parseManifest } from '../manifest/parse.js';
import type { TreeSummary } from './plan-types.js';

/**
 * The last manifests summarised, by their text, oldest first. A mirror's sites publish the same
 * bytes (a mirror sync passes its upstream's file through), so labelling the tree of four leaves
 * after their syncs parses a 10,000-line manifest once, not four times.
 */
const recent = new Map<string, TreeSummary>();
const RECENT_KEPT = 8;

/** A tree from a manifest's text; throws the parser's error (with the line) for a malformed one. */
export function treeOfText(text: string): TreeSummary {
  let tree = recent.get(text);
  if (tree) {
    recent.delete(text);
  } else {
    const entries = parseManifest(text);
    let bytes = 0;
    for (const e of entries) bytes += e.size;
    tree = { digest: treeDigest(entries), files: entries.length, bytes, entries };
    if (recent.size >= RECENT_KEPT) recent.delete(recent.keys().next().value!);
  }
  recent.set(text, tree);
  // A copy: callers may add to a summary; the entries are read-only and shared.
  return { ...tree };
}
