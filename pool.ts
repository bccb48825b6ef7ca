/**
 * {@linkcode Pool}: an async pool of expensive objects (connections,
 * clients, workers) that keeps its invariants under any interleaving of
 * concurrent callers.
 *
 * @module
 */
import { PoolError, TimeoutError } from "./errors.ts";
import type {
  FunHook,
  HealthHook,
  PoolHook,
  StatsHook,
  TraceHook,
} from "./hooks.ts";
import { InstanceLog, isLogLevel } from "./_log.ts";
import { Deadlines } from "./_deadlines.ts";
import { Waiter, WaiterQueue } from "./_waiters.ts";
import { Clock } from "./_clock.ts";
import { capDelay, refTimer, unrefTimer } from "./_timers.ts";
import {
  checkFunction,
  checkInteger,
  checkMillis,
  checkOptionalMillis,
} from "./_validate.ts";

/**
 * LogTape's level names, lowest first, as taken by the `logLevel` options.
 *
 * @example Only errors from this pool
 * ```ts
 * import { type LogLevel, Pool } from "@ppp/proxy-pattern-pool";
 *
 * const logLevel: LogLevel = "error";
 * await using pool = new Pool({ fun: () => ({}), minSize: 0, logLevel });
 * ```
 */
export type LogLevel =
  | "trace"
  | "debug"
  | "info"
  | "warning"
  | "error"
  | "fatal";

/** Options of {@linkcode Pool}. Every duration is in milliseconds. */
export interface PoolOptions<T> {
  /** Creates a new object; called with 0, 1, 2… in call order. */
  fun: FunHook<T>;
  /**
   * Most objects that may exist at once, counting those being created;
   * `0` means no limit.
   *
   * @default {0}
   */
  maxSize?: number;
  /**
   * Objects created in the background at start and kept after removals.
   *
   * @default {1}
   */
  minSize?: number;
  /**
   * How long `get()` waits for an object; `undefined` waits forever, `0`
   * never joins the queue of waiters.
   *
   * @default {undefined}
   */
  timeout?: number;
  /**
   * An object handed out this many times is closed on return; `0` means no
   * limit.
   *
   * @default {0}
   */
  maxUse?: number;
  /**
   * Objects idle this long are closed, down to `minSize`; `0` is off.
   *
   * @default {0}
   */
  maxAvailDelay?: number;
  /**
   * Objects held this long are logged as warnings; `0` is off.
   *
   * @default {0}
   */
  maxUsingDelay?: number;
  /**
   * Objects held this long are taken back and closed, their slot freed;
   * `0` is off.
   *
   * @default {0}
   */
  maxUsingDelayKill?: number;
  /**
   * Objects older than this are closed when idle or when they come back;
   * `0` is off.
   *
   * @default {0}
   */
  maxLifetime?: number;
  /**
   * Each object's lifetime is shortened by a random amount up to this, so
   * objects created together do not expire together.
   *
   * @default {maxLifetime / 10}
   */
  lifetimeJitter?: number;
  /**
   * `health` runs every `healthFreq` housekeeping rounds.
   *
   * @default {1}
   */
  healthFreq?: number;
  /**
   * Delay between housekeeping rounds; by default half the smallest of the
   * delays that need housekeeping, or 60 000 if only `health` is set.
   *
   * @default {undefined}
   */
  hkDelay?: number;
  /**
   * Checks an idle object before it is handed out; a failed check closes
   * it and the caller gets another one within the same timeout.
   *
   * @default {undefined}
   */
  check?: HealthHook<T>;
  /**
   * `check` is skipped for objects that came back less than this ago
   * (HikariCP skips under 500 ms).
   *
   * @default {500}
   */
  checkSkip?: number;
  /**
   * A `check` still pending after this counts as failed.
   *
   * @default {5000}
   */
  checkTimeout?: number;
  /**
   * First delay before retrying a failed background creation; the delay
   * doubles at each consecutive failure (with full jitter).
   *
   * @default {100}
   */
  backoffBase?: number;
  /**
   * Largest delay between background creation attempts.
   *
   * @default {2000}
   */
  backoffMax?: number;
  /** Runs once on each new object; a failure is a failed creation. */
  opener?: PoolHook<T>;
  /** Runs on each hand-out; a failure is logged, the `get` still succeeds. */
  getter?: PoolHook<T>;
  /** Runs on each return; a failure is logged, the `ret` still succeeds. */
  retter?: PoolHook<T>;
  /** Runs exactly once when an object leaves the pool for good. */
  closer?: PoolHook<T>;
  /** Checks an idle object during housekeeping. */
  health?: HealthHook<T>;
  /** Describes an object in `stats()` (JSON-compatible). */
  stats?: StatsHook<T>;
  /** Names an object in logs and `stats()`. */
  tracer?: TraceHook<T>;
  /**
   * Lowest level this pool logs at, through LogTape category
   * `["ppp", "pool"]`; other pools are not affected.
   *
   * @default {undefined}
   */
  logLevel?: LogLevel;
}

/** Options of {@linkcode Pool.prototype.get}. */
export interface GetOptions {
  /**
   * How long to wait for an object; overrides the pool's `timeout`.
   * `0` never joins the queue of waiters; `Infinity` waits forever.
   */
  timeout?: number;
  /** Withdraws the request; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Pool.prototype.shutdown}. */
export interface ShutdownOptions {
  /**
   * How long to wait for borrowed objects to come back before closing
   * them anyway.
   *
   * @default {0}
   */
  grace?: number;
}

/** What `stats()` says of one object. */
export interface ObjectStats {
  /** `tracer(obj)`, or `String(obj)` without a tracer. */
  trace: string;
  /** `stats(obj)`, or `null` without a stats hook. */
  stats: unknown;
  /** How many times it was handed out. */
  uses: number;
  /** Milliseconds since it was created. */
  age: number;
  /** Milliseconds since its last hand-out (negative, as in Python). */
  lastGet: number;
  /** Milliseconds since its last return (negative, as in Python). */
  lastRet: number;
}

/** The JSON-compatible snapshot returned by {@linkcode Pool.prototype.stats}. */
export interface PoolStats {
  /** Pool number, unique in the isolate. */
  id: number;
  /** When the pool was constructed (ISO 8601). */
  started: string;
  /** The `minSize` option. */
  minSize: number;
  /** The `maxSize` option (`0`: no limit). */
  maxSize: number;
  /** The `maxUse` option (`0`: no limit). */
  maxUse: number;
  /** The `timeout` option; `null` waits forever. */
  timeout: number | null;
  /** Housekeeping delay; `0` when there is no housekeeping. */
  hkDelay: number;
  /** The `maxAvailDelay` option. */
  maxAvailDelay: number;
  /** The `maxUsingDelayKill` option. */
  maxUsingDelayKill: number;
  /** The `maxUsingDelay` option (Python's name). */
  maxUsingDelayWarn: number;
  /** The `maxLifetime` option. */
  maxLifetime: number;
  /** The `healthFreq` option. */
  healthFreq: number;
  /** Epoch milliseconds when the snapshot was taken. */
  now: number;
  /** Objects ready to be handed out. */
  navail: number;
  /** Objects handed out and not returned. */
  nusing: number;
  /** Callers waiting for an object. */
  nwaiting: number;
  /** Milliseconds since the pool was constructed. */
  running: number;
  /** Milliseconds from now to the last housekeeping round (≤ 0), or null. */
  relHkLast: number | null;
  /** Average duration of a housekeeping round. */
  timePerHk: number;
  /** Whether `shutdown()` was called. */
  shutdown: boolean;
  /** Each available object. */
  avail: ObjectStats[];
  /** Each object handed out. */
  using: ObjectStats[];
  /** Objects alive: available, handed out, or in a hook. */
  nobjs: number;
  /** Objects created successfully since start. */
  ncreated: number;
  /** Creations in flight. */
  ncreating: number;
  /** Hand-outs since start. */
  nuses: number;
  /** Objects taken back by `maxUsingDelayKill`. */
  nkilled: number;
  /** Idle objects closed by `maxAvailDelay`. */
  nrecycled: number;
  /** Objects closed after `maxUse` uses. */
  nwornout: number;
  /** Objects closed after `maxLifetime`. */
  nexpired: number;
  /** Housekeeping borrows (health checks). */
  nborrows: number;
  /** Housekeeping returns (health checks passed). */
  nreturns: number;
  /** Objects closed, whatever the reason. */
  ndestroys: number;
  /** Health checks run. */
  nhealth: number;
  /** Health checks failed (false, thrown, or hung). */
  badHealth: number;
  /** Housekeeping rounds run. */
  hkRounds: number;
  /** Housekeeping rounds that failed (a bug of ours if ever > 0). */
  hkErrors: number;
  /** Health-check rounds run. */
  hcRounds: number;
  /** Health or borrow checks that threw or hung. */
  hcErrors: number;
  /** `check` calls on borrow. */
  nchecks: number;
  /** `check` calls on borrow that failed. */
  badChecks: number;
  /** Creations that failed (`fun` or `opener`). */
  ncreateErrors: number;
  /** Message of the last creation error, or null. */
  lastCreateError: string | null;
  /** Hooks that threw or rejected. */
  hookErrors: number;
  /** Gets that had to wait in the queue. */
  nwaits: number;
  /** Gets that ended with `TimeoutError`. */
  ntimeouts: number;
  /** Gets withdrawn through their signal. */
  naborts: number;
  /** Returns of objects the pool had not lent (ignored). */
  nbadReturns: number;
  /** Median wait (ms) of the last 1024 gets that waited, or null. */
  waitP50: number | null;
  /** 99th percentile of the same waits, or null. */
  waitP99: number | null;
  /** Largest of the same waits, or null. */
  waitMax: number | null;
}

// The states of an object in the pool.
const AVAIL = 0; // in #avail, ready to hand out
const LENT = 1; // in #lent, held by a caller
const BUSY = 2; // in a hook (check, getter, retter, health): neither
const CLOSED = 3; // left the pool; its closer has run or is running

/** An object and what the pool knows of it. */
class Slot<T> {
  state: number = BUSY;
  uses = 0;
  lastGet: number;
  lastRet: number;
  /** Next lent slot holding an equal primitive (identity of values). */
  dup: Slot<T> | undefined = undefined;

  constructor(
    readonly obj: T,
    /** The number `fun` was called with: names the object in logs. */
    readonly n: number,
    readonly created: number,
    readonly expires: number,
  ) {
    this.lastGet = created;
    this.lastRet = created;
  }
}

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
   * Same as {@linkcode Lease.prototype.release}, for `await using`.
   *
   * @returns A promise that settles when the pool has taken the object back.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

const RESOLVED: Promise<void> = Promise.resolve();
const WAIT_SAMPLES = 1024; // recent waits kept for percentiles

let poolCount = 0;

/**
 * An async pool of objects.
 *
 * Objects are created by `fun` on demand, up to `maxSize`, handed out by
 * {@linkcode Pool.prototype.get} and given back by
 * {@linkcode Pool.prototype.ret}; callers who find the pool full wait in
 * first-come, first-served order. Objects are tracked by identity, so equal
 * primitives are fine. Housekeeping (idle and lifetime limits, leak
 * detection, health checks) runs on an unref'd timer only when an option
 * needs it.
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
  // configuration
  readonly #id: number;
  readonly #started = new Date();
  readonly #t0 = performance.now();
  readonly #fun: FunHook<T>;
  readonly #maxSize: number;
  readonly #minSize: number;
  readonly #timeout: number | undefined;
  readonly #maxUse: number;
  readonly #maxAvailDelay: number;
  readonly #maxUsingDelay: number;
  readonly #maxUsingDelayKill: number;
  readonly #maxLifetime: number;
  readonly #lifetimeJitter: number;
  readonly #healthFreq: number;
  readonly #hkDelay: number;
  readonly #checkSkip: number;
  readonly #checkTimeout: number;
  readonly #backoffBase: number;
  readonly #backoffMax: number;
  readonly #check: HealthHook<T> | undefined;
  readonly #opener: PoolHook<T> | undefined;
  readonly #getter: PoolHook<T> | undefined;
  readonly #retter: PoolHook<T> | undefined;
  readonly #closer: PoolHook<T> | undefined;
  readonly #health: HealthHook<T> | undefined;
  readonly #statsHook: StatsHook<T> | undefined;
  readonly #tracer: TraceHook<T> | undefined;
  readonly #log: InstanceLog;
  // Stamps lent and returned objects: coarse unless a decision depends on
  // the stamps (see _clock.ts).
  readonly #clock: Clock;

  // state
  #avail: Slot<T>[] = [];
  #lent = new Map<T, Slot<T>>();
  #nlent = 0;
  #waiters = new WaiterQueue<T>();
  readonly #deadlines = new Deadlines<Waiter<T>>((w) => this.#timeoutWaiter(w));
  #nobjs = 0;
  #ncreating = 0;
  #nbackground = 0; // creations whose object goes to the queue or avail
  #funCalls = 0;
  #creations = new Set<Promise<void>>();
  #failures = 0; // consecutive background creation failures
  #backoffTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #hkTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #timersHeld = false; // our timers keep the process alive (callers wait)
  #hkRunning: Promise<void> | undefined = undefined;
  #hkLast: number | undefined = undefined;
  #hkTime = 0;
  #shutdown = false;
  #shutdownDone: Promise<void> | undefined = undefined;
  #onDrain: (() => void) | undefined = undefined; // set while shutting down
  #killed = new WeakSet<WeakKey>();
  #lastCreateError: unknown = undefined;
  #waits: number[] = [];
  #waitIndex = 0;

  // counters
  #ncreated = 0;
  #nuses = 0;
  #nkilled = 0;
  #nrecycled = 0;
  #nwornout = 0;
  #nexpired = 0;
  #nborrows = 0;
  #nreturns = 0;
  #ndestroys = 0;
  #nhealth = 0;
  #badHealth = 0;
  #hkRounds = 0;
  #hkErrors = 0;
  #hcRounds = 0;
  #hcErrors = 0;
  #nchecks = 0;
  #badChecks = 0;
  #ncreateErrors = 0;
  #hookErrors = 0;
  #nwaits = 0;
  #ntimeouts = 0;
  #naborts = 0;
  #nbadReturns = 0;

  /**
   * Validates the options, then starts creating `minSize` objects in the
   * background (failures are logged and retried, never thrown here).
   *
   * @param options How to create, check and close objects, and the limits.
   * @throws {TypeError} If `fun` or a hook is not a function, or an option
   * has the wrong type.
   * @throws {RangeError} If a size is negative or not an integer, a delay
   * is negative, or `minSize > maxSize`.
   */
  constructor(options: PoolOptions<T>) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `Cannot create pool as 'options' must be an object: current value is ${
          String(options)
        }`,
      );
    }
    const {
      fun,
      maxSize = 0,
      minSize = 1,
      timeout,
      maxUse = 0,
      maxAvailDelay = 0,
      maxUsingDelay = 0,
      maxUsingDelayKill = 0,
      maxLifetime = 0,
      lifetimeJitter = maxLifetime / 10,
      healthFreq = 1,
      hkDelay,
      check,
      checkSkip = 500,
      checkTimeout = 5_000,
      backoffBase = 100,
      backoffMax = 2_000,
      opener,
      getter,
      retter,
      closer,
      health,
      stats,
      tracer,
      logLevel,
    } = options;
    this.#fun = checkFunction("fun", fun, true) as FunHook<T>;
    this.#maxSize = checkInteger("maxSize", maxSize, 0);
    this.#minSize = checkInteger("minSize", minSize, 0);
    if (this.#maxSize > 0 && this.#minSize > this.#maxSize) {
      throw new RangeError(
        `Cannot create pool as 'minSize' must not exceed 'maxSize' (${this.#maxSize}): current value is ${this.#minSize}`,
      );
    }
    this.#timeout = checkOptionalMillis("timeout", timeout);
    this.#maxUse = checkInteger("maxUse", maxUse, 0);
    this.#maxAvailDelay = checkMillis("maxAvailDelay", maxAvailDelay);
    this.#maxUsingDelay = checkMillis("maxUsingDelay", maxUsingDelay);
    this.#maxUsingDelayKill = checkMillis(
      "maxUsingDelayKill",
      maxUsingDelayKill,
    );
    this.#maxLifetime = checkMillis("maxLifetime", maxLifetime);
    this.#lifetimeJitter = checkMillis("lifetimeJitter", lifetimeJitter);
    if (this.#maxLifetime > 0 && this.#lifetimeJitter >= this.#maxLifetime) {
      throw new RangeError(
        `Cannot create pool as 'lifetimeJitter' must be less than 'maxLifetime' (${this.#maxLifetime}): current value is ${this.#lifetimeJitter}`,
      );
    }
    this.#healthFreq = checkInteger("healthFreq", healthFreq, 1);
    this.#checkSkip = checkMillis("checkSkip", checkSkip);
    this.#checkTimeout = checkMillis("checkTimeout", checkTimeout);
    this.#backoffBase = checkMillis("backoffBase", backoffBase);
    this.#backoffMax = checkMillis("backoffMax", backoffMax);
    this.#check = checkFunction("check", check) as HealthHook<T> | undefined;
    this.#opener = checkFunction("opener", opener) as PoolHook<T> | undefined;
    this.#getter = checkFunction("getter", getter) as PoolHook<T> | undefined;
    this.#retter = checkFunction("retter", retter) as PoolHook<T> | undefined;
    this.#closer = checkFunction("closer", closer) as PoolHook<T> | undefined;
    this.#health = checkFunction("health", health) as
      | HealthHook<T>
      | undefined;
    this.#statsHook = checkFunction("stats", stats) as
      | StatsHook<T>
      | undefined;
    this.#tracer = checkFunction("tracer", tracer) as
      | TraceHook<T>
      | undefined;
    if (logLevel !== undefined && !isLogLevel(logLevel)) {
      throw new TypeError(
        `Cannot create pool as 'logLevel' must be a LogTape level: current value is ${
          String(logLevel)
        }`,
      );
    }
    this.#hkDelay = hkDelay === undefined
      ? this.#defaultHkDelay()
      : checkMillis("hkDelay", hkDelay);
    if (this.#health !== undefined && this.#hkDelay === 0) {
      throw new RangeError(
        "Cannot create pool as 'hkDelay' must be positive when 'health' is set: current value is 0",
      );
    }
    this.#clock = new Clock(
      this.#maxUsingDelay === 0 && this.#maxUsingDelayKill === 0 &&
        this.#maxAvailDelay === 0 && this.#maxLifetime === 0 &&
        this.#check === undefined,
    );
    this.#id = poolCount++;
    this.#log = new InstanceLog(["ppp", "pool"], logLevel, { pool: this.#id });
    this.#log.debug("Pool {pool} created: {options}", {
      options: { maxSize, minSize, hkDelay: this.#hkDelay },
    });
    this.#scheduleHk();
    this.#replenish(false);
  }

  // half the smallest delay that needs housekeeping, as in Python
  #defaultHkDelay(): number {
    const delays = [
      this.#maxAvailDelay,
      this.#maxUsingDelay,
      this.#maxUsingDelayKill,
      this.#maxLifetime,
    ].filter((d) => d > 0);
    if (delays.length > 0) return Math.min(...delays) / 2;
    return this.#health !== undefined ? 60_000 : 0;
  }

  /** Objects ready to be handed out now. */
  get navail(): number {
    return this.#avail.length;
  }

  /** Objects handed out and not yet returned. */
  get nusing(): number {
    return this.#nlent;
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
   * Borrows an object: an available one, a new one if there is room, or
   * the next one returned, in first-come, first-served order.
   *
   * @param options `timeout` overrides the pool's; `signal` withdraws the
   * request.
   * @returns The object, which must be given back with
   * {@linkcode Pool.prototype.ret}.
   * @throws {PoolError} If the pool is shut down, or shuts down meanwhile.
   * @throws {TimeoutError} If no object came within the timeout; `cause` is
   * the last creation error, if any.
   * @throws {unknown} `signal.reason` if the signal aborts first; the error
   * of `fun` or `opener` when the object created for this call fails.
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
    const signal = options?.signal;
    if (this.#shutdown) return Promise.reject(this.#shutdownError());
    if (signal?.aborted) {
      this.#naborts++;
      return Promise.reject(signal.reason);
    }
    if (options?.timeout !== undefined) {
      try {
        checkOptionalMillis("timeout", options.timeout, "get an object");
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const timeout = options?.timeout ?? this.#timeout;
    if (this.#waiters.size === 0) {
      const now = this.#clock.now();
      const slot = this.#takeAvail(now);
      if (slot !== undefined) {
        if (this.#getter === undefined && !this.#needsCheck(slot, now)) {
          this.#lend(slot, now);
          return Promise.resolve(slot.obj);
        }
        const w = this.#newWaiter(now, timeout, signal);
        this.#deliver(w, slot);
        return w.promise;
      }
      // Create for this caller, unless a creation already under way for
      // the pool will serve it (no burst of creations at start), or
      // creations fail (callers queue for the backed-off attempts).
      if (this.#nbackground === 0 && this.#canCreateFor()) {
        return this.#createFor(now, timeout, signal);
      }
    }
    if (timeout === 0) {
      // never queues, but may create
      if (this.#canCreateFor()) {
        return this.#createFor(this.#clock.now(), timeout, signal);
      }
      this.#ntimeouts++;
      return Promise.reject(
        new TimeoutError(
          `Cannot get an object from pool ${this.#id} as it is exhausted (maxSize ${this.#maxSize}) and 'timeout' is 0: return objects sooner or raise maxSize`,
          { cause: this.#lastCreateError },
        ),
      );
    }
    const w = this.#newWaiter(this.#clock.now(), timeout, signal);
    this.#nwaits++;
    this.#waiters.push(w);
    this.#replenish(false);
    if (!this.#timersHeld) this.#holdTimers(true);
    return w.promise;
  }

  /**
   * Gives back an object obtained from {@linkcode Pool.prototype.get}.
   * Returning an object twice, or one this pool never lent, is logged and
   * ignored.
   *
   * @param obj The borrowed object.
   * @returns A promise that settles once `retter` (and `closer`, if the
   * object is retired) have settled; it never rejects.
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
  ret(obj: T): Promise<void> {
    const slot = this.#lent.get(obj);
    if (slot === undefined) {
      this.#nbadReturns++;
      this.#log.warn(
        "Pool {pool}: ignored return of {obj}, which is not lent by this pool ({why})",
        {
          obj: this.#trace(obj),
          why: this.#isKilled(obj)
            ? "it was taken back after maxUsingDelayKill"
            : "returned twice, or never lent",
        },
      );
      return RESOLVED;
    }
    const now = this.#clock.now();
    slot.lastRet = now;
    if (this.#waiters.size > 0 && this.#canHandOver(slot, now)) {
      // Straight to the oldest waiter, as #release would do, but the object
      // stays in the lent map: no delete and re-insert.
      this.#stampLend(slot, now);
      this.#resolveWaiter(this.#waiters.shift()!, slot.obj, now);
      return RESOLVED;
    }
    this.#unlend(slot, slot); // ret looked it up: it heads its chain
    if (this.#retter !== undefined) return this.#retThenRecycle(slot);
    return this.#recycle(slot, now);
  }

  // Whether a returned object may go to a waiter with nothing to run or
  // decide in between: no hook, not worn out, not expired, not shutting down.
  #canHandOver(slot: Slot<T>, now: number): boolean {
    return this.#retter === undefined && this.#getter === undefined &&
      !this.#needsCheck(slot, now) && !this.#shutdown &&
      (this.#maxUse === 0 || slot.uses < this.#maxUse) && now < slot.expires;
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
    const describe = (slot: Slot<T>): ObjectStats => ({
      trace: this.#trace(slot.obj, slot.n),
      stats: this.#objStats(slot.obj),
      uses: slot.uses,
      age: t - slot.created,
      lastGet: slot.lastGet - t,
      lastRet: slot.lastRet - t,
    });
    const using = this.#lentSlots().map(describe);
    const waits = this.#waits.toSorted((a, b) => a - b);
    const pct = (p: number): number | null =>
      waits.length === 0
        ? null
        : waits[Math.min(waits.length - 1, Math.floor(p * waits.length))];
    return {
      id: this.#id,
      started: this.#started.toISOString(),
      minSize: this.#minSize,
      maxSize: this.#maxSize,
      maxUse: this.#maxUse,
      timeout: this.#timeout ?? null,
      hkDelay: this.#hkDelay,
      maxAvailDelay: this.#maxAvailDelay,
      maxUsingDelayKill: this.#maxUsingDelayKill,
      maxUsingDelayWarn: this.#maxUsingDelay,
      maxLifetime: this.#maxLifetime,
      healthFreq: this.#healthFreq,
      now: Date.now(),
      navail: this.#avail.length,
      nusing: this.#nlent,
      nwaiting: this.#waiters.size,
      running: t - this.#t0,
      relHkLast: this.#hkLast === undefined ? null : this.#hkLast - t,
      timePerHk: this.#hkRounds === 0 ? 0 : this.#hkTime / this.#hkRounds,
      shutdown: this.#shutdown,
      avail: this.#avail.map(describe),
      using,
      nobjs: this.#nobjs,
      ncreated: this.#ncreated,
      ncreating: this.#ncreating,
      nuses: this.#nuses,
      nkilled: this.#nkilled,
      nrecycled: this.#nrecycled,
      nwornout: this.#nwornout,
      nexpired: this.#nexpired,
      nborrows: this.#nborrows,
      nreturns: this.#nreturns,
      ndestroys: this.#ndestroys,
      nhealth: this.#nhealth,
      badHealth: this.#badHealth,
      hkRounds: this.#hkRounds,
      hkErrors: this.#hkErrors,
      hcRounds: this.#hcRounds,
      hcErrors: this.#hcErrors,
      nchecks: this.#nchecks,
      badChecks: this.#badChecks,
      ncreateErrors: this.#ncreateErrors,
      lastCreateError: this.#lastCreateError === undefined
        ? null
        : errorMessage(this.#lastCreateError),
      hookErrors: this.#hookErrors,
      nwaits: this.#nwaits,
      ntimeouts: this.#ntimeouts,
      naborts: this.#naborts,
      nbadReturns: this.#nbadReturns,
      waitP50: pct(0.5),
      waitP99: pct(0.99),
      waitMax: waits.length === 0 ? null : waits[waits.length - 1],
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
   * Shuts the pool down: rejects every waiter with {@linkcode PoolError},
   * stops housekeeping, closes available objects, waits up to `grace` ms
   * for borrowed ones (closing each as it comes back), then closes the
   * rest with a warning. Later calls return the same promise.
   *
   * @param options `grace`: how long to wait for borrowed objects.
   * @returns A promise that settles when every object is closed and no
   * creation or hook is in flight; it never rejects.
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
      const grace = checkMillis("grace", options?.grace ?? 0, "shut down");
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

  // Pops an available object, closing those past their lifetime.
  #takeAvail(now: number): Slot<T> | undefined {
    let slot = this.#avail.pop();
    while (slot !== undefined && now >= slot.expires) {
      this.#nexpired++;
      void this.#close(slot, "expired");
      slot = this.#avail.pop();
    }
    return slot;
  }

  #canCreateFor(): boolean {
    return this.#failures === 0 && this.#hasRoom();
  }

  // Starts a creation whose object goes to this caller (or, if the caller
  // gives up first, to the pool); its failure fails this caller.
  #createFor(
    now: number,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const w = this.#newWaiter(now, timeout, signal);
    this.#startCreation(w);
    return w.promise;
  }

  #needsCheck(slot: Slot<T>, now: number): boolean {
    return this.#check !== undefined && now - slot.lastRet >= this.#checkSkip;
  }

  #lend(slot: Slot<T>, now: number): void {
    slot.state = LENT;
    this.#stampLend(slot, now);
    this.#nlent++;
    const head = this.#lent.get(slot.obj);
    if (head !== undefined) slot.dup = head;
    this.#lent.set(slot.obj, slot);
  }

  #stampLend(slot: Slot<T>, now: number): void {
    slot.uses++;
    slot.lastGet = now;
    this.#nuses++;
  }

  // Removes a lent slot from the lent map, whatever its place in the chain
  // of slots holding equal primitives.
  #unlend(slot: Slot<T>, head: Slot<T> = this.#lent.get(slot.obj)!): void {
    this.#nlent--;
    slot.state = BUSY;
    if (head === slot) {
      if (slot.dup === undefined) this.#lent.delete(slot.obj);
      else this.#lent.set(slot.obj, slot.dup);
    } else {
      let prev = head;
      while (prev.dup !== slot) prev = prev.dup!;
      prev.dup = slot.dup;
    }
    slot.dup = undefined;
  }

  #newWaiter(
    now: number,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
  ): Waiter<T> {
    const w = new Waiter<T>(now);
    if (timeout !== undefined && timeout > 0 && timeout !== Infinity) {
      w.deadline = this.#deadlines.add(w, timeout);
    }
    if (signal !== undefined) {
      w.signal = signal;
      w.onAbort = () => {
        if (w.settled) return;
        this.#naborts++;
        this.#settle(w);
        w.reject(signal.reason);
      };
      signal.addEventListener("abort", w.onAbort, { once: true });
    }
    return w;
  }

  #timeoutWaiter(w: Waiter<T>): void {
    if (w.settled) return;
    const timeout = w.deadline!.timeout;
    this.#ntimeouts++;
    this.#settle(w);
    const cause = this.#lastCreateError;
    w.reject(
      new TimeoutError(
        `Cannot get an object from pool ${this.#id} within ${timeout} ms: ${
          cause === undefined
            ? "all objects are in use, return them sooner or raise maxSize"
            : "creating objects failed, see cause"
        }`,
        cause === undefined ? undefined : { cause },
      ),
    );
  }

  // Marks a waiter settled, takes it out of the queue and drops its deadline
  // and listener; the caller then resolves or rejects it.
  #settle(w: Waiter<T>): void {
    w.settled = true;
    this.#waiters.remove(w);
    if (this.#timersHeld && this.#waiters.size === 0) this.#holdTimers(false);
    if (w.deadline !== undefined) this.#deadlines.remove(w.deadline);
    if (w.onAbort !== undefined) {
      w.signal!.removeEventListener("abort", w.onAbort);
    }
  }

  // Hands a slot to a waiter that has not given up, running `check` and
  // `getter` first when they apply.
  #deliver(
    w: Waiter<T>,
    slot: Slot<T>,
    now: number = this.#clock.now(),
  ): void {
    if (this.#getter === undefined && !this.#needsCheck(slot, now)) {
      this.#handTo(w, slot, now);
    } else {
      slot.state = BUSY;
      void this.#prepareFor(w, slot, now);
    }
  }

  #handTo(w: Waiter<T>, slot: Slot<T>, now: number): void {
    this.#lend(slot, now);
    this.#resolveWaiter(w, slot.obj, now);
  }

  #resolveWaiter(w: Waiter<T>, obj: T, now: number): void {
    this.#recordWait(now - w.since);
    this.#settle(w);
    w.resolve(obj);
  }

  async #prepareFor(w: Waiter<T>, slot: Slot<T>, now: number): Promise<void> {
    if (this.#needsCheck(slot, now)) {
      this.#nchecks++;
      const ok = await this.#probe(this.#check!, slot, this.#checkTimeout);
      if (!ok) {
        this.#badChecks++;
        // an object never handed out that fails its check is a failed
        // creation: back off, else close-create-check would spin
        if (slot.uses === 0) this.#backOff();
        this.#log.warn("Pool {pool}: {obj} failed its check on borrow", {
          obj: this.#trace(slot.obj, slot.n),
        });
        void this.#close(slot, "failed check");
        if (this.#shutdown) this.#refuse(w);
        else if (!w.settled) {
          // try again for the same caller, ahead of later callers
          this.#waiters.unshift(w);
          this.#serveQueue();
        }
        return;
      }
    }
    if (this.#getter !== undefined) {
      await this.#runHook("getter", slot.obj, slot.n);
    }
    if (w.settled || this.#shutdown) {
      // the caller gave up (or the pool shut down) meanwhile: the object
      // is not lost
      this.#refuse(w);
      void this.#recycle(slot, this.#clock.now());
    } else {
      this.#handTo(w, slot, this.#clock.now());
    }
  }

  #recordWait(ms: number): void {
    this.#waits[this.#waitIndex] = ms;
    this.#waitIndex = (this.#waitIndex + 1) % WAIT_SAMPLES;
  }

  // ---- return ----

  async #retThenRecycle(slot: Slot<T>): Promise<void> {
    await this.#runHook("retter", slot.obj, slot.n);
    await this.#recycle(slot, this.#clock.now());
  }

  // An object back from use: retire it, or hand it to the oldest waiter,
  // or make it available.
  #recycle(slot: Slot<T>, now: number): Promise<void> {
    if (this.#maxUse > 0 && slot.uses >= this.#maxUse) {
      this.#nwornout++;
      return this.#close(slot, "worn out");
    }
    return this.#release(slot, now);
  }

  // An object ready for use (new, returned, or healthy): the oldest waiter
  // gets it at once, else it becomes available.
  #release(slot: Slot<T>, now: number): Promise<void> {
    if (this.#shutdown) return this.#close(slot, "shutdown");
    if (now >= slot.expires) {
      this.#nexpired++;
      return this.#close(slot, "expired");
    }
    const w = this.#waiters.shift();
    if (w !== undefined) {
      this.#deliver(w, slot, now);
    } else {
      slot.state = AVAIL;
      this.#avail.push(slot);
    }
    return RESOLVED;
  }

  // ---- creation ----

  #hasRoom(): boolean {
    return this.#maxSize === 0 ||
      this.#nobjs + this.#ncreating < this.#maxSize;
  }

  // Starts the creations the pool needs: one per waiter not yet covered by
  // a background creation, and enough to reach minSize; within maxSize. After
  // failures, not before the back-off delay and one attempt at a time, until
  // one succeeds (`force`, from fill(), skips the delay).
  #replenish(force: boolean): void {
    if (this.#shutdown) return;
    if (this.#backoffTimer !== undefined && !force) return;
    const forWaiters = this.#waiters.size - this.#nbackground;
    const forMin = this.#minSize - this.#nobjs - this.#ncreating;
    let need = Math.max(forWaiters, forMin);
    if (this.#failures > 0 && !force) {
      need = Math.min(need, 1 - this.#nbackground);
    }
    while (need-- > 0 && this.#hasRoom()) this.#startCreation(undefined);
  }

  // Serves queued waiters from available objects, then creates for the rest.
  #serveQueue(): void {
    const now = this.#clock.now();
    while (this.#waiters.size > 0) {
      const slot = this.#takeAvail(now);
      if (slot === undefined) break;
      this.#deliver(this.#waiters.shift()!, slot);
    }
    this.#replenish(false);
  }

  // Creates one object, for `owner` (a caller who found room) or for the
  // pool (background: the queue or available objects).
  #startCreation(owner: Waiter<T> | undefined): void {
    this.#ncreating++;
    if (owner === undefined) this.#nbackground++;
    const p = this.#create(owner);
    this.#creations.add(p);
    p.finally(() => this.#creations.delete(p));
  }

  async #create(owner: Waiter<T> | undefined): Promise<void> {
    const n = this.#funCalls++;
    let obj: T;
    try {
      obj = await this.#fun(n);
    } catch (err) {
      return this.#creationFailed(owner, err, "fun");
    }
    if (this.#opener !== undefined) {
      try {
        await this.#opener(obj);
      } catch (err) {
        // the object exists: close it before its slot is freed
        if (this.#closer !== undefined) {
          await this.#runHook("closer", obj, n);
        }
        return this.#creationFailed(owner, err, "opener");
      }
    }
    this.#ncreating--;
    if (owner === undefined) this.#nbackground--;
    this.#ncreated++;
    this.#nobjs++;
    this.#failures = 0;
    const now = this.#clock.now();
    const jitter = this.#lifetimeJitter * Math.random();
    const expires = this.#maxLifetime > 0
      ? now + this.#maxLifetime - jitter
      : Infinity;
    const slot = new Slot(obj, n, now, expires);
    this.#log.debug("Pool {pool}: created {obj}", { obj: this.#trace(obj, n) });
    if (owner !== undefined && !owner.settled && !this.#shutdown) {
      this.#deliver(owner, slot);
    } else {
      if (owner !== undefined) this.#refuse(owner);
      await this.#release(slot, now);
    }
    // after a recovery, waiters that queued meanwhile need creations
    this.#replenish(false);
  }

  #creationFailed(
    owner: Waiter<T> | undefined,
    err: unknown,
    hook: string,
  ): void {
    this.#ncreating--;
    if (owner === undefined) this.#nbackground--;
    this.#ncreateErrors++;
    this.#lastCreateError = err;
    this.#log.error("Pool {pool}: creating an object failed in {hook}: {err}", {
      hook,
      err,
    });
    this.#onDrain?.();
    this.#backOff();
    if (owner !== undefined && !owner.settled) {
      this.#settle(owner);
      owner.reject(err);
    }
  }

  // After a failure, waits before the next background attempt:
  // exponential back-off with full jitter, so a dead server costs a bounded
  // number of attempts per second, not a busy loop.
  #backOff(): void {
    this.#failures++;
    if (this.#shutdown || this.#backoffTimer !== undefined) return;
    const ceiling = Math.min(
      this.#backoffMax,
      this.#backoffBase * 2 ** Math.min(this.#failures - 1, 30),
    );
    const wait = Math.random() * ceiling;
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = undefined;
      this.#replenish(false);
    }, capDelay(wait));
    if (!this.#timersHeld) unrefTimer(this.#backoffTimer);
  }

  // While callers wait, housekeeping and back-off may be what serves them
  // (a kill, a retry): their timers then keep the process alive.
  #holdTimers(hold: boolean): void {
    this.#timersHeld = hold;
    for (const timer of [this.#hkTimer, this.#backoffTimer]) {
      if (timer !== undefined) hold ? refTimer(timer) : unrefTimer(timer);
    }
  }

  // ---- removal ----

  // Takes an object out of the pool for good; its slot is freed once the
  // closer has settled, so a closing object still counts against maxSize.
  #close(slot: Slot<T>, why: string): Promise<void> {
    slot.state = CLOSED;
    this.#ndestroys++;
    this.#log.debug("Pool {pool}: closing {obj} ({why})", {
      obj: this.#trace(slot.obj, slot.n),
      why,
    });
    if (this.#closer === undefined) {
      this.#removed();
      return RESOLVED;
    }
    return this.#runHook("closer", slot.obj, slot.n).then(() =>
      this.#removed()
    );
  }

  #removed(): void {
    this.#nobjs--;
    if (this.#shutdown) this.#onDrain?.();
    else this.#serveQueue();
  }

  #isKilled(obj: T): boolean {
    return isWeakKey(obj) && this.#killed.has(obj);
  }

  // Every lent slot, those holding equal primitives included; a copy, so
  // callers may unlend as they go.
  #lentSlots(): Slot<T>[] {
    const slots: Slot<T>[] = [];
    for (const head of this.#lent.values()) {
      for (let s: Slot<T> | undefined = head; s; s = s.dup) slots.push(s);
    }
    return slots;
  }

  // ---- housekeeping ----

  #scheduleHk(): void {
    if (this.#hkDelay === 0 || this.#shutdown) return;
    this.#hkTimer = setTimeout(() => {
      this.#hkTimer = undefined;
      this.#hkRunning = this.#housekeep().finally(() => {
        this.#hkRunning = undefined;
        this.#scheduleHk();
      });
    }, capDelay(this.#hkDelay));
    if (!this.#timersHeld) unrefTimer(this.#hkTimer);
  }

  async #housekeep(): Promise<void> {
    const start = performance.now();
    this.#hkLast = start;
    this.#hkRounds++;
    try {
      this.#sweepLent(start);
      this.#sweepAvail(start);
      if (
        this.#health !== undefined && this.#hkRounds % this.#healthFreq === 0
      ) {
        await this.#healthRound();
      }
      this.#replenish(false);
    } catch (err) {
      // only a bug of ours can land here: hooks are guarded
      this.#hkErrors++;
      this.#log.error("Pool {pool}: housekeeping round failed: {err}", { err });
    }
    this.#hkTime += performance.now() - start;
  }

  // Warns about objects held too long, and takes back those held longer
  // than maxUsingDelayKill.
  #sweepLent(now: number): void {
    const warn = this.#maxUsingDelay;
    const kill = this.#maxUsingDelayKill;
    if (warn === 0 && kill === 0) return;
    for (const slot of this.#lentSlots()) {
      const heldFor = Math.round(now - slot.lastGet);
      if (kill > 0 && heldFor >= kill) {
        this.#nkilled++;
        this.#unlend(slot);
        if (isWeakKey(slot.obj)) this.#killed.add(slot.obj);
        this.#log.warn(
          "Pool {pool}: took back {obj}, held for {heldFor} ms (maxUsingDelayKill {kill} ms)",
          { obj: this.#trace(slot.obj, slot.n), heldFor, kill },
        );
        void this.#close(slot, "killed");
      } else if (warn > 0 && heldFor >= warn) {
        this.#log.warn(
          "Pool {pool}: {obj} held for {heldFor} ms (maxUsingDelay {warn} ms)",
          { obj: this.#trace(slot.obj, slot.n), heldFor, warn },
        );
      }
    }
  }

  // Closes idle objects past maxAvailDelay (down to minSize) and objects
  // past their lifetime.
  #sweepAvail(now: number): void {
    let spare = this.#nobjs - this.#minSize;
    const keep: Slot<T>[] = [];
    for (const slot of this.#avail) {
      if (now >= slot.expires) {
        this.#nexpired++;
        spare--;
        void this.#close(slot, "expired");
      } else if (
        this.#maxAvailDelay > 0 && spare > 0 &&
        now - slot.lastRet >= this.#maxAvailDelay
      ) {
        this.#nrecycled++;
        spare--;
        void this.#close(slot, "idle");
      } else {
        keep.push(slot);
      }
    }
    this.#avail = keep;
  }

  // Checks every available object, none handed out meanwhile; the
  // unhealthy, throwing or hung ones are closed.
  async #healthRound(): Promise<void> {
    this.#hcRounds++;
    const slots = this.#avail;
    this.#avail = [];
    for (const slot of slots) slot.state = BUSY;
    this.#nborrows += slots.length;
    await Promise.all(slots.map(async (slot) => {
      this.#nhealth++;
      const ok = await this.#probe(this.#health!, slot, this.#hkDelay);
      if (ok) {
        this.#nreturns++;
        await this.#release(slot, performance.now());
      } else {
        this.#badHealth++;
        this.#log.warn("Pool {pool}: {obj} is unhealthy", {
          obj: this.#trace(slot.obj, slot.n),
        });
        await this.#close(slot, "unhealthy");
      }
    }));
  }

  // Runs a health-like hook, bounded in time: false, a throw, a rejection
  // or no answer within `limit` ms all mean unfit.
  async #probe(
    hook: HealthHook<T>,
    slot: Slot<T>,
    limit: number,
  ): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const verdict = Promise.resolve().then(() => hook(slot.obj));
      const hung = new Promise<"hung">((resolve) => {
        timer = setTimeout(() => resolve("hung"), capDelay(limit));
      });
      const result = await Promise.race([verdict, hung]);
      if (result === "hung") {
        this.#hcErrors++;
        this.#log.warn("Pool {pool}: check of {obj} hung for {limit} ms", {
          obj: this.#trace(slot.obj, slot.n),
          limit,
        });
        // a late rejection must not go unhandled
        verdict.catch(() => {});
        return false;
      }
      return result === true;
    } catch (err) {
      this.#hcErrors++;
      this.#log.warn("Pool {pool}: check of {obj} threw: {err}", {
        obj: this.#trace(slot.obj, slot.n),
        err,
      });
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- shutdown ----

  async #doShutdown(grace: number): Promise<void> {
    this.#log.info("Pool {pool}: shutting down", {});
    this.#clock.stop();
    clearTimeout(this.#hkTimer);
    clearTimeout(this.#backoffTimer);
    this.#hkTimer = this.#backoffTimer = undefined;
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) {
      this.#refuse(w);
    }
    const avail = this.#avail;
    this.#avail = [];
    const closing = avail.map((slot) => this.#close(slot, "shutdown"));
    await this.#hkRunning;
    if (grace > 0 && this.#nlent > 0) await this.#drain(grace);
    if (this.#nlent > 0) {
      this.#log.warn(
        "Pool {pool}: closing {n} objects still in use at shutdown",
        { n: this.#nlent },
      );
      for (const slot of this.#lentSlots()) {
        this.#unlend(slot);
        closing.push(this.#close(slot, "shutdown"));
      }
    }
    await Promise.all(closing);
    // creations, hooks and closes still in flight end in #close
    while (this.#nobjs > 0 || this.#ncreating > 0) {
      await new Promise<void>((resolve) => this.#onDrain = resolve);
    }
    this.#onDrain = undefined;
    this.#log.info("Pool {pool}: shut down", {});
  }

  // Waits up to `grace` ms for every lent object to come back.
  async #drain(grace: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, capDelay(grace));
    });
    try {
      while (this.#nlent > 0) {
        const changed = new Promise<void>((resolve) => {
          this.#onDrain = resolve;
        });
        if (await Promise.race([changed, deadline.then(() => "late")])) {
          break;
        }
      }
    } finally {
      clearTimeout(timer);
      this.#onDrain = undefined;
    }
  }

  // Rejects a caller still waiting when the pool shuts down.
  #refuse(w: Waiter<T>): void {
    if (w.settled || !this.#shutdown) return;
    this.#settle(w);
    w.reject(
      new PoolError(
        `Cannot get an object from pool ${this.#id} as it is shutting down`,
      ),
    );
  }

  #shutdownError(): PoolError {
    return new PoolError(
      `Cannot get an object from pool ${this.#id} as it is shut down: create a new pool`,
    );
  }

  // ---- hooks ----

  async #runHook(
    name: "getter" | "retter" | "closer",
    obj: T,
    n: number,
  ): Promise<void> {
    const hook = name === "getter"
      ? this.#getter
      : name === "retter"
      ? this.#retter
      : this.#closer;
    try {
      await hook!(obj);
    } catch (err) {
      this.#hookErrors++;
      this.#log.error("Pool {pool}: {hook} failed on {obj}: {err}", {
        hook: name,
        obj: this.#trace(obj, n),
        err,
      });
    }
  }

  // `tracer(obj)`, else a cheap name such as "Client#3" (the number `fun`
  // was called with), never a dump of a possibly huge object.
  #trace(obj: T, n?: number): string {
    try {
      if (this.#tracer !== undefined) return this.#tracer(obj);
    } catch (err) {
      this.#hookErrors++;
      return `<tracer failed: ${errorMessage(err)}>`;
    }
    const kind = typeof obj === "object" && obj !== null
      ? obj.constructor?.name ?? "Object"
      : typeof obj;
    return n === undefined ? kind : `${kind}#${n}`;
  }

  #objStats(obj: T): unknown {
    if (this.#statsHook === undefined) return null;
    try {
      return this.#statsHook(obj) ?? null;
    } catch (err) {
      this.#hookErrors++;
      return { error: errorMessage(err) };
    }
  }
}

function isWeakKey(value: unknown): value is WeakKey {
  return typeof value === "object" && value !== null ||
    typeof value === "function";
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
