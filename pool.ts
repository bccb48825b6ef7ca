/**
 * {@linkcode Pool}: an async pool of expensive objects (connections,
 * clients, workers) that keeps its invariants under any interleaving of
 * concurrent callers.
 *
 * @module
 */
import { PoolError, TimeoutError } from "./errors.ts";
import { InstanceLog } from "./_log.ts";
import { Deadlines } from "./_deadlines.ts";
import { Waiter, WaiterQueue } from "./_waiters.ts";
import { Signals } from "./_signals.ts";
import { LATE, within } from "./_bounded.ts";
import { errorMessage, HookRunner } from "./_hook_runner.ts";
import { type PoolGauges, PoolMetrics } from "./_metrics.ts";
import { Clock } from "./_clock.ts";
import { capDelay, refTimer, unrefTimer } from "./_timers.ts";
import {
  type GetOptions,
  type PoolConfig,
  type PoolOptions,
  type ResizeOptions,
  resolveGetOptions,
  resolveGraceOption,
  resolvePoolOptions,
  resolveResizeOptions,
  resolveRetOptions,
  type RetOptions,
  type ShutdownOptions,
} from "./_options.ts";
import { Lease } from "./_lease.ts";

export { Lease };
import {
  Counters,
  type ObjectStats,
  type PoolStats,
  WaitSamples,
} from "./_stats.ts";
import { Backoff } from "./_backoff.ts";
import { Slot, SlotState } from "./_slot.ts";
import { isWeakKey, LentMap } from "./_lent.ts";

export type {
  GetOptions,
  LogLevel,
  PoolOptions,
  ResizeOptions,
  RetOptions,
  ShutdownOptions,
} from "./_options.ts";
import { RESOLVED } from "./_settled.ts";
import { checkFunction } from "./_validate.ts";
export type { ObjectStats, PoolStats } from "./_stats.ts";

const { IDLE, LENT, BUSY, CLOSED } = SlotState;

/** Waits shorter than this (ms) count from an exact clock reading. */
const EXACT_BELOW = 1_000;

/** Package-private (not in mod.ts): the key of `Pool`'s synchronous fast path. */
export const lendNow: unique symbol = Symbol("lendNow");
/** What `pool[lendNow]()` returns when no object is ready at once. */
export const NOTHING: unique symbol = Symbol("nothing");

let poolCount = 0;

// How the pool works, in the words used throughout this file:
//
// - An object lives in a Slot (_slot.ts) whose state is IDLE (in #idle,
//   ready), LENT (in #lent, held by a caller), BUSY (in a hook) or CLOSED.
// - get(): a fast path lends the top IDLE object; #getSlow() handles the
//   rest: a timeout or signal, a check or getter to run (#handOut,
//   #prepare), a creation of its own (timeout 0 only), or a place in the
//   FIFO #waiters and creations for the queue (#replenish). A waiter
//   leaves the queue when served (#serve), when its deadline passes (the
//   one timer of #deadlines calls #expire), when its signal aborts
//   (#abort), when a creation fails (#creationFailed), or at shutdown
//   (#refuse); #detach does the leaving.
// - ret(): passes the object straight on to the oldest waiter when nothing
//   is to run or decide in between; otherwise unlends it, runs retter, and
//   #recycle()s it.
// - #recycle(): an object ready for use goes back to the bag: closed if it
//   must retire (#retireReason: worn out, shrunk, shutdown, expired), else handed
//   out to the oldest waiter, else pushed on #idle.
// - After an object leaves (#close → #removed), #serveQueue() serves
//   waiters from #idle and #replenish() starts the creations still needed
//   (for waiters, for minSize), paced by #backoff after failures.
// - Housekeeping (#housekeep, on a timer that keeps the process alive only
//   while callers wait) sweeps lent and idle objects and runs health
//   checks; shutdown stops it and drains.
/**
 * An async pool of objects.
 *
 * Objects are created by `fun` on demand, up to `maxSize`, handed out by
 * {@linkcode Pool.prototype.get} and given back by
 * {@linkcode Pool.prototype.ret}; callers who find the pool full wait in
 * first-come, first-served order. Objects are tracked by identity, so equal
 * primitives are fine. Housekeeping (idle and lifetime limits, leak
 * detection, health checks) runs on a timer only when an option needs
 * it, and that timer keeps the process alive only while callers wait.
 *
 * @typeParam T The type of the pooled objects.
 *
 * @example Borrowing a connection for a block
 * ```ts
 * import { Pool } from "@ppp/proxy-pattern-pool";
 * import { assertEquals } from "@std/assert";
 *
 * let opened = 0;
 * await using pool = new Pool({
 *   fun: (n) => ({ id: n, open: ++opened > 0 }),
 *   maxSize: 2,
 *   closer: (conn) => { conn.open = false; },
 * });
 * {
 *   await using lease = await pool.lease();
 *   assertEquals(lease.obj.open, true);
 * }
 * assertEquals(await pool.use((conn) => conn.id), 0);
 * ```
 */
export class Pool<T> implements AsyncDisposable {
  readonly #id: number;
  readonly #name: string;
  readonly #metrics: PoolMetrics;
  readonly #hooks: HookRunner<T>;
  // Whether an OpenTelemetry meter listens: the hot paths test only this.
  readonly #live: boolean;
  readonly #started = new Date();
  readonly #t0 = performance.now();
  readonly #cfg: PoolConfig<T>;
  readonly #log: InstanceLog;
  // Stamps lent and returned objects: coarse unless a decision depends on
  // the stamps (see _clock.ts).
  readonly #clock: Clock;
  readonly #n = new Counters();
  readonly #waits = new WaitSamples();

  #idle: Slot<T>[] = [];
  readonly #lent = new LentMap<T>();
  readonly #waiters = new WaiterQueue<T>();
  readonly #deadlines: Deadlines<Waiter<T>>;
  readonly #signals: Signals<Waiter<T>>;
  #nobjs = 0; // objects alive: idle, lent or busy (closing included)
  #nclosing = 0; // of which being closed
  #ncreating = 0; // creations in flight
  #nowned = 0; // of which for a caller with timeout 0
  #funCalls = 0;
  readonly #creations = new Set<Promise<void>>();
  readonly #backoff: Backoff;
  #lastCreateError: unknown = undefined;
  #hkTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #hkRunning: Promise<void> | undefined = undefined;
  #hkLast: number | undefined = undefined;
  #hkTime = 0;
  #held = false; // our timers keep the process alive (callers wait)
  #shutdown = false;
  #shutdownDone: Promise<void> | undefined = undefined;
  #onDrain: (() => void) | undefined = undefined; // set while shutting down
  // Callers off the queue but not served yet: their object is being
  // checked or prepared, or (timeout 0) created for them. Shutdown rejects
  // them at once with the queued ones.
  readonly #handing = new Set<Waiter<T>>();
  // Aborted when shutdown starts: health and borrow checks still pending
  // count as failed. Then when it stops waiting (grace + closeTimeout):
  // creations still pending are given up (their objects closed when they
  // come), hooks still pending count as failed.
  readonly #checksStopped = new AbortController();
  readonly #stopWaiting = new AbortController();
  readonly #killed = new WeakSet<WeakKey>();

  /**
   * Validates the options, then starts creating `minSize` objects in the
   * background (failures are logged and retried, never thrown here).
   *
   * @param options How to create, check and close objects, and the limits.
   * @throws {TypeError} If `fun` or a hook is not a function, an option
   * has the wrong type, or an option name is unknown (the message names
   * the nearest valid one).
   * @throws {RangeError} If a size is negative, not an integer or past
   * 2^31 − 1; a duration is negative or between 0 and 1 ms; a hook limit
   * is 0; `minSize > maxSize`; `lifetimeJitter` is not below
   * `maxLifetime`; or `hkDelay` is 0 while an option needs housekeeping.
   */
  constructor(options: PoolOptions<T>) {
    this.#cfg = resolvePoolOptions(options);
    this.#clock = new Clock(this.#cfg.coarseClock);
    // A waiter whose timeout passes leaves the queue through #expire.
    this.#deadlines = new Deadlines((w) => this.#expire(w));
    // A waiter whose signal aborts leaves through #abort.
    this.#signals = new Signals((w) => this.#abort(w));
    this.#backoff = new Backoff(
      this.#cfg.backoffBase,
      this.#cfg.backoffMax,
      () => this.#replenish(false),
    );
    this.#id = poolCount++;
    this.#name = this.#cfg.name ?? `pool-${this.#id}`;
    this.#log = new InstanceLog(["ppp", "pool"], this.#cfg.logLevel, {
      pool: this.#name,
    });
    this.#metrics = new PoolMetrics(this.#name, () => this.#gauges());
    this.#hooks = new HookRunner(
      this.#cfg,
      this.#n,
      this.#log,
      this.#checksStopped.signal,
      this.#stopWaiting.signal,
    );
    this.#live = this.#metrics.live;
    this.#log.debug("Pool {pool} created: {options}", {
      options: {
        maxSize: this.#cfg.maxSize,
        minSize: this.#cfg.minSize,
        hkDelay: this.#cfg.hkDelay,
      },
    });
    this.#scheduleHk();
    this.#replenish(false);
  }

  /** Objects ready to be handed out now. */
  get navail(): number {
    return this.#idle.length;
  }

  /** Objects handed out and not yet returned. */
  get nusing(): number {
    return this.#lent.size;
  }

  /** Callers waiting in the queue. */
  get nwaiting(): number {
    return this.#waiters.size;
  }

  /** Objects alive (available, lent, or in a hook), not counting creations. */
  get nobjs(): number {
    return this.#nobjs;
  }

  /** Creations in flight. */
  get ncreating(): number {
    return this.#ncreating;
  }

  /**
   * Borrows an object: an available one, else whichever is ready first (a
   * return, or a creation started while there is room), in first-come,
   * first-served order.
   *
   * @param options `timeout` overrides the pool's; `signal` withdraws the
   * request.
   * @returns The object, which must be given back with
   * {@linkcode Pool.prototype.ret}.
   * @throws {TypeError} An unknown option, a `timeout` that is not a number,
   * or a `signal` that is not an `AbortSignal` (the promise rejects).
   * @throws {RangeError} A negative `timeout`, or one between 0 and 1 ms.
   * @throws {PoolError} If the pool is shut down, or shuts down meanwhile.
   * @throws {TimeoutError} If no object came within the timeout, saying
   * why; while creations are failing, `cause` is the last creation error.
   * @throws {unknown} `signal.reason` if the signal aborts first; the error
   * of `fun` or `opener` when a creation fails while this caller is the
   * oldest waiting.
   *
   * @example Borrow and return
   * ```ts
   * import { Pool } from "@ppp/proxy-pattern-pool";
   *
   * await using pool = new Pool({ fun: () => new Map<string, number>() });
   * const map = await pool.get({ timeout: 1_000 });
   * try {
   *   map.set("hits", 1);
   * } finally {
   *   await pool.ret(map);
   * }
   * ```
   */
  get(options?: GetOptions): Promise<T> {
    if (options === undefined) {
      const obj = this[lendNow]();
      if (obj !== NOTHING) return Promise.resolve(obj as T);
    }
    return this.#getSlow(options);
  }

  /**
   * The fast path of `get()`, also taken by `Proxy` so that a scope pays
   * for no promise, signal or timer: lends the top idle object at once if
   * nobody is ahead and nothing must run first.
   *
   * @returns The object, or a private symbol when none is ready at once.
   */
  [lendNow](): T | symbol {
    const idle = this.#idle;
    if (
      idle.length > 0 && this.#waiters.size === 0 && !this.#shutdown &&
      this.#cfg.getter === undefined
    ) {
      const now = this.#clock.now();
      const slot = idle[idle.length - 1];
      if (now < slot.expires && !this.#needsCheck(slot, now)) {
        idle.pop();
        this.#lend(slot, now);
        if (this.#live) this.#metrics.waited(0);
        return slot.obj;
      }
    }
    return NOTHING;
  }

  #getSlow(options: GetOptions | undefined): Promise<T> {
    if (this.#shutdown) return Promise.reject(this.#shutdownError());
    let signal: AbortSignal | undefined;
    let timeout = this.#cfg.timeout;
    if (options !== undefined) {
      try {
        ({ timeout, signal } = resolveGetOptions(options, timeout));
      } catch (err) {
        return Promise.reject(err);
      }
      if (signal?.aborted) {
        this.#n.naborts++;
        return Promise.reject(signal.reason);
      }
    }
    if (this.#waiters.size === 0) {
      const now = this.#clock.now();
      const slot = this.#takeIdle(now);
      if (slot !== undefined) {
        if (!this.#needsPrep(slot, now)) {
          this.#lend(slot, now);
          if (this.#live) this.#metrics.waited(0);
          return Promise.resolve(slot.obj);
        }
        const w = this.#newWaiter(now, timeout, signal);
        this.#handOut(w, slot, now);
        return w.promise;
      }
    }
    if (timeout === 0) {
      // never queues, but may create an object of its own
      if (this.#canCreate()) {
        const w = this.#newWaiter(this.#clock.now(), timeout, signal);
        this.#startCreation(w);
        return w.promise;
      }
      this.#timedOut();
      return Promise.reject(
        this.#noQueueError("none is idle and no creation may start"),
      );
    }
    // In the queue, the caller takes whichever object is ready first: a
    // return or any creation (none is tied to a caller), in arrival order.
    const w = this.#newWaiter(this.#clock.now(), timeout, signal);
    this.#n.nwaits++;
    this.#waiters.push(w);
    if (this.#hasRoom()) this.#replenish(false); // else it would start none
    if (!this.#held) this.#hold(true);
    return w.promise;
  }

  #timedOut(): void {
    this.#n.ntimeouts++;
    if (this.#live) this.#metrics.timedOut();
  }

  // What the metrics' gauges read when a reader collects.
  #gauges(): PoolGauges {
    const idle = this.#idle.length;
    return {
      idle,
      used: this.#nobjs - idle,
      pending: this.#waiters.size,
      minSize: this.#cfg.minSize,
      maxSize: this.#cfg.maxSize,
    };
  }

  // Why a caller with timeout 0 gets nothing.
  #noQueueError(what: string): TimeoutError {
    return this.#noObjectError(
      `as ${what}, and 'timeout' is 0 (never waits)`,
    );
  }

  // A caller got no object: `how` (when or why), then what an operator
  // should look at; while creations fail, their last error as cause.
  #noObjectError(how: string): TimeoutError {
    return new TimeoutError(
      `Cannot get an object from pool "${this.#name}" ${how}: ${this.#whyNone()}`,
      this.#backoff.failures > 0 ? { cause: this.#lastCreateError } : undefined,
    );
  }

  /**
   * Gives back an object obtained from {@linkcode Pool.prototype.get}.
   * Returning an object twice, or one this pool never lent, is logged and
   * ignored.
   *
   * @param obj The borrowed object.
   * @param options `discard: true` closes the object instead.
   * @returns A promise that settles once `retter` (and `closer`, if the
   * object is retired) have settled; it rejects only for bad `options`
   * (`TypeError`), never because of a hook.
   *
   * @example Returning an object
   * ```ts
   * import { Pool } from "@ppp/proxy-pattern-pool";
   * import { assertEquals } from "@std/assert";
   *
   * await using pool = new Pool({ fun: () => ({}), minSize: 0 });
   * const obj = await pool.get();
   * await pool.ret(obj);
   * assertEquals(pool.navail, 1);
   * ```
   */
  ret(obj: T, options?: RetOptions): Promise<void> {
    let discard = false;
    if (options !== undefined) {
      try {
        discard = resolveRetOptions(options);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const slot = this.#lent.get(obj);
    if (slot === undefined) return this.#badReturn(obj);
    if (discard) return this.#discard(slot);
    const now = this.#clock.now();
    slot.lastRet = now;
    if (this.#live) this.#metrics.used(now - slot.lastGet);
    if (
      this.#waiters.size > 0 && this.#cfg.retter === undefined &&
      this.#retireReason(slot, now) === undefined &&
      !this.#needsPrep(slot, now)
    ) {
      // Straight on to the oldest waiter, as #recycle would do, but the
      // object stays LENT and in the lent map: no delete and re-insert.
      this.#stampLend(slot, now);
      this.#serve(this.#waiters.shift()!, slot.obj, now);
      return RESOLVED;
    }
    this.#unlend(slot);
    if (this.#cfg.retter !== undefined) return this.#retThenRecycle(slot);
    return this.#recycle(slot, now);
  }

  #discard(slot: Slot<T>): Promise<void> {
    this.#n.ndiscards++;
    if (this.#live) this.#metrics.used(this.#clock.now() - slot.lastGet);
    this.#unlend(slot);
    return this.#close(slot, "discarded");
  }

  #badReturn(obj: T): Promise<void> {
    this.#n.nbadReturns++;
    this.#log.warn(
      "Pool {pool}: ignored return of {obj}, which is not lent by this pool ({why})",
      {
        obj: this.#hooks.trace(obj),
        why: this.#isKilled(obj)
          ? "it was taken back after maxUsingDelayKill"
          : "returned twice, or never lent",
      },
    );
    return RESOLVED;
  }

  /**
   * Borrows an object, runs `fn` with it, and returns it to the pool when
   * `fn` settles, even if it throws.
   *
   * @typeParam R What `fn` returns.
   * @param fn The work to do with the object.
   * @param options As for {@linkcode Pool.prototype.get}.
   * @returns What `fn` returns.
   * @throws {unknown} What `get` or `fn` throws.
   *
   * @example Running a query
   * ```ts
   * import { Pool } from "@ppp/proxy-pattern-pool";
   * import { assertEquals } from "@std/assert";
   *
   * await using pool = new Pool({ fun: (n) => ({ query: () => n }) });
   * assertEquals(await pool.use((conn) => conn.query()), 0);
   * ```
   */
  async use<R>(
    fn: (obj: T) => R | Promise<R>,
    options?: GetOptions,
  ): Promise<R> {
    checkFunction("fn", fn, true, "use an object");
    const obj = await this.get(options);
    try {
      return await fn(obj);
    } finally {
      await this.ret(obj);
    }
  }

  /**
   * Borrows an object wrapped in a {@linkcode Lease} that returns it at the
   * end of an `await using` block, even if the block throws.
   *
   * @param options As for {@linkcode Pool.prototype.get}.
   * @returns The lease; its `obj` is the borrowed object.
   * @throws {unknown} What `get` throws.
   *
   * @example Scoped borrowing
   * ```ts
   * import { Pool } from "@ppp/proxy-pattern-pool";
   * import { assertEquals } from "@std/assert";
   *
   * await using pool = new Pool({ fun: () => ({ n: 0 }), maxSize: 1 });
   * {
   *   await using lease = await pool.lease();
   *   lease.obj.n++;
   * }
   * assertEquals(pool.nusing, 0);
   * ```
   */
  async lease(options?: GetOptions): Promise<Lease<T>> {
    return new Lease(this, await this.get(options));
  }

  /**
   * Creates objects until the pool holds `minSize`, and waits for every
   * creation in flight to settle. Failures are logged and counted; it never
   * rejects.
   *
   * @returns A promise that settles when no creation is in flight.
   *
   * @example Warming up before serving
   * ```ts
   * import { Pool } from "@ppp/proxy-pattern-pool";
   * import { assertEquals } from "@std/assert";
   *
   * await using pool = new Pool({ fun: () => ({}), minSize: 3 });
   * await pool.fill();
   * assertEquals(pool.navail, 3);
   * ```
   */
  async fill(): Promise<void> {
    this.#replenish(true);
    while (this.#creations.size > 0) {
      await Promise.allSettled(this.#creations);
    }
  }

  /**
   * Changes `minSize` and `maxSize` while the pool runs. Growing serves
   * waiters at once and creates up to the new `minSize`; shrinking closes
   * idle objects beyond the new `maxSize` (least recently used first), and
   * borrowed ones as they come back: objects in use are never taken.
   *
   * @param options The new `minSize`, `maxSize`, or both; validated as by
   * the constructor.
   * @returns A promise that settles once the idle objects beyond the new
   * `maxSize` are closed; it never rejects.
   * @throws {TypeError} An unknown option, or a size that is not a number.
   * @throws {RangeError} A size out of range, or `minSize > maxSize`.
   * @throws {PoolError} If the pool is shut down.
   *
   * @example Growing for a busy hour
   * ```ts
   * import { Pool } from "@ppp/proxy-pattern-pool";
   * import { assertEquals } from "@std/assert";
   *
   * await using pool = new Pool({ fun: () => ({}), maxSize: 2 });
   * await pool.resize({ maxSize: 20, minSize: 5 });
   * await pool.fill();
   * assertEquals(pool.stats().maxSize, 20);
   * assertEquals(pool.nobjs, 5);
   * ```
   */
  resize(options: ResizeOptions): Promise<void> {
    const sizes = resolveResizeOptions(options, this.#cfg);
    if (this.#shutdown) {
      throw new PoolError(
        `Cannot resize pool "${this.#name}" as it is shut down`,
      );
    }
    this.#cfg.minSize = sizes.minSize;
    this.#cfg.maxSize = sizes.maxSize;
    this.#log.info("Pool {pool}: resized to {sizes}", { sizes });
    const closing: Promise<void>[] = [];
    // the least recently used idle objects sit at the bottom of the stack
    while (this.#excess() > 0 && this.#idle.length > 0) {
      const slot = this.#idle.shift()!;
      slot.moveTo(BUSY);
      this.#n.nshrunk++;
      closing.push(this.#close(slot, "shrunk"));
    }
    this.#serveQueue();
    return Promise.all(closing).then(() => {});
  }

  // Objects (and creations) beyond maxSize, after a resize that shrank it;
  // those already closing do not count: they are on their way out.
  #excess(): number {
    const maxSize = this.#cfg.maxSize;
    return maxSize === 0
      ? 0
      : this.#nobjs - this.#nclosing + this.#ncreating - maxSize;
  }

  /**
   * A JSON-compatible snapshot of the configuration, the state and the
   * counters; an unset value is `null`.
   *
   * @returns The snapshot; `JSON.parse(String(pool))` equals it.
   *
   * @example Watching the pool
   * ```ts
   * import { Pool } from "@ppp/proxy-pattern-pool";
   * import { assertEquals } from "@std/assert";
   *
   * await using pool = new Pool({ fun: () => ({}), minSize: 0 });
   * await pool.use(() => {});
   * assertEquals(pool.stats().ncreated, 1);
   * assertEquals(pool.stats().navail, 1);
   * ```
   */
  stats(): PoolStats {
    const t = performance.now();
    const cfg = this.#cfg;
    const describe = (slot: Slot<T>): ObjectStats => ({
      trace: this.#hooks.trace(slot.obj, slot.n),
      stats: this.#hooks.stats(slot.obj),
      uses: slot.uses,
      age: t - slot.created,
      lastGet: slot.lastGet - t,
      lastRet: slot.lastRet - t,
    });
    return {
      id: this.#id,
      name: this.#name,
      started: this.#started.toISOString(),
      minSize: cfg.minSize,
      maxSize: cfg.maxSize,
      maxUse: cfg.maxUse,
      timeout: cfg.timeout === Infinity ? null : cfg.timeout,
      hkDelay: cfg.hkDelay,
      maxAvailDelay: cfg.maxAvailDelay,
      maxUsingDelayKill: cfg.maxUsingDelayKill,
      maxUsingDelayWarn: cfg.maxUsingDelay,
      maxLifetime: cfg.maxLifetime,
      healthFreq: cfg.healthFreq,
      maxCreating: cfg.maxCreating,
      createTimeout: cfg.createTimeout === Infinity ? null : cfg.createTimeout,
      now: Date.now(),
      navail: this.#idle.length,
      nusing: this.#lent.size,
      nwaiting: this.#waiters.size,
      running: t - this.#t0,
      relHkLast: this.#hkLast === undefined ? null : this.#hkLast - t,
      timePerHk: this.#n.hkRounds === 0 ? 0 : this.#hkTime / this.#n.hkRounds,
      shutdown: this.#shutdown,
      avail: this.#idle.map(describe),
      using: this.#lent.slots().map(describe),
      nobjs: this.#nobjs,
      ncreating: this.#ncreating,
      ...this.#n,
      lastCreateError: this.#lastCreateError === undefined
        ? null
        : errorMessage(this.#lastCreateError),
      ...this.#waits.summary(),
    };
  }

  /**
   * The stats as JSON.
   *
   * @returns `JSON.stringify(this.stats())`.
   */
  toString(): string {
    return JSON.stringify(this.stats());
  }

  /**
   * Shuts the pool down: rejects every caller at once with
   * {@linkcode PoolError} (queued, being checked, or waiting for a
   * creation), stops housekeeping, closes available objects, waits up to
   * `grace` ms for borrowed ones (closing each as it comes back), then
   * closes the rest with a warning. Later calls return the same promise.
   *
   * @param options `grace`: how long to wait for borrowed objects.
   * @returns A promise that settles when every object is closed and no
   * creation or hook is in flight, or at the latest `grace` +
   * `closeTimeout` ms after the call, whatever the hooks do (a creation
   * still pending then is given up: its object is closed when it comes);
   * it never rejects.
   * @throws {TypeError} An unknown option, or `grace` not a number.
   * @throws {RangeError} A negative `grace`, or one between 0 and 1 ms.
   *
   * @example Shutting down with a grace period
   * ```ts
   * import { Pool } from "@ppp/proxy-pattern-pool";
   *
   * const pool = new Pool({ fun: () => ({}), minSize: 2 });
   * await pool.fill();
   * await pool.shutdown({ grace: 100 });
   * ```
   */
  shutdown(options?: ShutdownOptions): Promise<void> {
    if (this.#shutdownDone === undefined) {
      const grace = resolveGraceOption(options);
      this.#shutdown = true;
      this.#shutdownDone = this.#doShutdown(grace);
    }
    return this.#shutdownDone;
  }

  /**
   * Same as {@linkcode Pool.prototype.shutdown} with no grace, for
   * `await using`.
   *
   * @returns A promise that settles when the pool is shut down.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  // ---- hand-out ----

  // Pops an idle object (now BUSY), closing those past their lifetime.
  #takeIdle(now: number): Slot<T> | undefined {
    for (let slot = this.#idle.pop(); slot; slot = this.#idle.pop()) {
      if (now < slot.expires) {
        slot.moveTo(BUSY);
        return slot;
      }
      this.#n.nexpired++;
      void this.#close(slot, "expired");
    }
    return undefined;
  }

  // Whether a creation may start now: room, a free creation lane, and no
  // back-off in progress.
  #canCreate(): boolean {
    return this.#backoff.failures === 0 && this.#hasRoom() &&
      this.#ncreating < this.#cfg.maxCreating;
  }

  #needsCheck(slot: Slot<T>, now: number): boolean {
    return this.#cfg.check !== undefined &&
      now - slot.lastRet >= this.#cfg.checkSkip;
  }

  // Whether a hook must run before the object is handed out.
  #needsPrep(slot: Slot<T>, now: number): boolean {
    return this.#cfg.getter !== undefined || this.#needsCheck(slot, now);
  }

  #lend(slot: Slot<T>, now: number): void {
    slot.moveTo(LENT);
    this.#stampLend(slot, now);
    this.#lent.add(slot);
  }

  #stampLend(slot: Slot<T>, now: number): void {
    slot.uses++;
    slot.lastGet = now;
    this.#n.nuses++;
  }

  // Takes a slot out of the lent map; it is BUSY until it is recycled or
  // closed.
  #unlend(slot: Slot<T>): void {
    this.#lent.delete(slot);
    slot.moveTo(BUSY);
  }

  #newWaiter(
    now: number,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Waiter<T> {
    const w = new Waiter<T>(now);
    if (timeout > 0 && timeout !== Infinity) {
      // From the arrival stamp: a clock read costs as much as a whole
      // hand-out on this kind of machine (see _clock.ts). A coarse stamp
      // lags by as long as the event loop ran code without turning,
      // normally well under a millisecond: noise against a long wait (the
      // default is 30 s), but a short wait must never end early.
      const since = timeout < EXACT_BELOW ? this.#clock.exact(now) : now;
      w.deadline = this.#deadlines.add(w, timeout, since);
    }
    if (timeout === 0) w.noQueue = true;
    if (signal !== undefined) this.#signals.watch(signal, w);
    return w;
  }

  // A waiter's signal aborted.
  #abort(w: Waiter<T>): void {
    if (w.settled) return;
    this.#n.naborts++;
    const reason = w.signal!.reason;
    this.#detach(w);
    w.reject(reason);
  }

  // A waiter's deadline passed.
  #expire(w: Waiter<T>): void {
    if (w.settled) return;
    const timeout = w.deadline!.timeout;
    this.#timedOut();
    this.#detach(w);
    w.reject(this.#noObjectError(`within ${timeout} ms`));
  }

  // Why a caller found no object: what an operator should look at.
  #whyNone(): string {
    if (this.#backoff.failures > 0) {
      const last = this.#lastCreateError;
      if (last instanceof TimeoutError) {
        return `creations are timing out (createTimeout ${this.#cfg.createTimeout} ms: a slow or unreachable server?), see cause`;
      }
      if (last instanceof CheckFailure) {
        return "new objects are failing their check (a server that accepts connections but cannot serve?), see cause";
      }
      return `creating objects failed (last: ${errorMessage(last)}), see cause`;
    }
    const nusing = this.#lent.size;
    if (nusing === 0 && this.#ncreating > 0) {
      return `${this.#ncreating} creations are pending and none finished in time (a slow or unreachable server?)`;
    }
    if (nusing === 0) {
      return "no object is in use but none was ready (objects failing their check, or closing)";
    }
    const creating = this.#ncreating > 0
      ? ` and ${this.#ncreating} creations are pending`
      : "";
    return `all ${nusing} objects are in use (maxSize ${this.#cfg.maxSize})${creating}, return them sooner or raise maxSize`;
  }

  // Marks a waiter settled, takes it out of the queue and drops its deadline
  // and listener; the caller then resolves or rejects its promise.
  #detach(w: Waiter<T>): void {
    w.settled = true;
    this.#waiters.remove(w);
    if (this.#held && this.#waiters.size === 0) this.#hold(false);
    if (w.deadline !== undefined) this.#deadlines.remove(w.deadline);
    if (w.signal !== undefined) this.#signals.unwatch(w);
  }

  // Hands a BUSY slot to a waiter that has not given up, running `check`
  // and `getter` first when they apply.
  #handOut(w: Waiter<T>, slot: Slot<T>, now: number): void {
    if (this.#needsPrep(slot, now)) {
      void this.#prepare(w, slot, now);
    } else {
      this.#lendTo(w, slot, now);
    }
  }

  #lendTo(w: Waiter<T>, slot: Slot<T>, now: number): void {
    this.#lend(slot, now);
    this.#serve(w, slot.obj, now);
  }

  #serve(w: Waiter<T>, obj: T, now: number): void {
    this.#waits.record(now - w.since);
    if (this.#live) this.#metrics.waited(now - w.since);
    this.#detach(w);
    w.resolve(obj);
  }

  // Runs `check` (when due) and `getter` on a BUSY slot, then lends it to
  // the waiter, or recycles it if the waiter gave up meanwhile (or was
  // refused by shutdown).
  async #prepare(w: Waiter<T>, slot: Slot<T>, now: number): Promise<void> {
    this.#handing.add(w);
    if (this.#needsCheck(slot, now) && !(await this.#checkOnBorrow(slot))) {
      this.#handing.delete(w); // before the retry, which may add it again
      void this.#close(slot, "failed check");
      if (!w.settled) this.#retryFor(w);
      return;
    }
    if (this.#cfg.getter !== undefined) {
      await this.#hooks.run("getter", slot.obj, slot.n);
    }
    this.#handing.delete(w);
    if (w.settled || this.#shutdown) {
      // the object is not lost
      this.#refuse(w);
      void this.#recycle(slot, this.#clock.now());
    } else {
      this.#lendTo(w, slot, this.#clock.now());
    }
  }

  async #checkOnBorrow(slot: Slot<T>): Promise<boolean> {
    this.#n.nchecks++;
    if (
      await this.#hooks.probe(
        this.#cfg.check!,
        slot.obj,
        slot.n,
        this.#cfg.checkTimeout,
      )
    ) {
      if (slot.uses === 0) this.#backoff.succeeded();
      return true;
    }
    this.#n.badChecks++;
    // an object never handed out that fails its check is a failed
    // creation: back off, else close-create-check would spin; and say so
    if (slot.uses === 0) {
      this.#lastCreateError = new CheckFailure(
        `a new object (${
          this.#hooks.trace(slot.obj, slot.n)
        }) failed its check`,
      );
      this.#backoff.failed();
    }
    this.#log.warn("Pool {pool}: {obj} failed its check on borrow", {
      obj: this.#hooks.trace(slot.obj, slot.n),
    });
    return false;
  }

  // The object taken for `w` failed its check: another one for the same
  // caller, ahead of later callers; a caller with timeout 0 takes an idle
  // one or a creation of its own, else gives up, never queues.
  #retryFor(w: Waiter<T>): void {
    if (this.#shutdown) return this.#refuse(w);
    if (!w.noQueue) {
      this.#waiters.unshift(w);
      this.#serveQueue();
      return;
    }
    const now = this.#clock.now();
    const slot = this.#takeIdle(now);
    if (slot !== undefined) this.#handOut(w, slot, now);
    else if (this.#canCreate()) this.#startCreation(w);
    else {
      this.#timedOut();
      this.#detach(w);
      w.reject(this.#noQueueError("the object it took failed its check"));
    }
  }

  // ---- return ----

  // An object that could not be reset is closed, never lent again.
  async #retThenRecycle(slot: Slot<T>): Promise<void> {
    if (await this.#hooks.run("retter", slot.obj, slot.n)) {
      await this.#recycle(slot, this.#clock.now());
    } else {
      this.#n.badResets++;
      await this.#close(slot, "reset failed");
    }
  }

  // Why a BUSY object must leave rather than be used again, if it must.
  #retireReason(slot: Slot<T>, now: number): string | undefined {
    const maxUse = this.#cfg.maxUse;
    if (maxUse > 0 && slot.uses >= maxUse) return "worn out";
    if (this.#excess() > 0) return "shrunk";
    if (this.#shutdown) return "shutdown";
    if (now >= slot.expires) return "expired";
    return undefined;
  }

  // A BUSY object ready for use again (new, returned, or healthy) goes back
  // to the bag: closed if it must retire, else to the oldest waiter, else
  // idle.
  #recycle(slot: Slot<T>, now: number): Promise<void> {
    const why = this.#retireReason(slot, now);
    if (why !== undefined) {
      if (why === "worn out") this.#n.nwornout++;
      else if (why === "shrunk") this.#n.nshrunk++;
      else if (why === "expired") this.#n.nexpired++;
      return this.#close(slot, why);
    }
    const w = this.#waiters.shift();
    if (w !== undefined) {
      this.#handOut(w, slot, now);
    } else {
      slot.moveTo(IDLE);
      this.#idle.push(slot);
    }
    return RESOLVED;
  }

  // ---- creation ----

  #hasRoom(): boolean {
    const maxSize = this.#cfg.maxSize;
    return maxSize === 0 || this.#nobjs + this.#ncreating < maxSize;
  }

  // Starts the creations the pool needs: one per queued waiter not yet
  // covered by a creation in flight, and enough to reach minSize; within
  // maxSize and at most maxCreating at once. After failures, not before the
  // back-off delay and one attempt at a time, until one succeeds (`force`,
  // from fill(), skips the delay).
  #replenish(force: boolean): void {
    if (this.#shutdown) return;
    if (this.#backoff.waiting && !force) return;
    const forPool = this.#ncreating - this.#nowned;
    const forWaiters = this.#waiters.size - forPool;
    const forMin = this.#cfg.minSize - this.#nobjs - this.#ncreating;
    let need = Math.max(forWaiters, forMin);
    if (this.#backoff.failures > 0 && !force) {
      need = Math.min(need, 1 - forPool);
    }
    while (
      need-- > 0 && this.#hasRoom() &&
      this.#ncreating < this.#cfg.maxCreating
    ) {
      this.#startCreation(undefined);
    }
  }

  // Serves queued waiters from idle objects, then creates for the rest.
  #serveQueue(): void {
    const now = this.#clock.now();
    while (this.#waiters.size > 0) {
      const slot = this.#takeIdle(now);
      if (slot === undefined) break;
      this.#handOut(this.#waiters.shift()!, slot, now);
    }
    this.#replenish(false);
  }

  // Creates one object: for the pool (it goes to the oldest waiter, else
  // idle), or for `owner`, a caller with timeout 0 who never queues.
  #startCreation(owner: Waiter<T> | undefined): void {
    this.#ncreating++;
    if (owner !== undefined) {
      this.#nowned++;
      this.#handing.add(owner);
    }
    const p = this.#create(owner);
    this.#creations.add(p);
    p.finally(() => this.#creations.delete(p));
  }

  async #create(owner: Waiter<T> | undefined): Promise<void> {
    const n = this.#funCalls++;
    const start = performance.now();
    const givenUp = new AbortController();
    const made = this.#make(n, givenUp.signal);
    let result: T | typeof LATE;
    try {
      result = await within(
        made,
        this.#cfg.createTimeout,
        this.#stopWaiting.signal,
      );
    } catch (err) {
      return this.#creationFailed(owner, err);
    }
    if (result === LATE) return this.#giveUp(owner, made, givenUp, n);
    this.#creationDropped(owner);
    if (this.#live) this.#metrics.created(performance.now() - start);
    this.#n.ncreated++;
    this.#nobjs++;
    const slot = this.#newSlot(result, n);
    // an object checked before its first use has succeeded once it passes
    if (!this.#needsCheck(slot, slot.created)) this.#backoff.succeeded();
    this.#log.debug("Pool {pool}: created {obj}", {
      obj: this.#hooks.trace(result, n),
    });
    if (owner !== undefined && !owner.settled && !this.#shutdown) {
      this.#handOut(owner, slot, slot.created);
    } else {
      await this.#recycle(slot, slot.created);
    }
    // after a recovery, waiters that queued meanwhile need creations
    this.#replenish(false);
  }

  // A creation past createTimeout, or still pending when shutdown stops
  // waiting: `fun` is told (its signal aborts), and what it may still
  // bring is closed, never lent.
  #giveUp(
    owner: Waiter<T> | undefined,
    made: Promise<T>,
    givenUp: AbortController,
    n: number,
  ): void {
    made.then((obj) => this.#closeLate(obj, n), () => {});
    givenUp.abort(
      new TimeoutError(
        `Pool "${this.#name}" gave up this creation (createTimeout or shutdown)`,
      ),
    );
    if (this.#stopWaiting.signal.aborted) {
      return this.#creationDropped(owner);
    }
    this.#n.ncreateTimeouts++;
    this.#creationFailed(
      owner,
      new TimeoutError(
        `Cannot create an object for pool "${this.#name}" within createTimeout (${this.#cfg.createTimeout} ms): fun or opener is still pending (a slow or unreachable server?)`,
      ),
    );
  }

  // fun, then opener; an object whose opener fails is closed.
  async #make(n: number, signal: AbortSignal): Promise<T> {
    const obj = await this.#cfg.fun(n, { signal });
    if (this.#cfg.opener !== undefined) {
      try {
        await this.#cfg.opener(obj);
      } catch (err) {
        this.#log.warn("Pool {pool}: opener failed on {obj}", {
          obj: this.#hooks.trace(obj, n),
        });
        if (this.#cfg.closer !== undefined) {
          await this.#hooks.run("closer", obj, n);
        }
        throw err;
      }
    }
    return obj;
  }

  #newSlot(obj: T, n: number): Slot<T> {
    const now = this.#clock.now();
    const { maxLifetime, lifetimeJitter } = this.#cfg;
    const expires = maxLifetime > 0
      ? now + maxLifetime - lifetimeJitter * Math.random()
      : Infinity;
    return new Slot(obj, n, now, expires);
  }

  // An object that came after its creation was given up.
  async #closeLate(obj: T, n: number): Promise<void> {
    this.#log.warn("Pool {pool}: closing {obj}, created too late", {
      obj: this.#hooks.trace(obj, n),
    });
    if (this.#cfg.closer !== undefined) {
      await this.#hooks.run("closer", obj, n);
    }
  }

  // A creation is no longer in flight (done, or given up at shutdown).
  #creationDropped(owner: Waiter<T> | undefined): void {
    this.#ncreating--;
    if (owner !== undefined) {
      this.#nowned--;
      this.#handing.delete(owner);
    }
    this.#onDrain?.();
  }

  // A creation failed: the caller it was for, else the oldest waiter (the
  // one its object would have gone to), gets the error.
  #creationFailed(owner: Waiter<T> | undefined, err: unknown): void {
    this.#creationDropped(owner);
    this.#n.ncreateErrors++;
    this.#lastCreateError = err;
    this.#log.error("Pool {pool}: creating an object failed: {err}", { err });
    this.#backoff.failed();
    // an owner that gave up passes its turn to the oldest waiter, as an
    // object would go to the oldest waiter
    const w = owner !== undefined && !owner.settled
      ? owner
      : this.#waiters.shift();
    if (w !== undefined && !w.settled) {
      if (err instanceof TimeoutError) this.#timedOut(); // createTimeout
      this.#detach(w);
      w.reject(err);
    }
  }

  // While callers wait, housekeeping and back-off may be what serves them
  // (a kill, a retry): their timers then keep the process alive.
  #hold(held: boolean): void {
    this.#held = held;
    this.#backoff.hold(held);
    if (this.#hkTimer !== undefined) {
      held ? refTimer(this.#hkTimer) : unrefTimer(this.#hkTimer);
    }
  }

  // ---- removal ----

  // Takes an object out of the pool for good; its slot is freed once the
  // closer has settled, so a closing object still counts against maxSize.
  #close(slot: Slot<T>, why: string): Promise<void> {
    slot.moveTo(CLOSED);
    this.#lent.forget(slot);
    this.#n.ndestroys++;
    this.#log.debug("Pool {pool}: closing {obj} ({why})", {
      obj: this.#hooks.trace(slot.obj, slot.n),
      why,
    });
    this.#nclosing++;
    if (this.#cfg.closer === undefined) {
      this.#removed();
      return RESOLVED;
    }
    return this.#hooks.run("closer", slot.obj, slot.n).then(() =>
      this.#removed()
    );
  }

  #removed(): void {
    this.#nclosing--;
    this.#nobjs--;
    if (this.#shutdown) this.#onDrain?.();
    else this.#serveQueue();
  }

  #isKilled(obj: T): boolean {
    return isWeakKey(obj) && this.#killed.has(obj);
  }

  // ---- housekeeping ----

  #scheduleHk(): void {
    if (this.#cfg.hkDelay === 0 || this.#shutdown) return;
    this.#hkTimer = setTimeout(() => {
      this.#hkTimer = undefined;
      this.#hkRunning = this.#housekeep().finally(() => {
        this.#hkRunning = undefined;
        this.#scheduleHk();
      });
    }, capDelay(this.#cfg.hkDelay));
    if (!this.#held) unrefTimer(this.#hkTimer);
  }

  async #housekeep(): Promise<void> {
    const start = performance.now();
    this.#hkLast = start;
    this.#n.hkRounds++;
    try {
      this.#sweepLent(start);
      this.#sweepIdle(start);
      if (
        this.#cfg.health !== undefined &&
        this.#n.hkRounds % this.#cfg.healthFreq === 0
      ) {
        await this.#healthRound();
      }
      this.#replenish(false);
    } catch (err) {
      // only a bug of ours can land here: hooks are guarded
      this.#n.hkErrors++;
      this.#log.error("Pool {pool}: housekeeping round failed: {err}", { err });
    }
    this.#hkTime += performance.now() - start;
  }

  // Warns about objects held too long, and takes back those held longer
  // than maxUsingDelayKill.
  #sweepLent(now: number): void {
    const warn = this.#cfg.maxUsingDelay;
    const kill = this.#cfg.maxUsingDelayKill;
    if (warn === 0 && kill === 0) return;
    for (const slot of this.#lent.slots()) {
      const heldFor = Math.round(now - slot.lastGet);
      if (kill > 0 && heldFor >= kill) {
        this.#n.nkilled++;
        this.#unlend(slot);
        if (isWeakKey(slot.obj)) this.#killed.add(slot.obj);
        this.#log.warn(
          "Pool {pool}: took back {obj}, held for {heldFor} ms (maxUsingDelayKill {kill} ms)",
          { obj: this.#hooks.trace(slot.obj, slot.n), heldFor, kill },
        );
        void this.#close(slot, "killed");
      } else if (warn > 0 && heldFor >= warn) {
        this.#log.warn(
          "Pool {pool}: {obj} held for {heldFor} ms (maxUsingDelay {warn} ms)",
          { obj: this.#hooks.trace(slot.obj, slot.n), heldFor, warn },
        );
      }
    }
  }

  // Closes idle objects past maxAvailDelay (down to minSize) and objects
  // past their lifetime.
  #sweepIdle(now: number): void {
    const maxAvailDelay = this.#cfg.maxAvailDelay;
    let spare = this.#nobjs - this.#cfg.minSize;
    const keep: Slot<T>[] = [];
    for (const slot of this.#idle) {
      if (now >= slot.expires) {
        this.#n.nexpired++;
        spare--;
        void this.#close(slot, "expired");
      } else if (
        maxAvailDelay > 0 && spare > 0 && now - slot.lastRet >= maxAvailDelay
      ) {
        this.#n.nrecycled++;
        spare--;
        void this.#close(slot, "idle");
      } else {
        keep.push(slot);
      }
    }
    this.#idle = keep;
  }

  // Checks every idle object, none handed out meanwhile; the unhealthy,
  // throwing or hung ones are closed.
  async #healthRound(): Promise<void> {
    this.#n.hcRounds++;
    const slots = this.#idle;
    this.#idle = [];
    for (const slot of slots) slot.moveTo(BUSY);
    this.#n.nborrows += slots.length;
    await Promise.all(slots.map(async (slot) => {
      this.#n.nhealth++;
      const ok = await this.#hooks.probe(
        this.#cfg.health!,
        slot.obj,
        slot.n,
        this.#cfg.hkDelay,
      );
      if (ok) {
        this.#n.nreturns++;
        await this.#recycle(slot, performance.now());
      } else {
        this.#n.badHealth++;
        this.#log.warn("Pool {pool}: {obj} is unhealthy", {
          obj: this.#hooks.trace(slot.obj, slot.n),
        });
        await this.#close(slot, "unhealthy");
      }
    }));
  }

  // ---- shutdown ----

  // Every caller is rejected at once. Borrowed objects may come back within
  // `grace`; then the rest is closed, and what is still in flight
  // (creations, hooks, closers) has `closeTimeout` more to settle, after
  // which creations are given up (their late objects are closed when they
  // come) and shutdown resolves whatever hooks still do.
  async #doShutdown(grace: number): Promise<void> {
    const start = performance.now();
    this.#log.info("Pool {pool}: shutting down", {});
    this.#clock.stop();
    clearTimeout(this.#hkTimer);
    this.#hkTimer = undefined;
    this.#backoff.stop();
    this.#checksStopped.abort(); // no health or borrow check is waited for
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) {
      this.#refuse(w);
    }
    for (const w of [...this.#handing]) this.#refuse(w);
    const idle = this.#idle;
    this.#idle = [];
    for (const slot of idle) void this.#close(slot, "shutdown");
    await this.#waitUntil(() => this.#lent.size === 0, start + grace);
    if (this.#lent.size > 0) {
      this.#log.warn(
        "Pool {pool}: closing {n} objects still in use at shutdown",
        { n: this.#lent.size },
      );
      for (const slot of this.#lent.slots()) {
        this.#unlend(slot);
        void this.#close(slot, "shutdown");
      }
    }
    const settled = await this.#waitUntil(
      () => this.#nobjs === 0 && this.#ncreating === 0,
      start + grace + this.#cfg.closeTimeout,
    );
    this.#stopWaiting.abort();
    if (!settled) {
      this.#log.warn(
        "Pool {pool}: shut down with {nobjs} objects still closing and {ncreating} creations given up",
        { nobjs: this.#nobjs, ncreating: this.#ncreating },
      );
    }
    this.#metrics.close();
    this.#log.info("Pool {pool}: shut down", {});
  }

  // Waits until `done()` holds or the clock reaches `until` (on the
  // performance.now() time line); whether `done()` held. Shutdown only:
  // every change it waits for calls #onDrain.
  async #waitUntil(done: () => boolean, until: number): Promise<boolean> {
    if (done()) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((resolve) => {
      if (until !== Infinity) {
        const delay = Math.max(0, Math.ceil(until - performance.now()));
        timer = setTimeout(() => resolve(true), capDelay(delay));
      }
    });
    try {
      while (!done()) {
        const changed = new Promise<boolean>((resolve) => {
          this.#onDrain = () => resolve(false);
        });
        if (await Promise.race([changed, late])) return done();
      }
      return true;
    } finally {
      clearTimeout(timer);
      this.#onDrain = undefined;
    }
  }

  // Rejects a caller still waiting when the pool shuts down.
  #refuse(w: Waiter<T>): void {
    if (w.settled || !this.#shutdown) return;
    this.#detach(w);
    w.reject(
      new PoolError(
        `Cannot get an object from pool "${this.#name}" as it is shutting down`,
      ),
    );
  }

  #shutdownError(): PoolError {
    return new PoolError(
      `Cannot get an object from pool "${this.#name}" as it is shut down: create a new pool`,
    );
  }

  // ---- hooks ----
}

/** Why the last new object was refused: it failed its check. */
class CheckFailure extends Error {
  override name = "CheckFailure";
}
