// The callers of a pool that wait with an AbortSignal, by signal. Callers
// often share one signal (a request's, or one for a whole batch), and a
// listener each would make every addEventListener scan the listeners
// already there: N callers would cost O(N²). One listener per signal
// serves them all, and leaves with the last of them.

/** Something that waits with a signal: it names the signal it watches. */
export interface Watcher {
  signal: AbortSignal | undefined;
}

interface Watched<W> {
  readonly watchers: Set<W>;
  readonly onAbort: () => void;
}

/** Watches signals for waiters, one listener per signal. */
export class Signals<W extends Watcher> {
  readonly #bySignal = new Map<AbortSignal, Watched<W>>();
  readonly #onAbort: (w: W) => void;

  /** `onAbort` is called with each waiter whose signal aborts. */
  constructor(onAbort: (w: W) => void) {
    this.#onAbort = onAbort;
  }

  /** How many signals have a listener (for tests). */
  get size(): number {
    return this.#bySignal.size;
  }

  /** Watches `signal` for `w` (which must not be watched already). */
  watch(signal: AbortSignal, w: W): void {
    w.signal = signal;
    let watched = this.#bySignal.get(signal);
    if (watched === undefined) {
      const watchers = new Set<W>();
      const onAbort = () => {
        this.#bySignal.delete(signal);
        // each waiter leaves (unwatch) as it is told; a copy stays stable
        for (const waiter of [...watchers]) this.#onAbort(waiter);
      };
      watched = { watchers, onAbort };
      this.#bySignal.set(signal, watched);
      signal.addEventListener("abort", onAbort, { once: true });
    }
    watched.watchers.add(w);
  }

  /** Stops watching for `w`; the listener goes with the last waiter. */
  unwatch(w: W): void {
    const signal = w.signal;
    if (signal === undefined) return;
    const watched = this.#bySignal.get(signal);
    if (watched === undefined || !watched.watchers.delete(w)) return;
    if (watched.watchers.size === 0) {
      this.#bySignal.delete(signal);
      signal.removeEventListener("abort", watched.onAbort);
    }
  }
}
