// A borrowed object that goes back to its pool at the end of an
// `await using` block: the Disposable permit of std's semaphore, for pools.
import type { Pool } from "./pool.ts";
import { RESOLVED } from "./_settled.ts";

/** A borrowed object, returned to its pool at the end of an `await using` block. */
export class Lease<T> implements AsyncDisposable {
  readonly #pool: Pool<T>;
  #returned = false;
  /** The borrowed object. */
  readonly obj: T;

  /**
   * Wraps an object borrowed from `pool`; prefer {@linkcode Pool.prototype.lease}.
   *
   * @param pool The pool the object comes from.
   * @param obj The borrowed object.
   */
  constructor(pool: Pool<T>, obj: T) {
    if (typeof (pool as { ret?: unknown } | null)?.ret !== "function") {
      throw new TypeError(
        "Cannot create lease as 'pool' must be a Pool: use `await pool.lease()`",
      );
    }
    this.#pool = pool;
    this.obj = obj;
  }

  /**
   * Returns the object to its pool; later calls do nothing.
   *
   * @returns A promise that settles when the pool has taken the object back.
   *
   * @example Returning early
   * ```ts
   * import { Pool } from "@ppp/proxy-pattern-pool";
   *
   * await using pool = new Pool({ fun: () => ({}), minSize: 0 });
   * const lease = await pool.lease();
   * await lease.release();
   * ```
   */
  release(): Promise<void> {
    if (this.#returned) return RESOLVED;
    this.#returned = true;
    return this.#pool.ret(this.obj);
  }

  /**
   * Gives the object back to be closed instead of reused (it is broken);
   * its slot is freed. Does nothing once the object was given back.
   *
   * @returns A promise that settles when the object is closed.
   *
   * @example Dropping a broken connection
   * ```ts
   * import { Pool } from "@ppp/proxy-pattern-pool";
   * import { assertEquals } from "@std/assert";
   *
   * await using pool = new Pool({ fun: () => ({}), minSize: 0 });
   * {
   *   await using lease = await pool.lease();
   *   await lease.discard(); // the end of the block does nothing more
   * }
   * assertEquals(pool.stats().ndiscards, 1);
   * ```
   */
  discard(): Promise<void> {
    if (this.#returned) return RESOLVED;
    this.#returned = true;
    return this.#pool.ret(this.obj, { discard: true });
  }

  /**
   * Same as {@linkcode Lease.prototype.release}, for `await using`.
   *
   * @returns A promise that settles when the pool has taken the object back.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
