/**
 * The types of the functions a {@linkcode Pool} calls during an object's
 * life: `fun` creates, `opener` runs once after creation, `getter` on each
 * hand-out, `retter` on each return, `check` before an idle object is handed
 * out, `health` when housekeeping checks an idle object, `closer` exactly
 * once when the object leaves the pool for good. `stats` and `tracer`
 * describe an object in `pool.stats()` and in log messages.
 *
 * Every hook may be synchronous or return a promise, and every one is
 * bounded in time (see the pool's options). A hook that throws or rejects
 * is logged and counted; it never breaks the pool (`fun` and `opener`
 * errors go to a caller).
 *
 * @module
 */

/**
 * Creates a new object. `n` is unique per call: 0, 1, 2… in call order.
 * `signal` aborts when the pool gives the creation up (past
 * `createTimeout`, or when shutdown stops waiting, `grace` +
 * `closeTimeout` after it began): a connect still pending then should
 * stop, as nobody will use what it brings (the pool closes it anyway).
 *
 * @typeParam T The type of the pooled objects.
 *
 * @example A factory numbering its objects
 * ```ts
 * import type { FunHook } from "@ppp/proxy-pattern-pool";
 *
 * const fun: FunHook<{ id: number }> = (n) => ({ id: n });
 * ```
 *
 * @example A connect that stops when the pool gives it up
 * ```ts
 * import type { FunHook } from "@ppp/proxy-pattern-pool";
 *
 * const fun: FunHook<WebSocket> = (_n, { signal }) =>
 *   new Promise((resolve, reject) => {
 *     const ws = new WebSocket("wss://example.com/feed");
 *     signal.addEventListener("abort", () => ws.close(), { once: true });
 *     ws.onopen = () => resolve(ws);
 *     ws.onerror = () => reject(new Error("cannot connect"));
 *   });
 * ```
 */
export type FunHook<T> = (
  n: number,
  context: FunContext,
) => T | Promise<T>;

/**
 * What a {@linkcode FunHook} is given besides its number.
 *
 * @example Giving up a connect
 * ```ts
 * import type { FunContext } from "@ppp/proxy-pattern-pool";
 *
 * function stopWhenGivenUp({ signal }: FunContext, socket: { close(): void }) {
 *   signal.addEventListener("abort", () => socket.close(), { once: true });
 * }
 * ```
 */
export interface FunContext {
  /** Aborts when the pool gives this creation up. */
  readonly signal: AbortSignal;
}

/**
 * Runs on an object at a point of its life (`opener`, `getter`, `retter`,
 * `closer`).
 *
 * @typeParam T The type of the pooled objects.
 *
 * @example Closing a connection
 * ```ts
 * import type { PoolHook } from "@ppp/proxy-pattern-pool";
 *
 * const closer: PoolHook<{ close(): void }> = (conn) => conn.close();
 * ```
 */
export type PoolHook<T> = (obj: T) => void | Promise<void>;

/**
 * Tells whether an object is still fit for use (`health`, `check`).
 * `false`, a throw or a rejection all mean "unfit".
 *
 * @typeParam T The type of the pooled objects.
 *
 * @example Pinging a connection
 * ```ts
 * import type { HealthHook } from "@ppp/proxy-pattern-pool";
 *
 * const health: HealthHook<{ ping(): Promise<boolean> }> = (c) => c.ping();
 * ```
 */
export type HealthHook<T> = (obj: T) => boolean | Promise<boolean>;

/**
 * Describes an object for `pool.stats()`; the result must be
 * JSON-compatible.
 *
 * @typeParam T The type of the pooled objects.
 *
 * @example Reporting a connection's server process
 * ```ts
 * import type { StatsHook } from "@ppp/proxy-pattern-pool";
 *
 * const stats: StatsHook<{ pid: number }> = (c) => ({ pid: c.pid });
 * ```
 */
export type StatsHook<T> = (obj: T) => unknown;

/**
 * Names an object in log messages and in `pool.stats()`.
 *
 * @typeParam T The type of the pooled objects.
 *
 * @example Naming a connection by its server process
 * ```ts
 * import type { TraceHook } from "@ppp/proxy-pattern-pool";
 *
 * const tracer: TraceHook<{ pid: number }> = (c) => `conn ${c.pid}`;
 * ```
 */
export type TraceHook<T> = (obj: T) => string;
