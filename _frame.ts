// The bindings of one async scope: which object each proxy uses there, and
// how to give it back. A `scoped()` call runs its function inside a fresh
// Frame kept in an AsyncLocalStorage; every proxy also owns one Frame for
// the isolate (THREAD scope; ASYNC has no object outside a scope). Private: the
// public surface is `scope.ts` and `proxy.ts`.
import { AsyncLocalStorage } from "node:async_hooks";
import { ProxyError } from "./errors.ts";
import { RESOLVED } from "./_settled.ts";

const NOOP = (): void => {};

/** What a binding needs of a pool: its `ret`. */
export interface ReturnsObjects {
  ret(obj: never, options?: { discard?: boolean }): Promise<void>;
}

/** What a proxy holds in one frame: an object, or a request for one. */
export class Binding {
  /** The object, valid only while `has` is true (it may be falsy). */
  obj: unknown = undefined;
  has = false;
  /** The acquisition in flight, until it settles. */
  pending: Promise<unknown> | undefined = undefined;

  constructor(
    /** The proxy's generation when bound: a `set` makes older ones stale. */
    readonly gen: number,
    /** The pool the object goes back to; `undefined` when not pooled. */
    readonly pool: ReturnsObjects | undefined,
  ) {}

  /**
   * Waits for an acquisition in flight, then gives the object back
   * (`discard`: to be closed). Never rejects.
   */
  release(options?: { discard?: boolean }): Promise<void> {
    if (this.pending !== undefined) {
      // The acquisition sees the frame closed or the binding gone and
      // returns its object itself; we only wait for it.
      return this.pending.then(NOOP, NOOP).then(() => this.release(options));
    }
    if (!this.has) return RESOLVED;
    const obj = this.obj;
    this.has = false;
    this.obj = undefined;
    return this.pool === undefined
      ? RESOLVED
      : this.pool.ret(obj as never, options);
  }
}

/** The bindings of one scope. */
export class Frame {
  /** Keyed by the proxy's private state object. */
  readonly bindings: Map<object, Binding> = new Map();
  closed = false;
  #abort: AbortController | undefined = undefined;

  /** Aborts the acquisitions still in flight when the frame closes. */
  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    return this.#abort.signal;
  }

  /**
   * Closes the frame: withdraws acquisitions in flight, then gives every
   * bound object back. Never rejects.
   */
  close(): Promise<void> {
    if (this.closed) return RESOLVED;
    this.closed = true;
    if (this.bindings.size === 0) return RESOLVED;
    const releases: Promise<void>[] = [];
    let pending = false;
    for (const binding of this.bindings.values()) {
      pending ||= binding.pending !== undefined;
      releases.push(binding.release());
    }
    // Only acquisitions still in flight need withdrawing: a scope whose
    // objects all came builds no error and aborts nothing.
    if (pending) {
      this.#abort?.abort(
        new ProxyError(
          "Cannot get an object for a proxy as its scope ended first: await `_getObj()` inside the `scoped()` function",
        ),
      );
    }
    this.bindings.clear();
    // release() never rejects: one binding (the usual scope) needs no
    // allSettled
    if (releases.length === 1) return releases[0];
    return Promise.all(releases).then(NOOP);
  }
}

/** The frame of the current `scoped()` call, if any. */
export const storage: AsyncLocalStorage<Frame> = new AsyncLocalStorage<
  Frame
>();
