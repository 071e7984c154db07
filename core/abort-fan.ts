/**
 * Many child signals behind one listener on a parent signal.
 *
 * Node's EventTarget keeps an event's listeners in a linked list and walks it on every
 * `addEventListener` (to refuse a duplicate) and every `removeEventListener`: both cost O(listeners
 * already there). An apply pass queues a job per (mirror, site), and p-queue gives each queued job
 * an abort listener on the signal it was handed; every HTTP request (got), task-poll sleep and
 * started job then added and removed its own listener behind all of those. With the pass signal
 * shared, 5,000 mirrors × 10 sites meant 50,000 listeners and a quadratic pass (issue 6,
 * docs/pass-performance.md). A fan's children live in a Set instead (O(1) in, O(1) out), and the
 * parent carries one listener while any child is alive, none otherwise.
 */
export class AbortFan {
  readonly #parent: AbortSignal;
  readonly #children = new Set<AbortController>();
  readonly #onAbort = (): void => {
    const children = [...this.#children];
    this.#children.clear();
    for (const c of children) c.abort(this.#parent.reason);
  };

  constructor(parent: AbortSignal) {
    this.#parent = parent;
  }

  /**
   * Run `fn` under a signal of its own that aborts, with the parent's reason, when the parent
   * does. The child stops following the parent once `fn` has settled.
   */
  async run<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const child = new AbortController();
    if (this.#parent.aborted) {
      child.abort(this.#parent.reason);
    } else {
      if (this.#children.size === 0) this.#parent.addEventListener('abort', this.#onAbort, { once: true });
      this.#children.add(child);
    }
    try {
      return await fn(child.signal);
    } finally {
      // The last child leaving takes the parent's listener with it: a long-lived parent (the
      // controller's shutdown signal) gains nothing from a fan that is done.
      if (this.#children.delete(child) && this.#children.size === 0) this.#parent.removeEventListener('abort', this.#onAbort);
    }
  }

  /** Children alive now (for tests). */
  get size(): number {
    return this.#children.size;
  }
}
