/**
 * Error classes thrown by the pool and the proxy.
 *
 * Every error of this module extends {@linkcode PPPError}, so one `catch`
 * with `instanceof PPPError` tells "the pool said no" from an error of your
 * own code or of the objects it pools.
 *
 * @module
 */

/**
 * Base class of every error this module throws.
 *
 * @example Telling our errors from others
 * ```ts
 * import { PPPError, Pool } from "@ppp/proxy-pattern-pool";
 * import { assertRejects } from "@std/assert";
 *
 * const pool = new Pool({ fun: () => ({}), minSize: 0 });
 * await pool.shutdown();
 * await assertRejects(() => pool.get(), PPPError);
 * ```
 */
export class PPPError extends Error {
  static {
    // on the prototype, with no constructor of its own: V8 then skips the
    // chain of constructors (an error costs as much as a plain Error;
    // TimeoutErrors are built by the thousand when a pool is exhausted)
    this.prototype.name = "PPPError";
  }
}

/**
 * A {@linkcode Pool} refused a request: it is shut down, or the request is
 * invalid in the pool's current state.
 *
 * @example Getting from a pool that was shut down
 * ```ts
 * import { Pool, PoolError } from "@ppp/proxy-pattern-pool";
 * import { assertRejects } from "@std/assert";
 *
 * const pool = new Pool({ fun: () => ({}), minSize: 0 });
 * await pool.shutdown();
 * await assertRejects(() => pool.get(), PoolError, "shut down");
 * ```
 */
export class PoolError extends PPPError {
  static {
    this.prototype.name = "PoolError";
  }
}

/**
 * A {@linkcode Pool} could not hand out an object within the timeout.
 *
 * The message says why no object came (all in use, creations failing,
 * timing out or pending, new objects failing their check). While
 * creations are failing, `cause` holds the last creation error: it
 * answers "why did it time out?". It is also the error a caller gets when
 * the creation its object would have come from passed `createTimeout`, and
 * when `timeout: 0` finds nothing.
 *
 * @example A full pool and a short timeout
 * ```ts
 * import { Pool, TimeoutError } from "@ppp/proxy-pattern-pool";
 * import { assertRejects } from "@std/assert";
 *
 * const pool = new Pool({ fun: () => ({}), maxSize: 1, minSize: 0 });
 * const held = await pool.get();
 * await assertRejects(() => pool.get({ timeout: 10 }), TimeoutError);
 * await pool.ret(held);
 * await pool.shutdown();
 * ```
 */
export class TimeoutError extends PoolError {
  static {
    this.prototype.name = "TimeoutError";
  }
}

/**
 * A {@linkcode Proxy} was used in a way its state does not allow, such as
 * reading a member before any object or function was set.
 *
 * @example Touching a proxy to nothing
 * ```ts
 * import { Proxy, ProxyError } from "@ppp/proxy-pattern-pool";
 * import { assertThrows } from "@std/assert";
 *
 * const db = new Proxy<{ query(sql: string): string }>();
 * assertThrows(() => db.query("SELECT 1"), ProxyError);
 * ```
 */
export class ProxyError extends PPPError {
  static {
    this.prototype.name = "ProxyError";
  }
}
