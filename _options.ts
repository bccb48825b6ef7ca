// The options of a Pool: their public types, their defaults, and their
// validation, as one unit. `resolvePoolOptions()` turns what a caller wrote
// into a settled, validated `PoolConfig`; the pool reads only that, never
// the caller's object again (HikariCP's HikariConfig.validate() idea).
import type {
  FunHook,
  HealthHook,
  PoolHook,
  StatsHook,
  TraceHook,
} from "./hooks.ts";
import { isLogLevel } from "./_log.ts";
import {
  checkFunction,
  checkInteger,
  checkKnown,
  checkLimit,
  checkMillis,
  checkObject,
  checkOptionalMillis,
  checkSignal,
  show,
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
   * The pool's name in logs, errors, `stats().name` and its metrics
   * (attribute `db.client.connection.pool.name`).
   *
   * @default {"pool-<id>"}
   */
  name?: string;
  /**
   * Most objects that may exist at once, counting those being created;
   * `0` means no limit.
   *
   * @default {10}
   */
  maxSize?: number;
  /**
   * Objects created in the background at start and kept after removals.
   *
   * @default {1}
   */
  minSize?: number;
  /**
   * How long `get()` waits for an object; `Infinity` waits forever, `0`
   * never joins the queue of waiters.
   *
   * @default {30000}
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
   * @default {Math.floor(maxLifetime / 10)}
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
   * A `check` still pending after this counts as failed; `Infinity` waits
   * forever.
   *
   * @default {5000}
   */
  checkTimeout?: number;
  /**
   * Ceiling of the delay before retrying after a failed creation; it
   * doubles at each consecutive failure, and the delay is drawn in its
   * upper half (equal jitter).
   *
   * @default {100}
   */
  backoffBase?: number;
  /**
   * Largest delay between creation attempts after failures: once a server
   * is back, the pool tries again within this.
   *
   * @default {1000}
   */
  backoffMax?: number;
  /** Runs once on each new object; a failure is a failed creation. */
  opener?: PoolHook<T>;
  /**
   * A creation (`fun`, then `opener`) still pending after this fails as if
   * it threw, with a `TimeoutError`; an object that arrives later is
   * closed, never lent. `Infinity` waits forever.
   *
   * @default {10000}
   */
  createTimeout?: number;
  /**
   * Most creations in flight at once. A server that is down then sees at
   * most this many failing connects before the back-off starts, and a
   * burst of callers does not open a burst of connections; a cold pool of
   * 10 still fills in 5 connect times.
   *
   * @default {2}
   */
  maxCreating?: number;
  /** Runs on each hand-out; a failure is logged, the `get` still succeeds. */
  getter?: PoolHook<T>;
  /**
   * Resets an object on each return. A failure (a throw, a rejection, or
   * `hookTimeout`) means the object could not be reset: it is closed, never
   * lent again; the `ret` still succeeds.
   */
  retter?: PoolHook<T>;
  /**
   * A `getter` or `retter` still pending after this fails as if it threw;
   * `Infinity` waits forever.
   *
   * @default {5000}
   */
  hookTimeout?: number;
  /** Runs exactly once when an object leaves the pool for good. */
  closer?: PoolHook<T>;
  /**
   * A `closer` still pending after this is given up on, with a warning:
   * the object's slot is freed. `Infinity` waits forever.
   *
   * @default {5000}
   */
  closeTimeout?: number;
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

/** Options of {@linkcode Pool.prototype.ret}. */
export interface RetOptions {
  /**
   * Closes the object instead of taking it back (a broken connection): its
   * slot is freed and it is never lent again.
   *
   * @default {false}
   */
  discard?: boolean;
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

/** Options of {@linkcode Pool.prototype.resize}: either or both sizes. */
export interface ResizeOptions {
  /** The new `minSize`. */
  minSize?: number;
  /** The new `maxSize` (`0`: no limit). */
  maxSize?: number;
}

/** The names of {@linkcode PoolOptions}. */
export const POOL_OPTIONS: ReadonlySet<string> = new Set(
  [
    "fun",
    "name",
    "maxSize",
    "minSize",
    "timeout",
    "maxUse",
    "maxAvailDelay",
    "maxUsingDelay",
    "maxUsingDelayKill",
    "maxLifetime",
    "lifetimeJitter",
    "healthFreq",
    "hkDelay",
    "check",
    "checkSkip",
    "checkTimeout",
    "backoffBase",
    "backoffMax",
    "opener",
    "createTimeout",
    "maxCreating",
    "getter",
    "retter",
    "hookTimeout",
    "closer",
    "closeTimeout",
    "health",
    "stats",
    "tracer",
    "logLevel",
  ] satisfies (keyof PoolOptions<unknown>)[],
);

const GET_OPTIONS: ReadonlySet<string> = new Set(["timeout", "signal"]);
const RET_OPTIONS: ReadonlySet<string> = new Set(["discard"]);
const SHUTDOWN_OPTIONS: ReadonlySet<string> = new Set(["grace"]);
const RESIZE_OPTIONS: ReadonlySet<string> = new Set(["minSize", "maxSize"]);

/** The settled configuration of a pool: every default applied, validated. */
export interface PoolConfig<T> {
  readonly fun: FunHook<T>;
  /** `undefined`: the pool names itself `pool-<id>`. */
  readonly name: string | undefined;
  /** Changed by `resize()`, as is `minSize`. */
  maxSize: number;
  minSize: number;
  /** `Infinity` waits forever. */
  readonly timeout: number;
  readonly maxUse: number;
  readonly maxAvailDelay: number;
  readonly maxUsingDelay: number;
  readonly maxUsingDelayKill: number;
  readonly maxLifetime: number;
  readonly lifetimeJitter: number;
  readonly healthFreq: number;
  /** `0`: no housekeeping timer. */
  readonly hkDelay: number;
  readonly check: HealthHook<T> | undefined;
  readonly checkSkip: number;
  readonly checkTimeout: number;
  readonly backoffBase: number;
  readonly backoffMax: number;
  readonly opener: PoolHook<T> | undefined;
  /** `Infinity` waits forever, as for every limit below. */
  readonly createTimeout: number;
  readonly maxCreating: number;
  readonly getter: PoolHook<T> | undefined;
  readonly retter: PoolHook<T> | undefined;
  readonly hookTimeout: number;
  readonly closer: PoolHook<T> | undefined;
  readonly closeTimeout: number;
  readonly health: HealthHook<T> | undefined;
  readonly stats: StatsHook<T> | undefined;
  readonly tracer: TraceHook<T> | undefined;
  readonly logLevel: LogLevel | undefined;
  /**
   * Whether no decision depends on when an object was lent or returned, so
   * a coarse clock may stamp them (see _clock.ts).
   */
  readonly coarseClock: boolean;
}

/**
 * Applies the defaults to `options` and validates every value.
 *
 * @throws {TypeError} A value of the wrong type.
 * @throws {RangeError} A value out of range, or two that contradict.
 */
export function resolvePoolOptions<T>(options: PoolOptions<T>): PoolConfig<T> {
  checkObject(options, "create pool");
  checkKnown(options, POOL_OPTIONS, "create pool");
  const {
    fun,
    name,
    maxSize = 10,
    minSize = 1,
    timeout = 30_000,
    maxUse = 0,
    maxAvailDelay = 0,
    maxUsingDelay = 0,
    maxUsingDelayKill = 0,
    maxLifetime = 0,
    lifetimeJitter,
    healthFreq = 1,
    hkDelay,
    check,
    checkSkip = 500,
    checkTimeout = 5_000,
    backoffBase = 100,
    backoffMax = 1_000,
    opener,
    createTimeout = 10_000,
    maxCreating = 2,
    getter,
    retter,
    hookTimeout = 5_000,
    closer,
    closeTimeout = 5_000,
    health,
    stats,
    tracer,
    logLevel,
  } = options;
  const sizes = {
    fun: checkFunction("fun", fun, true) as FunHook<T>,
    name: checkName(name),
    maxSize: checkInteger("maxSize", maxSize, 0),
    minSize: checkInteger("minSize", minSize, 0),
  };
  if (sizes.maxSize > 0 && sizes.minSize > sizes.maxSize) {
    throw new RangeError(
      `Cannot create pool as 'minSize' must not exceed 'maxSize' (${sizes.maxSize}): current value is ${sizes.minSize}`,
    );
  }
  const delays = {
    timeout: settleTimeout(timeout, "create pool"),
    maxUse: checkInteger("maxUse", maxUse, 0),
    maxAvailDelay: checkMillis("maxAvailDelay", maxAvailDelay),
    maxUsingDelay: checkMillis("maxUsingDelay", maxUsingDelay),
    maxUsingDelayKill: checkMillis("maxUsingDelayKill", maxUsingDelayKill),
    maxLifetime: checkMillis("maxLifetime", maxLifetime),
    // its default depends on maxLifetime, checked first
    lifetimeJitter: lifetimeJitter === undefined
      ? Math.floor(checkMillis("maxLifetime", maxLifetime) / 10)
      : checkMillis("lifetimeJitter", lifetimeJitter),
  };
  if (delays.maxLifetime > 0 && delays.lifetimeJitter >= delays.maxLifetime) {
    throw new RangeError(
      `Cannot create pool as 'lifetimeJitter' must be less than 'maxLifetime' (${delays.maxLifetime}): current value is ${delays.lifetimeJitter}`,
    );
  }
  const hooks = {
    healthFreq: checkInteger("healthFreq", healthFreq, 1),
    checkSkip: checkMillis("checkSkip", checkSkip),
    checkTimeout: checkLimit("checkTimeout", checkTimeout),
    hookTimeout: checkLimit("hookTimeout", hookTimeout),
    createTimeout: checkLimit("createTimeout", createTimeout),
    closeTimeout: checkLimit("closeTimeout", closeTimeout),
    maxCreating: checkInteger("maxCreating", maxCreating, 1),
    backoffBase: checkMillis("backoffBase", backoffBase),
    backoffMax: checkMillis("backoffMax", backoffMax),
    check: checkFunction("check", check) as HealthHook<T> | undefined,
    opener: checkFunction("opener", opener) as PoolHook<T> | undefined,
    getter: checkFunction("getter", getter) as PoolHook<T> | undefined,
    retter: checkFunction("retter", retter) as PoolHook<T> | undefined,
    closer: checkFunction("closer", closer) as PoolHook<T> | undefined,
    health: checkFunction("health", health) as HealthHook<T> | undefined,
    stats: checkFunction("stats", stats) as StatsHook<T> | undefined,
    tracer: checkFunction("tracer", tracer) as TraceHook<T> | undefined,
  };
  if (logLevel !== undefined && !isLogLevel(logLevel)) {
    throw new TypeError(
      `Cannot create pool as 'logLevel' must be a LogTape level: current value is ${
        show(logLevel)
      }`,
    );
  }
  const settledHkDelay = hkDelay === undefined
    ? defaultHkDelay(delays, hooks.health !== undefined)
    : checkMillis("hkDelay", hkDelay);
  if (hkDelay === 0) {
    const needs = ([
      "maxAvailDelay",
      "maxUsingDelay",
      "maxUsingDelayKill",
      "maxLifetime",
    ] as const)
      .find((name) => delays[name] > 0);
    if (needs !== undefined) {
      throw new RangeError(
        `Cannot create pool as 'hkDelay' must be positive when '${needs}' is set (housekeeping applies it): current value is 0`,
      );
    }
  }
  if (hooks.health !== undefined && settledHkDelay === 0) {
    throw new RangeError(
      "Cannot create pool as 'hkDelay' must be positive when 'health' is set: current value is 0",
    );
  }
  return {
    ...sizes,
    ...delays,
    ...hooks,
    hkDelay: settledHkDelay,
    logLevel,
    coarseClock: delays.maxUsingDelay === 0 &&
      delays.maxUsingDelayKill === 0 && delays.maxAvailDelay === 0 &&
      delays.maxLifetime === 0 && hooks.check === undefined,
  };
}

// Half the smallest delay that needs housekeeping, as in Python; 60 s when
// only `health` needs it; else none.
function defaultHkDelay(
  delays: {
    maxAvailDelay: number;
    maxUsingDelay: number;
    maxUsingDelayKill: number;
    maxLifetime: number;
  },
  hasHealth: boolean,
): number {
  const set = [
    delays.maxAvailDelay,
    delays.maxUsingDelay,
    delays.maxUsingDelayKill,
    delays.maxLifetime,
  ].filter((d) => d > 0);
  // never under 1 ms: a shorter timer would fire again and again
  if (set.length > 0) return Math.max(1, Math.min(...set) / 2);
  return hasHealth ? 60_000 : 0;
}

// A timeout: a non-negative duration, or Infinity (wait forever).
function settleTimeout(value: unknown, action: string): number {
  return checkOptionalMillis("timeout", value, action) ?? Infinity;
}

/**
 * The timeout of one `get()`: its own if given (validated), else the
 * pool's. `Infinity` waits forever.
 *
 * @throws {RangeError|TypeError} A bad per-call timeout.
 */
export function resolveGetOptions(
  options: GetOptions,
  poolTimeout: number,
): { timeout: number; signal: AbortSignal | undefined } {
  checkObject(options, "get an object");
  checkKnown(options, GET_OPTIONS, "get an object");
  // each option read once: a getter must not pass the check, then change
  const { timeout, signal } = options;
  checkSignal(signal, "get an object");
  return {
    timeout: timeout === undefined
      ? poolTimeout
      : settleTimeout(timeout, "get an object"),
    signal,
  };
}

/** Validates the options of `ret()`; returns `discard`. */
export function resolveRetOptions(options: RetOptions): boolean {
  checkObject(options, "return an object");
  checkKnown(options, RET_OPTIONS, "return an object");
  const { discard } = options;
  if (discard === undefined) return false;
  if (typeof discard !== "boolean") {
    throw new TypeError(
      `Cannot return an object as 'discard' must be a boolean: current value is ${
        show(discard)
      }`,
    );
  }
  return discard;
}

/** Validates the options of `shutdown()`; returns `grace`. */
export function resolveGraceOption(
  options: ShutdownOptions | undefined,
): number {
  if (options === undefined) return 0;
  checkObject(options, "shut down");
  checkKnown(options, SHUTDOWN_OPTIONS, "shut down");
  const { grace } = options;
  return grace === undefined ? 0 : checkMillis("grace", grace, "shut down");
}

/**
 * Validates the options of `resize()` against the current sizes; returns
 * the new sizes.
 */
export function resolveResizeOptions(
  options: ResizeOptions,
  current: { minSize: number; maxSize: number },
): { minSize: number; maxSize: number } {
  const action = "resize pool";
  checkObject(options, action);
  checkKnown(options, RESIZE_OPTIONS, action);
  const {
    minSize = current.minSize,
    maxSize = current.maxSize,
  } = options;
  const sizes = {
    minSize: checkInteger("minSize", minSize, 0, action),
    maxSize: checkInteger("maxSize", maxSize, 0, action),
  };
  if (sizes.maxSize > 0 && sizes.minSize > sizes.maxSize) {
    throw new RangeError(
      `Cannot ${action} as 'minSize' must not exceed 'maxSize' (${sizes.maxSize}): current value is ${sizes.minSize}`,
    );
  }
  return sizes;
}

// A name shows in logs, errors and metrics: a non-empty string.
function checkName(name: unknown): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name !== "string" || name.trim() === "") {
    throw new TypeError(
      `Cannot create pool as 'name' must be a non-empty string: current value is ${
        show(name)
      }`,
    );
  }
  return name;
}
