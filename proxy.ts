/**
 * {@linkcode Proxy}: a forwarding handle to an object set up later, shared
 * or drawn from a {@linkcode Pool} once per async scope.
 *
 * @module
 */
import type { LogLevel } from "@logtape/logtape";
import { Binding, Frame, storage } from "./_frame.ts";
import { ProxyError } from "./errors.ts";
import type { FunHook } from "./hooks.ts";
import { InstanceLog, isLogLevel } from "./_log.ts";
import {
  type GetOptions,
  lendNow,
  NOTHING,
  Pool,
  type PoolOptions,
  type RetOptions,
  type ShutdownOptions,
} from "./pool.ts";
import { isScope, Scope } from "./scope.ts";
import {
  checkFunction,
  checkInteger,
  checkKnown,
  checkObject,
  show,
} from "./_validate.ts";
import {
  POOL_OPTIONS,
  resolveGetOptions,
  resolveGraceOption,
  resolvePoolOptions,
  resolveRetOptions,
} from "./_options.ts";

// The option names of a proxy: its own, and its pool's (`fun` included).
const SET_OPTIONS: ReadonlySet<string> = new Set([
  ...POOL_OPTIONS,
  "obj",
  "scope",
]);
const PROXY_OPTIONS: ReadonlySet<string> = new Set([
  ...SET_OPTIONS,
  "setName",
  "name",
]);
const POOL_OPTIONS_BUT_FUN: ReadonlySet<string> = new Set(
  [...POOL_OPTIONS].filter((name) => name !== "fun"),
);
/** Stands for `fun` while a proxy's pool options are checked. */
const NO_FUN = (): undefined => undefined;
/** Names a setter may not take besides the control members. */
const RESERVED: ReadonlySet<string> = new Set(["then", "_pool"]);

const JSProxy = globalThis.Proxy;
const NEVER: AbortSignal = new AbortController().signal;
const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * Pool options of a {@linkcode Proxy}: those of {@linkcode PoolOptions}
 * but `fun`, with two defaults of their own.
 *
 * @typeParam T The type of the proxied objects.
 *
 * @example A bounded pool, set up before the function
 * ```ts
 * import { Proxy } from "@ppp/proxy-pattern-pool";
 * import { assertEquals } from "@std/assert";
 *
 * await using db = new Proxy<{ id: number }>();
 * db._setPool({ maxSize: 3, timeout: 1_000 });
 * db.setFun((n) => ({ id: n }));
 * assertEquals(db._pool?.stats().maxSize, 3);
 * ```
 */
export interface ProxyPoolOptions<T>
  extends Omit<PoolOptions<T>, "fun" | "maxSize" | "minSize"> {
  /**
   * Most objects in the pool backing `fun`, `0` for no limit; `null` for
   * no pool at all: `fun` is then called for each new scope and nothing is
   * returned or closed.
   *
   * @default {10}
   */
  maxSize?: number | null;
  /**
   * Objects the pool creates ahead of use. Unlike a bare `Pool`, a proxy's
   * pool creates nothing before the first use.
   *
   * @default {0}
   */
  minSize?: number;
}

/**
 * What to proxy: exactly one of `obj` and `fun`, optionally with a scope
 * and pool options.
 *
 * @typeParam T The type of the proxied objects.
 *
 * @example Setting a function with its pool options
 * ```ts
 * import { Proxy, Scope } from "@ppp/proxy-pattern-pool";
 * import { assertEquals } from "@std/assert";
 *
 * await using db = new Proxy<{ id: number }>();
 * db.set({ fun: (n) => ({ id: n }), scope: Scope.THREAD, maxSize: 1 });
 * assertEquals((await db._getObj()).id, 0);
 * ```
 */
export interface ProxySetOptions<T> extends ProxyPoolOptions<T> {
  /**
   * The object to forward to, shared by everyone whatever the scope. Any
   * value but `undefined`: `0`, `""` and `false` are objects too.
   */
  obj?: T;
  /** Creates the objects to forward to, one per scope. */
  fun?: FunHook<T>;
  /**
   * How widely an object made by `fun` is shared.
   *
   * @default {Scope.AUTO}
   */
  scope?: Scope;
}

/**
 * Options of {@linkcode Proxy}.
 *
 * @typeParam T The type of the proxied objects.
 * @typeParam S The name of the setters, a string literal.
 *
 * @example A named proxy with its own setter name
 * ```ts
 * import { Proxy } from "@ppp/proxy-pattern-pool";
 * import { assertEquals } from "@std/assert";
 *
 * const cache = new Proxy<Map<string, number>, "init">({
 *   setName: "init",
 *   name: "cache",
 * });
 * cache.initObj(new Map());
 * cache.set("a", 1); // Map.prototype.set
 * assertEquals(cache.get("a"), 1);
 * ```
 */
export interface ProxyOptions<T, S extends string = "set">
  extends ProxySetOptions<T> {
  /**
   * Names the setters `S`, `SObj` and `SFun`; `""` gives none (`_set`,
   * `_setObj` and `_setFun` always exist). Pick another name when `T` has
   * a member called `set`, such as a `Map`.
   *
   * @default {"set"}
   */
  setName?: S;
  /**
   * The proxy's name in error messages and logs, such as the variable
   * holding it; when given, also its pool's name (logs, `stats().name`,
   * metrics) unless the pool options give one (else the pool is
   * `pool-<id>`).
   *
   * @default {"proxy"}
   */
  name?: string;
}

/**
 * The control members of a {@linkcode Proxy}, beside the forwarded ones.
 *
 * @typeParam T The type of the proxied objects.
 *
 * @example Borrowing for one call
 * ```ts
 * import { Proxy } from "@ppp/proxy-pattern-pool";
 * import { assertEquals } from "@std/assert";
 *
 * await using db = new Proxy<{ id: number }>({ fun: (n) => ({ id: n }) });
 * assertEquals(db._hasObj(), false);
 * assertEquals(await db._obj((conn) => conn.id), 0);
 * assertEquals(db._pool?.nusing, 0); // returned
 * ```
 */
export interface ProxyControl<T> extends AsyncDisposable {
  /**
   * Sets what to proxy: exactly one of `obj` and `fun`. Replacing a `fun`
   * shuts its pool down (objects still borrowed from it are closed).
   *
   * @throws {ProxyError} If both or neither of `obj` and `fun` are given.
   * @throws {TypeError} If an option has the wrong type.
   * @throws {RangeError} If a pool option is out of range.
   */
  _set(options: ProxySetOptions<T>): void;
  /** Same as `_set({ obj })`. */
  _setObj(obj: T): void;
  /** Same as `_set({ fun })`. */
  _setFun(fun: FunHook<T>): void;
  /**
   * The object this scope uses: binds one from the pool (or `fun`) on the
   * first call in the scope, then returns the same one. Call it at the top
   * of each scope before touching the proxy's members.
   *
   * @throws {ProxyError} If nothing is set, the scope has ended, or (an
   * `ASYNC` proxy) it is called outside any `scoped()` call.
   * @throws {unknown} What the pool's `get` or `fun` throws.
   */
  _getObj(options?: GetOptions): Promise<T>;
  /** Whether a member access would find an object now, without waiting. */
  _hasObj(): boolean;
  /**
   * Gives this scope's object back to its pool before the scope ends; a
   * later `_getObj()` binds another one. With `discard: true` the pool
   * closes it instead (a broken connection). Does nothing for a shared
   * object.
   */
  _retObj(options?: RetOptions): Promise<void>;
  /**
   * Runs `fn` with an object and returns it to its pool when `fn`
   * settles, even on throw. Uses the object already bound in this scope,
   * if any (and leaves it bound); otherwise borrows one just for `fn`.
   */
  _obj<R>(fn: (obj: T) => R | Promise<R>, options?: GetOptions): Promise<R>;
  /**
   * Sets pool options before the pool exists.
   *
   * @throws {ProxyError} If the pool already exists.
   */
  _setPool(options: ProxyPoolOptions<T>): void;
  /** Returns the isolate's object and shuts the pool down. Idempotent. */
  _shutdown(options?: ShutdownOptions): Promise<void>;
  /** The pool backing `fun`, if any: for `stats()`. */
  readonly _pool: Pool<T> | undefined;
}

/**
 * The setters named by {@linkcode ProxyOptions.setName}.
 *
 * @typeParam T The type of the proxied objects.
 * @typeParam S The setter name; `""` gives none.
 *
 * @example The setters of `setName: "init"`
 * ```ts
 * import type { ProxySetters } from "@ppp/proxy-pattern-pool";
 *
 * type Init = keyof ProxySetters<number, "init">; // "init" | "initObj" | "initFun"
 * const name: Init = "initObj";
 * ```
 */
export type ProxySetters<T, S extends string> = S extends ""
  ? Record<never, never>
  :
    & { [K in S]: (options: ProxySetOptions<T>) => void }
    & { [K in `${S}Obj`]: (obj: T) => void }
    & { [K in `${S}Fun`]: (fun: FunHook<T>) => void };

/**
 * The member names a {@linkcode Proxy} keeps for itself: its control
 * members and its setters. A member of `T` with one of these names is
 * shadowed (use it through `_obj` or `_getObj`).
 *
 * @typeParam S The setter name.
 *
 * @example Names a proxied type should avoid
 * ```ts
 * import type { ProxyReserved } from "@ppp/proxy-pattern-pool";
 *
 * const taken: ProxyReserved<"set">[] = ["set", "setObj", "_getObj"];
 * ```
 */
export type ProxyReserved<S extends string> =
  | keyof ProxyControl<unknown>
  | (S extends "" ? never : S | `${S}Obj` | `${S}Fun`);

/**
 * The type of `new Proxy<T>()`: every member of `T` (but those the control
 * members and setters shadow), the control members and the setters.
 *
 * @typeParam T The type of the proxied objects.
 * @typeParam S The setter name.
 *
 * @example Typing a function that takes a proxy
 * ```ts
 * import { Proxy } from "@ppp/proxy-pattern-pool";
 * import { assertEquals } from "@std/assert";
 *
 * function greet(user: Proxy<{ name: string }>): string {
 *   return `hello ${user.name}`;
 * }
 * assertEquals(greet(new Proxy({ obj: { name: "ann" } })), "hello ann");
 * ```
 */
export type Proxy<T, S extends string = "set"> =
  & { [K in keyof T as K extends ProxyReserved<S> ? never : K]: T[K] }
  & ProxyControl<T>
  & ProxySetters<T, S>;

/**
 * The constructor of {@linkcode Proxy}.
 *
 * @example Constructing
 * ```ts
 * import { Proxy, type ProxyConstructor } from "@ppp/proxy-pattern-pool";
 *
 * const make: ProxyConstructor = Proxy;
 * const url = new make<URL>({ obj: new URL("https://deno.com") });
 * url.hostname;
 * ```
 */
export interface ProxyConstructor {
  /**
   * Makes a proxy, to nothing yet unless `obj` or `fun` is given.
   *
   * @typeParam T The type of the proxied objects.
   * @typeParam S The setter name, a string literal.
   * @param options What to proxy, the scope, the pool options, the setter
   * name.
   * @returns The proxy.
   */
  new <T, S extends string = "set">(options?: ProxyOptions<T, S>): Proxy<T, S>;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

let proxyCount = 0;

/** The state and logic behind one proxy; the JS Proxy only dispatches. */
class ProxyCore<T> {
  readonly id: number = proxyCount++;
  readonly #name: string;
  readonly #ownName: string | undefined; // as given, for the pool
  readonly #setName: string;
  readonly #log: InstanceLog;
  #gen = 0;
  #hasObj = false;
  #obj: T | undefined = undefined;
  #fun: FunHook<T> | undefined = undefined;
  #scopeOpt: Scope = Scope.AUTO;
  #scope: "shared" | "thread" | "async" = "shared";
  #poolOptions: ProxyPoolOptions<T> = {};
  #pool: Pool<T> | undefined = undefined;
  #shared: Binding | undefined = undefined;
  #isolate = new Frame();
  #calls = 0;
  #retiring = new Set<Promise<void>>();
  // The binding found in the frame looked up last (ASYNC and THREAD): while
  // it still holds an object of this generation, it is that frame's binding
  // (a binding leaves its frame only through release(), which clears `has`,
  // or through a set(), which bumps the generation).
  #lastFrame: Frame | undefined = undefined;
  #lastBinding: Binding | undefined = undefined;
  // The method read last, bound: reading the same function on the same
  // object again returns the same bound function instead of binding anew.
  // Keyed on both identities, it can never call another object.
  #lastObj: unknown = undefined;
  #lastFn: unknown = undefined;
  #lastBound: unknown = undefined;
  /**
   * The name read last through the `get` trap, if it is neither a control
   * member nor `then` (which control names are is fixed at construction).
   */
  lastPlain: PropertyKey | undefined = undefined;
  /** The control members by name, the setters included. */
  readonly controls: Map<PropertyKey, unknown>;
  // The setter names; with no setName, "_set…" names (controls anyway).
  readonly #set0: string;
  readonly #set1: string;
  readonly #set2: string;

  constructor(options: ProxyOptions<T, string>) {
    checkObject(options, "create proxy");
    checkKnown(options, PROXY_OPTIONS, "create proxy");
    const { setName = "set", name, logLevel, obj, fun, ...rest } = options;
    if (typeof setName !== "string") {
      throw new TypeError(
        `Cannot create proxy as 'setName' must be a string: current value is ${
          show(setName)
        }`,
      );
    }
    if (
      name !== undefined && (typeof name !== "string" || name.trim() === "")
    ) {
      throw new TypeError(
        `Cannot create proxy as 'name' must be a non-empty string: current value is ${
          show(name)
        }`,
      );
    }
    if (logLevel !== undefined && !isLogLevel(logLevel)) {
      throw new TypeError(
        `Cannot create proxy as 'logLevel' must be a LogTape level: current value is ${
          show(logLevel)
        }`,
      );
    }
    this.#setName = setName;
    const set = (o: ProxySetOptions<T>) => this.set(o);
    const setObj = (obj: T) => this.set({ obj }, "set proxy object");
    const setFun = (fun: FunHook<T>) => this.set({ fun }, "set proxy function");
    this.controls = new Map<PropertyKey, unknown>([
      ["_set", set],
      ["_setObj", setObj],
      ["_setFun", setFun],
      ["_getObj", (o?: GetOptions) => this.getObj(o)],
      ["_hasObj", () => this.hasObj()],
      ["_retObj", (o?: RetOptions) => this.retObj(o)],
      [
        "_obj",
        <R>(fn: (obj: T) => R | Promise<R>, o?: GetOptions) => this.obj(fn, o),
      ],
      ["_setPool", (o: ProxyPoolOptions<T>) => this.setPool(o)],
      ["_shutdown", (o?: ShutdownOptions) => this.shutdown(o)],
      [Symbol.asyncDispose, () => this.shutdown()],
    ]);
    const base = setName === "" ? "_set" : setName;
    this.#set0 = base;
    this.#set1 = `${base}Obj`;
    this.#set2 = `${base}Fun`;
    if (setName !== "") {
      for (const setter of [this.#set0, this.#set1, this.#set2]) {
        if (this.controls.has(setter) || RESERVED.has(setter)) {
          throw new TypeError(
            `Cannot create proxy as 'setName' ${
              JSON.stringify(setName)
            } makes a setter '${setter}' that would hide a member the proxy needs: choose another name`,
          );
        }
      }
      this.controls.set(this.#set0, set);
      this.controls.set(this.#set1, setObj);
      this.controls.set(this.#set2, setFun);
    }
    this.#name = name ?? "proxy";
    this.#ownName = name;
    this.#log = new InstanceLog(["ppp", "proxy"], logLevel, {
      proxy: this.#name,
      id: this.id,
    });
    if (obj !== undefined || fun !== undefined) {
      this.set({ ...rest, logLevel, obj, fun }, "create proxy");
    } else {
      const { scope, pool } = this.#configure(rest, logLevel, "create proxy");
      this.#scopeOpt = scope;
      this.#poolOptions = pool;
    }
  }

  // ---- configuration

  /** Validates scope and pool options; returns them merged with the stored ones. */
  #configure(
    options: ProxySetOptions<T>,
    logLevel: LogLevel | undefined,
    action: string,
  ): { scope: Scope; pool: ProxyPoolOptions<T> } {
    const { scope, obj: _obj, fun: _fun, ...pool } = options;
    if (scope !== undefined && !isScope(scope)) {
      throw new TypeError(
        `Cannot ${action} as 'scope' must be one of ${
          [...new Set(Object.values(Scope))].map((s) => JSON.stringify(s))
            .join(", ")
        }: current value is ${show(scope)}`,
      );
    }
    const merged: Record<string, unknown> = { ...this.#poolOptions };
    for (const [key, value] of Object.entries(pool)) {
      if (value !== undefined) merged[key] = value;
    }
    if (logLevel !== undefined) merged.logLevel = logLevel;
    const maxSize = merged.maxSize;
    if (maxSize !== null && maxSize !== undefined) {
      checkInteger("maxSize", maxSize, 0, action);
    }
    // Every pool option is checked now, not when a pool is first built
    // (perhaps never, with no pool or a shared object).
    const { maxSize: _max, minSize = 0, ...rest } = merged;
    resolvePoolOptions({
      ...rest,
      fun: NO_FUN,
      maxSize: maxSize ?? 10,
      minSize,
    } as unknown as PoolOptions<unknown>);
    return {
      scope: scope ?? this.#scopeOpt,
      pool: merged as ProxyPoolOptions<T>,
    };
  }

  // The pool is named after the proxy unless its options name it.
  #makePool(fun: FunHook<T>, options: ProxyPoolOptions<T>): Pool<T> {
    const { maxSize, minSize = 0, name = this.#ownName, ...rest } = options;
    return new Pool<T>({ ...rest, name, fun, maxSize: maxSize ?? 10, minSize });
  }

  set(options: ProxySetOptions<T>, action = "set proxy"): void {
    checkObject(options, action);
    const { obj, fun } = options;
    if (obj !== undefined && fun !== undefined) {
      throw new ProxyError(
        `Cannot ${action} ${this.#label()} as both 'obj' and 'fun' are given: give exactly one`,
      );
    }
    if (obj === undefined && fun === undefined) {
      throw new ProxyError(
        `Cannot ${action} ${this.#label()} as neither 'obj' nor 'fun' is given: give exactly one (any value but undefined is an object)`,
      );
    }
    if (fun !== undefined) checkFunction("fun", fun, true, action);
    checkKnown(options, SET_OPTIONS, action);
    const { scope, pool } = this.#configure(options, undefined, action);
    const resolved = fun === undefined
      ? "shared"
      : scope === Scope.AUTO
      ? "async"
      : scope as "shared" | "thread" | "async";
    // Build the new pool first: a bad option leaves the proxy as it was.
    const newPool = fun !== undefined && resolved !== "shared" &&
        pool.maxSize !== null
      ? this.#makePool(fun, pool)
      : undefined;
    this.#retire();
    this.#gen++;
    this.#scopeOpt = scope;
    this.#poolOptions = pool;
    this.#scope = resolved;
    this.#hasObj = fun === undefined;
    this.#obj = obj;
    this.#fun = fun;
    this.#pool = newPool;
    this.#shared = undefined;
    this.#forget();
    if (this.#log.enabled("debug")) {
      this.#log.debug("Proxy {proxy} set to {what} (scope {scope}, {pool})", {
        what: fun === undefined ? "an object" : "a function",
        scope: resolved,
        pool: newPool === undefined ? "no pool" : `pool ${newPool.stats().id}`,
      });
    }
  }

  setPool(options: ProxyPoolOptions<T>): void {
    if (this.#pool !== undefined) {
      throw new ProxyError(
        `Cannot set the pool options of ${this.#label()} as its pool already exists: give them with the function (\`${this.#code()}._set({ fun, ...options })\`), or call \`_setPool\` before setting the function`,
      );
    }
    checkObject(options, "set pool options");
    checkKnown(options, POOL_OPTIONS_BUT_FUN, "set pool options");
    const { pool } = this.#configure(options, undefined, "set pool options");
    this.#poolOptions = pool;
    const fun = this.#fun;
    if (
      fun !== undefined && this.#scope !== "shared" && pool.maxSize !== null
    ) {
      this.#pool = this.#makePool(fun, pool);
    }
  }

  /** Returns the isolate's object, then shuts the old pool down. */
  #retire(): void {
    const pool = this.#pool;
    const isolate = this.#isolate;
    this.#isolate = new Frame();
    // close() gives the isolate's object back synchronously (it is not
    // pending), so the pool takes it back before it starts shutting down.
    const done = Promise.all([isolate.close(), pool?.shutdown()]).then(
      () => {},
    );
    this.#track(done);
  }

  /** Drops the caches of `current()` and `get()`: they hold old objects. */
  #forget(): void {
    this.#lastFrame = undefined;
    this.#lastBinding = undefined;
    this.#lastObj = undefined;
    this.#lastFn = undefined;
    this.#lastBound = undefined;
  }

  /** Keeps a background promise (that never rejects) for _shutdown(). */
  #track(done: Promise<void>): void {
    this.#retiring.add(done);
    void done.finally(() => this.#retiring.delete(done));
  }

  async shutdown(options?: ShutdownOptions): Promise<void> {
    resolveGraceOption(options);
    this.#log.debug("Proxy {proxy} shutting down");
    const isolate = this.#isolate;
    this.#isolate = new Frame();
    this.#forget();
    await Promise.all([isolate.close(), this.#pool?.shutdown(options)]);
    while (this.#retiring.size > 0) await Promise.all(this.#retiring);
  }

  get pool(): Pool<T> | undefined {
    return this.#pool;
  }

  // ---- messages

  #label(): string {
    return this.#name === "proxy" ? "the proxy" : `proxy "${this.#name}"`;
  }

  #code(): string {
    return /^[A-Za-z_$][\w$]*$/.test(this.#name) ? this.#name : "proxy";
  }

  #what(prop: PropertyKey | undefined): string {
    return prop === undefined
      ? this.#label()
      : `'${String(prop)}' of ${this.#label()}`;
  }

  #unsetError(prop?: PropertyKey): ProxyError {
    const set = `${this.#code()}.${
      this.#setName === "" ? "_set" : this.#setName
    }`;
    return new ProxyError(
      `Cannot use ${
        this.#what(prop)
      } as it has neither an object nor a function yet: call \`${set}Obj(obj)\` or \`${set}Fun(fun)\` first`,
    );
  }

  #unboundError(prop?: PropertyKey): ProxyError {
    return new ProxyError(
      `Cannot use ${
        this.#what(prop)
      } as no object is bound in this scope: call \`await ${this.#code()}._getObj()\` first in this \`scoped()\` call (a pooled or async object is never taken synchronously, so this holds at any load)`,
    );
  }

  #endedError(prop?: PropertyKey): ProxyError {
    return new ProxyError(
      `Cannot use ${
        this.#what(prop)
      } as its scope has ended and its object went back: use the proxy only inside the scoped() function, and await the work started there`,
    );
  }

  #outOfScopeError(prop?: PropertyKey): ProxyError {
    return new ProxyError(
      `Cannot use ${
        this.#what(prop)
      } outside a scope, as it gives one object per scope: run the request in \`scoped()\` and call \`await ${this.#code()}._getObj()\` first there (or choose \`Scope.THREAD\` to share one object per isolate on purpose)`,
    );
  }

  #goneError(): ProxyError {
    return new ProxyError(
      `Cannot get an object for ${this.#label()} as its scope ended (or \`_retObj()\` was called) before the object came: await \`${this.#code()}._getObj()\` inside the scope`,
    );
  }

  // ---- getting the object

  // The frame whose binding is this proxy's object here: the current
  // scope's for ASYNC (none outside any scope), the isolate's for THREAD.
  #frame(): Frame | undefined {
    return this.#scope === "async" ? storage.getStore() : this.#isolate;
  }

  /**
   * Fills `binding` with `result` (an object, or a promise of one); when it
   * comes after `isCurrent()` turned false, it goes back at once.
   */
  #fill(
    binding: Binding,
    result: unknown,
    isCurrent: () => boolean,
    onFail: () => void,
    pool: Pool<T> | undefined,
  ): void {
    if (!isThenable(result)) {
      binding.has = true;
      binding.obj = result;
      return;
    }
    const pending = Promise.resolve(result).then(
      async (obj) => {
        binding.pending = undefined;
        if (!isCurrent()) {
          if (pool !== undefined) await pool.ret(obj as T);
          throw this.#goneError();
        }
        binding.has = true;
        binding.obj = obj;
        return obj;
      },
      (error) => {
        binding.pending = undefined;
        onFail();
        throw error;
      },
    );
    // A touch that started this acquisition threw at once; nobody else may
    // await it, and a rejection must not go unhandled.
    pending.catch(() => {});
    binding.pending = pending;
  }

  /** The shared object of a SHARED proxy with a fun, creating it lazily. */
  #sharedBinding(): Binding {
    let binding = this.#shared;
    if (binding === undefined) {
      const b = binding = new Binding(this.#gen, undefined);
      this.#shared = b;
      try {
        this.#fill(
          b,
          this.#callFun(),
          () => this.#shared === b,
          () => {
            if (this.#shared === b) this.#shared = undefined;
          },
          undefined,
        );
      } catch (error) {
        this.#shared = undefined;
        throw error;
      }
    }
    return binding;
  }

  // Without a pool nothing gives a creation up: its signal never aborts.
  #callFun(): unknown {
    return (this.#fun as FunHook<T>)(this.#calls++, { signal: NEVER });
  }

  /** The binding of this proxy in `frame`, dropping a stale one. */
  #bindingIn(frame: Frame): Binding | undefined {
    const binding = frame.get(this);
    if (binding === undefined || binding.gen === this.#gen) return binding;
    // Bound before a set(): its object goes back to its own (old) pool;
    // _shutdown() waits for that.
    frame.delete(this);
    this.#track(binding.release());
    return undefined;
  }

  /** Starts binding an object in `frame`. */
  #bind(frame: Frame, options: GetOptions | undefined): Binding {
    const pool = this.#pool;
    const binding = new Binding(this.#gen, pool);
    frame.set(this, binding);
    if (pool !== undefined && options === undefined) {
      // An idle object ready at once: no promise, signal or timer.
      const obj = pool[lendNow]();
      if (obj !== NOTHING) {
        binding.has = true;
        binding.obj = obj;
        return binding;
      }
    }
    const isCurrent = () => !frame.closed && frame.get(this) === binding;
    const onFail = () => {
      if (frame.get(this) === binding) frame.delete(this);
    };
    try {
      let result: unknown;
      if (pool === undefined) {
        result = this.#callFun();
      } else {
        const signal = options?.signal === undefined
          ? frame.signal
          : AbortSignal.any([frame.signal, options.signal]);
        result = pool.get({ timeout: options?.timeout, signal });
      }
      this.#fill(binding, result, isCurrent, onFail, pool);
    } catch (error) {
      onFail();
      throw error;
    }
    return binding;
  }

  /** The object for a synchronous member access, or a ProxyError. */
  current(prop?: PropertyKey): T {
    if (this.#hasObj) return this.#obj as T;
    if (this.#fun === undefined) throw this.#unsetError(prop);
    if (this.#scope === "shared") {
      const binding = this.#sharedBinding();
      if (binding.has) return binding.obj as T;
      throw this.#unboundError(prop);
    }
    const frame = this.#frame();
    if (frame === undefined) throw this.#outOfScopeError(prop);
    const last = this.#lastBinding;
    if (
      frame === this.#lastFrame && last !== undefined && last.has &&
      last.gen === this.#gen
    ) {
      return last.obj as T;
    }
    const binding = this.#bindingIn(frame);
    if (binding !== undefined) {
      if (binding.has) {
        this.#lastFrame = frame;
        this.#lastBinding = binding;
        return binding.obj as T;
      }
      throw this.#unboundError(prop);
    }
    if (frame.closed) throw this.#endedError(prop);
    // Without a pool, a synchronous fun makes this scope's object now; a
    // pooled object is only ever bound by `_getObj()`.
    if (this.#pool === undefined && this.#poolOptions.maxSize === null) {
      const bound = this.#bind(frame, undefined);
      if (bound.has) return bound.obj as T;
    }
    throw this.#unboundError(prop);
  }

  /**
   * Whether `prop` may name a control member: every control name starts
   * with "_" but the setters and Symbol.asyncDispose. Any other name skips
   * the `controls` map.
   */
  isControl(prop: PropertyKey): boolean {
    return typeof prop === "string"
      ? prop.charCodeAt(0) === 95 /* _ */ || prop === this.#set0 ||
        prop === this.#set1 || prop === this.#set2
      : prop === Symbol.asyncDispose;
  }

  /**
   * A forwarded property read: the value of `prop` on the current object,
   * a method bound to that object.
   */
  get(prop: PropertyKey): unknown {
    const obj = this.current(prop);
    const value = (obj as Record<PropertyKey, unknown>)[prop];
    if (typeof value === "function" && prop !== "constructor") {
      if (value === this.#lastFn && obj === this.#lastObj) {
        return this.#lastBound;
      }
      const bound = value.bind(obj);
      this.#lastObj = obj;
      this.#lastFn = value;
      this.#lastBound = bound;
      return bound;
    }
    // Without a toJSON of its own, JSON.stringify(proxy) serializes the
    // object itself (arrays as arrays, primitives as primitives).
    if (value === undefined && prop === "toJSON") return () => obj;
    return value;
  }

  /** Describes the proxy for Deno's inspect, without side effects. */
  peek(): { has: true; obj: T } | { has: false; why: string } {
    if (this.#hasObj) return { has: true, obj: this.#obj as T };
    if (this.#fun === undefined) return { has: false, why: "unset" };
    const binding = this.#scope === "shared"
      ? this.#shared
      : this.#frame()?.get(this);
    if (binding?.has && binding.gen === this.#gen) {
      return { has: true, obj: binding.obj as T };
    }
    return {
      has: false,
      why: this.#frame() === undefined
        ? "outside any scoped() call"
        : "no object bound in this scope",
    };
  }

  hasObj(): boolean {
    return this.peek().has;
  }

  // Never a rejection nobody holds: the promise is marked handled, and
  // still rejects for whoever awaits it (a `_getObj()` left unawaited whose
  // scope ends first must not crash the process).
  getObj(options?: GetOptions): Promise<T> {
    let result: Promise<T>;
    try {
      result = this.#getObj(options);
    } catch (error) {
      result = Promise.reject(error);
      result.catch(() => {});
    }
    return result;
  }

  // An object at hand, or the binding's pending promise (already marked
  // handled by #fill).
  #getObj(options: GetOptions | undefined): Promise<T> {
    // checked even where they are not needed (an object at hand)
    if (options !== undefined) resolveGetOptions(options, 0);
    if (this.#hasObj) return Promise.resolve(this.#obj as T);
    if (this.#fun === undefined) throw this.#unsetError();
    let binding: Binding | undefined;
    if (this.#scope === "shared") {
      binding = this.#sharedBinding();
    } else {
      const frame = this.#frame();
      if (frame === undefined) throw this.#outOfScopeError();
      binding = this.#bindingIn(frame);
      if (binding === undefined) {
        if (frame.closed) throw this.#endedError();
        binding = this.#bind(frame, options);
      }
    }
    if (binding.has) return Promise.resolve(binding.obj as T);
    return binding.pending as Promise<T>;
  }

  async retObj(options?: RetOptions): Promise<void> {
    // checked before anything is given back: a bad option loses nothing
    if (options !== undefined) resolveRetOptions(options);
    if (this.#hasObj || this.#fun === undefined || this.#scope === "shared") {
      return;
    }
    const frame = this.#frame();
    const binding = frame?.get(this);
    if (binding === undefined) return;
    frame!.delete(this);
    await binding.release(options);
  }

  async obj<R>(
    fn: (obj: T) => R | Promise<R>,
    options?: GetOptions,
  ): Promise<R> {
    checkFunction("fn", fn, true, "run _obj");
    if (options !== undefined) resolveGetOptions(options, 0);
    if (this.#hasObj) return await fn(this.#obj as T);
    if (this.#fun === undefined) throw this.#unsetError();
    if (this.#scope !== "shared") {
      const frame = this.#frame();
      if (frame === undefined || this.#bindingIn(frame) === undefined) {
        if (frame?.closed) throw this.#endedError();
        // Not bound here (or outside any scope): borrow one just for fn,
        // bind nothing.
        const pool = this.#pool;
        if (pool !== undefined) return await pool.use(fn, options);
        return await fn(await (this.#callFun() as T | Promise<T>));
      }
    }
    return await fn(await this.getObj(options));
  }
}

/** Where a proxy's target keeps its core, for the one shared handler. */
const CORE = Symbol("ProxyCore");

/** The target of every proxy: empty but for its core and inspect hooks. */
interface Target {
  readonly [CORE]: ProxyCore<unknown>;
}

/** The object behind `target`, as an object, for the traps but `get`. */
function box(target: Target, prop?: PropertyKey): object {
  return Object(target[CORE].current(prop));
}

// One handler for every proxy, its state on the target: the traps see one
// core class and one target shape, and stay monomorphic however many
// proxies there are.
const handler: ProxyHandler<Target> = {
  get(target, prop) {
    const core = target[CORE];
    // A name read last, and found to be neither a control nor `then`, goes
    // straight to the object: a hot call site skips the checks below.
    if (prop !== core.lastPlain) {
      if (core.isControl(prop)) {
        const control = core.controls.get(prop);
        if (control !== undefined) return control;
        if (prop === "_pool") return core.pool;
      }
      // Promise resolution probes `then`: a proxy that cannot give its
      // object now is not thenable, rather than a throw inside `await`.
      if (prop === "then") {
        if (!core.hasObj()) return undefined;
      } else core.lastPlain = prop;
    }
    return core.get(prop);
  },
  set(target, prop, value) {
    return Reflect.set(box(target, prop), prop, value);
  },
  has(target, prop) {
    return target[CORE].controls.has(prop) || prop === "_pool" ||
      prop in box(target, prop);
  },
  deleteProperty(target, prop) {
    return Reflect.deleteProperty(box(target, prop), prop);
  },
  ownKeys(target) {
    return Reflect.ownKeys(box(target));
  },
  getOwnPropertyDescriptor(target, prop) {
    const desc = Reflect.getOwnPropertyDescriptor(box(target, prop), prop);
    // The target is extensible and its own properties are configurable:
    // only configurable properties may be reported.
    if (desc !== undefined) desc.configurable = true;
    return desc;
  },
  defineProperty(target, prop, desc) {
    return Reflect.defineProperty(box(target, prop), prop, desc);
  },
  getPrototypeOf(target) {
    return Reflect.getPrototypeOf(box(target));
  },
  setPrototypeOf(target, proto) {
    return Reflect.setPrototypeOf(box(target), proto);
  },
  preventExtensions() {
    throw new ProxyError(
      "Cannot freeze, seal or prevent extensions of a proxy: do it to the object, as in `await proxy._obj(Object.freeze)`",
    );
  },
};

function makeProxy<T>(options: ProxyOptions<T, string>): Proxy<T, string> {
  const core = new ProxyCore<T>(options);
  const describe = (
    inspect: (value: unknown, options?: unknown) => string,
    inspectOptions?: unknown,
  ): string => {
    const state = core.peek();
    return state.has
      ? inspect(state.obj, inspectOptions)
      : `Proxy <${state.why}>`;
  };
  // Deno's inspect reads the target, never the traps: it finds this.
  // Object.create(null) would make a dictionary-mode object, and V8 looks
  // every read up in the target to check the trap's answer: a fast-mode
  // object without prototype keeps that check cheap. Every target gets the
  // same properties in the same order, so they share one shape.
  const target: Target = Object.setPrototypeOf({}, null);
  Object.defineProperty(target, CORE, { value: core, configurable: true });
  Object.defineProperty(target, INSPECT, {
    value: describe,
    configurable: true,
  });
  Object.defineProperty(target, NODE_INSPECT, {
    value: (
      _depth: number,
      opts: unknown,
      inspect: (value: unknown, options?: unknown) => string,
    ) => describe(inspect, opts),
    configurable: true,
  });
  return new JSProxy(target, handler) as unknown as Proxy<T, string>;
}

/**
 * A forwarding handle to an object set up later: module code can export
 * `const db = new Proxy<Client>()`, import it everywhere, and let the
 * application's `main` set it up. Every member of `T` type-checks on the
 * proxy and is forwarded to the current object; methods run bound to it,
 * so classes with `#private` fields, `Map`, `Date` and `URL` work.
 *
 * The object is either one `obj`, shared, or made by a `fun`: by default
 * (`Scope.AUTO`) one per {@linkcode scoped} call, borrowed from a
 * {@linkcode Pool} that backs `fun` (`maxSize: 10`, creates nothing
 * before the first use). A pooled object is bound by `await
 * proxy._getObj()`, never taken synchronously by a member access, so the
 * rule is the same at any load: in each scope, await `_getObj()` first.
 *
 * Forwarded: property reads, writes and deletes, method calls, `in`,
 * `Object.keys` and other own-key reads, the prototype (`instanceof`),
 * `toString`, `valueOf`, `Symbol.toPrimitive` (`${proxy}`, `proxy + 1`),
 * `toJSON` (`JSON.stringify`), iteration and Deno's inspect. Not
 * forwarded: identity (`proxy !== obj`), `typeof` (always `"object"`),
 * calling the proxy itself, `Array.isArray`, `structuredClone`, and
 * freezing.
 *
 * @typeParam T The type of the proxied objects.
 * @typeParam S The setter name, a string literal.
 *
 * @example A module-level handle set up later
 * ```ts
 * import { Proxy, ProxyError } from "@ppp/proxy-pattern-pool";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const counts = new Proxy<Map<string, number>, "init">({ setName: "init" });
 * assertThrows(() => counts.get("a"), ProxyError, "initObj");
 *
 * counts.initObj(new Map([["a", 1]]));
 * counts.set("b", 2); // Map.prototype.set, forwarded
 * assertEquals([...counts.keys()], ["a", "b"]);
 * assertEquals(counts.size, 2);
 * ```
 *
 * @example One pooled connection per request
 * ```ts
 * import { Proxy, scoped } from "@ppp/proxy-pattern-pool";
 * import { assertEquals } from "@std/assert";
 *
 * class Conn {
 *   #n: number;
 *   constructor(n: number) { this.#n = n; }
 *   query(sql: string): string { return `conn ${this.#n}: ${sql}`; }
 * }
 * await using db = new Proxy<Conn>({
 *   fun: async (n) => await Promise.resolve(new Conn(n)),
 *   maxSize: 5,
 *   name: "db",
 * });
 * const handler = () =>
 *   scoped(async () => {
 *     await db._getObj();          // bind this request's connection
 *     return db.query("SELECT 1"); // then use the proxy synchronously
 *   });
 * const answers = await Promise.all([handler(), handler(), handler()]);
 * assertEquals(answers.length, 3);
 * assertEquals(db._pool?.nusing, 0); // all back in the pool
 * ```
 */
export const Proxy: ProxyConstructor = function Proxy(
  options: ProxyOptions<unknown, string> = {},
): Proxy<unknown, string> {
  if (new.target === undefined) {
    throw new TypeError("Cannot call Proxy as a function: use `new Proxy()`");
  }
  return makeProxy(options);
} as unknown as ProxyConstructor;
