/** Trees from manifests. Pure: observe, apply and the source reader all summarise a manifest here. */
import { treeDigest } from '../manifest/digest.js';
import { parseManifest } from '../manifest/parse.js';
import type { TreeSummary } from './plan-types.js';

/** A tree from a manifest's text; throws the parser's error (with the line) for a malformed one. */
export function treeOfText(text: string): TreeSummary {
  const entries = parseManifest(text);
  let bytes = 0;
  for (const e of entries) bytes += e.size;
  return { digest: treeDigest(entries), files: entries.length, bytes, entries };
}
