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

/**
 * The bindings of one scope, keyed by proxy. A request scope binds one
 * proxy (its database) most of the time, so the first binding is kept in
 * two fields and a Map is made only for a second proxy: a scope is made
 * and dropped per request, and a Map per scope measured in its cost.
 */
export class Frame {
  closed = false;
  #firstKey: object | undefined = undefined;
  #first: Binding | undefined = undefined;
  /** Bindings of other proxies; a key is here or first, never both. */
  #more: Map<object, Binding> | undefined = undefined;
  #abort: AbortController | undefined = undefined;

  /** Aborts the acquisitions still in flight when the frame closes. */
  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    return this.#abort.signal;
  }

  /** The binding of `key` (a proxy), if any. */
  get(key: object): Binding | undefined {
    return key === this.#firstKey ? this.#first : this.#more?.get(key);
  }

  /** Binds `key` to `binding`, replacing its binding if it has one. */
  set(key: object, binding: Binding): void {
    if (
      key === this.#firstKey ||
      (this.#firstKey === undefined && !this.#more?.has(key))
    ) {
      this.#firstKey = key;
      this.#first = binding;
    } else {
      (this.#more ??= new Map()).set(key, binding);
    }
  }

  /** Drops the binding of `key`, if any. */
  delete(key: object): void {
    if (key === this.#firstKey) {
      this.#firstKey = undefined;
      this.#first = undefined;
    } else {
      this.#more?.delete(key);
    }
  }

  /**
   * Closes the frame: withdraws acquisitions in flight, then gives every
   * bound object back. Never rejects.
   */
  close(): Promise<void> {
    if (this.closed) return RESOLVED;
    this.closed = true;
    const first = this.#first;
    if (this.#more === undefined || this.#more.size === 0) {
      // the usual scope: at most one binding, no array, no Promise.all
      if (first === undefined) return RESOLVED;
      this.delete(this.#firstKey!);
      this.#abortIfPending(first.pending !== undefined);
      return first.release();
    }
    const bindings = [...this.#more.values()];
    if (first !== undefined) bindings.push(first);
    this.#firstKey = this.#first = undefined;
    this.#more.clear();
    this.#abortIfPending(bindings.some((b) => b.pending !== undefined));
    // release() never rejects
    return Promise.all(bindings.map((b) => b.release())).then(NOOP);
  }

  // Only acquisitions still in flight need withdrawing: a scope whose
  // objects all came builds no error and aborts nothing.
  #abortIfPending(pending: boolean): void {
    if (!pending) return;
    this.#abort?.abort(
      new ProxyError(
        "Cannot get an object for a proxy as its scope ended first: await `_getObj()` inside the `scoped()` function",
      ),
    );
  }
}

/** The frame of the current `scoped()` call, if any. */
export const storage: AsyncLocalStorage<Frame> = new AsyncLocalStorage<
  Frame
>();
