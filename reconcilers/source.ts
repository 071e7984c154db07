/**
 * Reading the sources of a pass through the injected SourceReader (sources/reader.ts is the real
 * one): each distinct source once, a few at a time. Pure of I/O itself.
 */
import PQueue from 'p-queue';
import { AbortFan } from '../core/abort-fan.js';
import { messageOf } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { MirrorSource } from '../spec/types.js';
import type { SourceReader } from './pass-types.js';
import type { SourceTree } from './plan-types.js';

/** A stable key of a source, so that mirrors sharing one are read once per pass. */
export function sourceKey(source: MirrorSource): string {
  return source.kind === 'path' ? `path:${source.path}` : `manifest:${source.url}`;
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
  const read = (source: MirrorSource): Promise<SourceTree> => fan.run((signal) => queue.add(
    async (): Promise<SourceTree> => {
      try {
        return await reader.read(source, { signal });
      } catch (err) {
        if (signal.aborted) throw err;
        return { error: redact(messageOf(err)) };
      }
    },
    { signal },
  ) as Promise<SourceTree>);
  const pending: [mirror: string, tree: Promise<SourceTree>][] = [];
  for (const m of mirrors) {
    const k = sourceKey(m.source);
    let tree = byKey.get(k);
    if (!tree) byKey.set(k, (tree = read(m.source)));
    pending.push([m.name, tree]);
  }
  const out = new Map<string, SourceTree>();
  for (const [name, tree] of pending) out.set(name, await tree);
  return out;
}
