/**
 * {@linkcode Scope}: how widely a {@linkcode Proxy}'s object is shared, and
 * {@linkcode scoped}: runs a function in a fresh async scope whose objects go
 * back to their pools when it settles.
 *
 * @module
 */
import { Frame, storage } from "./_frame.ts";
import { show } from "./_validate.ts";
import { RESOLVED } from "./_settled.ts";

/**
 * How widely the object behind a {@linkcode Proxy} set with a `fun` is
 * shared. A proxy set with an `obj` always shares that object.
 *
 * | Scope | one object per | Python name |
 * | --- | --- | --- |
 * | `AUTO` | `SHARED` with `obj`, `ASYNC` with `fun` | `AUTO` |
 * | `SHARED` | proxy (`fun` called once, lazily, no pool) | `SHARED` |
 * | `THREAD` | isolate or Worker | `THREAD` |
 * | `ASYNC` | {@linkcode scoped} call; outside any, none (`ProxyError`) | `VERSATILE`, `WERKZEUG`, `GEVENT`, `EVENTLET` |
 * | `VERSATILE` | alias of `ASYNC` | `VERSATILE` |
 *
 * @example One connection per request
 * ```ts
 * import { Proxy, Scope, scoped } from "@ppp/proxy-pattern-pool";
 * import { assertNotStrictEquals } from "@std/assert";
 *
 * await using db = new Proxy<{ id: number }>({
 *   fun: (n) => ({ id: n }),
 *   scope: Scope.ASYNC,
 * });
 * const [a, b] = await Promise.all([
 *   scoped(() => db._getObj()),
 *   scoped(() => db._getObj()),
 * ]);
 * assertNotStrictEquals(a, b);
 * ```
 */
export const Scope = {
  /** `SHARED` for a proxy set with an `obj`, `ASYNC` with a `fun`. */
  AUTO: "auto",
  /** One object for everyone; a `fun` is called once, lazily, no pool. */
  SHARED: "shared",
  /** One object per isolate (or Worker), shared by every scope in it. */
  THREAD: "thread",
  /**
   * One object per {@linkcode scoped} call. Outside any there is none: a
   * member access throws `ProxyError` (choose `THREAD` to share one).
   */
  ASYNC: "async",
  /** Alias of `ASYNC`, the Python name of "works with any concurrency". */
  VERSATILE: "async",
} as const;

/**
 * One of the values of {@linkcode Scope}: `"auto"`, `"shared"`,
 * `"thread"` or `"async"`.
 *
 * @example A variable holding a scope
 * ```ts
 * import { Scope } from "@ppp/proxy-pattern-pool";
 *
 * const scope: Scope = Scope.VERSATILE; // "async"
 * ```
 */
export type Scope = typeof Scope[keyof typeof Scope];

const SCOPES: ReadonlySet<unknown> = new Set(Object.values(Scope));

/**
 * Whether `value` is one of the values of {@linkcode Scope}.
 *
 * @param value Anything.
 * @returns Whether it is a scope.
 *
 * @example Validating configuration
 * ```ts
 * import { isScope } from "./scope.ts";
 *
 * isScope("async"); // true
 * ```
 */
export function isScope(value: unknown): value is Scope {
  return SCOPES.has(value);
}

/**
 * Runs `fn` in a fresh async scope. Every `ASYNC` {@linkcode Proxy} binds
 * its own object in this scope on `await proxy._getObj()`, and every
 * object bound in the scope goes back to its pool when `fn` settles,
 * resolved or rejected, before the returned promise settles.
 *
 * Scopes do not nest: a `scoped()` call inside another one is a fresh
 * scope with no bindings of its own yet; its objects go back when the inner
 * `fn` settles, and the outer scope's objects are not visible inside it.
 * With a bounded pool, the inner scope takes a second object while the
 * outer one holds the first, so do not nest scopes around a pool that the
 * outer scopes can exhaust.
 *
 * @typeParam R What `fn` returns.
 * @param fn The work of one request, job or task.
 * @returns What `fn` returns, once the scope's objects are back.
 * @throws {unknown} What `fn` throws, once the scope's objects are back.
 *
 * @example A request handler
 * ```ts
 * import { Proxy, scoped } from "@ppp/proxy-pattern-pool";
 * import { assertEquals } from "@std/assert";
 *
 * await using db = new Proxy<{ query(sql: string): string }>({
 *   fun: (n) => ({ query: (sql) => `conn ${n}: ${sql}` }),
 *   maxSize: 2,
 * });
 * const handle = () =>
 *   scoped(async () => {
 *     await db._getObj();
 *     return db.query("SELECT 1");
 *   });
 * assertEquals(await handle(), "conn 0: SELECT 1");
 * assertEquals(await handle(), "conn 0: SELECT 1"); // reused
 * ```
 */
export function scoped<R>(fn: () => R | Promise<R>): Promise<R> {
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot run a scope as 'fn' must be a function: current value is ${
        show(fn)
      }`,
    );
  }
  const frame = new Frame();
  return storage.run(frame, () => runIn(frame, fn));
}

async function runIn<R>(frame: Frame, fn: () => R | Promise<R>): Promise<R> {
  try {
    return await fn();
  } finally {
    // Objects handed straight back (no hook to run) are back already.
    const closing = frame.close();
    if (closing !== RESOLVED) await closing;
  }
}
