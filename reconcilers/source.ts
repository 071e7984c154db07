/**
 * Reading the sources of a pass through the injected SourceReader (sources/reader.ts is the real
 * one): each distinct source once, a few at a time. Pure of I/O itself.
 */
import PQueue from 'p-queue';
import { AbortFan } from '../core/abort-fan.js';
import { PulpdistError, messageOf } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { MirrorSource } from '../spec/types.js';
import type { SourceReader } from './pass-types.js';
import type { SourceTree } from './plan-types.js';

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

/**
 * A source that cannot be read *yet*: a tree being written (changed during its scan, not settled,
 * an in-progress marker present). The plan waits for it and the next pass reads it again; it is
 * not a failure of the pass. The reader throws it; readSources turns it into a waiting source.
 */
export class SourceWaitingError extends PulpdistError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: true, ...options });
  }
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
        if (err instanceof SourceWaitingError) return { error: redact(messageOf(err)), waiting: true as const };
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
