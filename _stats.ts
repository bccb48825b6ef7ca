// What a pool tells about itself: the public types of `pool.stats()`, the
// counters a pool keeps, and the recent wait times behind its percentiles.
// The pool increments counters on its paths; `stats()` only reads.

/** What `stats()` says of one object. */
export interface ObjectStats {
  /** `tracer(obj)`, or its constructor's name and number (`Client#3`). */
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
  /** The `name` option, by default `pool-<id>`. */
  name: string;
  /** When the pool was constructed (ISO 8601). */
  started: string;
  /** The `minSize` option. */
  minSize: number;
  /** The `maxSize` option (`0`: no limit). */
  maxSize: number;
  /** The `maxUse` option (`0`: no limit). */
  maxUse: number;
  /** The `timeout` option; `null` waits forever (`Infinity`). */
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
  /** The `maxCreating` option. */
  maxCreating: number;
  /** The `createTimeout` option; `null` waits forever (`Infinity`). */
  createTimeout: number | null;
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
  /** Objects closed because `resize()` lowered `maxSize`. */
  nshrunk: number;
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
  /** Creations given up after `createTimeout` (counted in ncreateErrors). */
  ncreateTimeouts: number;
  /** Closers given up after `closeTimeout` (the slot freed anyway). */
  ncloseTimeouts: number;
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
  /** Objects closed because the caller discarded them on return. */
  ndiscards: number;
  /** Objects closed because `retter` failed to reset them. */
  badResets: number;
  /** Median wait (ms) of the last 1024 gets that waited, or null. */
  waitP50: number | null;
  /** 99th percentile of the same waits, or null. */
  waitP99: number | null;
  /** Largest of the same waits, or null. */
  waitMax: number | null;
}

/**
 * The counters of a pool, by their `stats()` names; each only ever grows.
 * A plain object so that `stats()` copies them in one spread.
 */
export class Counters {
  /** Objects created successfully. */
  ncreated = 0;
  /** Hand-outs. */
  nuses = 0;
  /** Objects taken back by maxUsingDelayKill. */
  nkilled = 0;
  /** Idle objects closed by maxAvailDelay (Python's name). */
  nrecycled = 0;
  /** Objects closed after maxUse uses. */
  nwornout = 0;
  /** Objects closed after maxLifetime. */
  nexpired = 0;
  /** Objects closed because resize() lowered maxSize. */
  nshrunk = 0;
  /** Housekeeping borrows (health checks). */
  nborrows = 0;
  /** Housekeeping returns (health checks passed). */
  nreturns = 0;
  /** Objects closed, whatever the reason. */
  ndestroys = 0;
  /** Health checks run. */
  nhealth = 0;
  /** Health checks failed. */
  badHealth = 0;
  /** Housekeeping rounds. */
  hkRounds = 0;
  /** Housekeeping rounds that failed. */
  hkErrors = 0;
  /** Health-check rounds. */
  hcRounds = 0;
  /** Health or borrow checks that threw or hung. */
  hcErrors = 0;
  /** `check` calls on borrow. */
  nchecks = 0;
  /** `check` calls on borrow that failed. */
  badChecks = 0;
  /** Creations that failed. */
  ncreateErrors = 0;
  /** Creations given up after createTimeout. */
  ncreateTimeouts = 0;
  /** Closers given up after closeTimeout. */
  ncloseTimeouts = 0;
  /** Hooks that threw or rejected. */
  hookErrors = 0;
  /** Gets that had to wait. */
  nwaits = 0;
  /** Gets that timed out. */
  ntimeouts = 0;
  /** Gets withdrawn through their signal. */
  naborts = 0;
  /** Returns of objects the pool had not lent. */
  nbadReturns = 0;
  /** Objects discarded on return. */
  ndiscards = 0;
  /** Objects whose retter failed. */
  badResets = 0;
}

/** How many recent waits are kept for the percentiles. */
const WAIT_SAMPLES = 1024;

/** The last {@linkcode WAIT_SAMPLES} wait times, in a ring. */
export class WaitSamples {
  readonly #samples: number[] = [];
  #next = 0;

  /** Records one wait of `ms` milliseconds. */
  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % WAIT_SAMPLES;
  }

  /** The median, 99th percentile and largest of the kept waits, or nulls. */
  summary(): Pick<PoolStats, "waitP50" | "waitP99" | "waitMax"> {
    const waits = this.#samples.toSorted((a, b) => a - b);
    const n = waits.length;
    const pct = (p: number): number | null =>
      n === 0 ? null : waits[Math.min(n - 1, Math.floor(p * n))];
    return {
      waitP50: pct(0.5),
      waitP99: pct(0.99),
      waitMax: n === 0 ? null : waits[n - 1],
    };
  }
}
