/**
 * ProxyPatternPool for Deno: a generic async {@linkcode Pool} of expensive
 * objects, and a forwarding {@linkcode Proxy} to an object set up later,
 * optionally one per request drawn from the pool.
 *
 * @example A pool of connections
 * ```ts
 * import { Pool } from "@ppp/proxy-pattern-pool";
 * import { assertEquals } from "@std/assert";
 *
 * await using pool = new Pool({
 *   fun: (n) => ({ id: n, query: (sql: string) => `${n}: ${sql}` }),
 *   maxSize: 4,
 * });
 * const answer = await pool.use((conn) => conn.query("SELECT 1"));
 * assertEquals(answer, "0: SELECT 1");
 * ```
 *
 * @module
 */
export { PoolError, PPPError, ProxyError, TimeoutError } from "./errors.ts";
export type {
  FunContext,
  FunHook,
  HealthHook,
  PoolHook,
  StatsHook,
  TraceHook,
} from "./hooks.ts";
export {
  type GetOptions,
  Lease,
  type LogLevel,
  type ObjectStats,
  Pool,
  type PoolOptions,
  type PoolStats,
  type ResizeOptions,
  type RetOptions,
  type ShutdownOptions,
} from "./pool.ts";
export {
  Proxy,
  type ProxyConstructor,
  type ProxyControl,
  type ProxyOptions,
  type ProxyPoolOptions,
  type ProxyReserved,
  type ProxySetOptions,
  type ProxySetters,
} from "./proxy.ts";
export { Scope, scoped } from "./scope.ts";
