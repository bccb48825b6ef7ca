// Helpers shared by the test files; not part of the published module.
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { assertEquals, assertInstanceOf } from "@std/assert";
import { delay } from "@std/async/delay";
import { setImmediate } from "node:timers";
import { MAX_DELAY } from "./_timers.ts";
import { Pool, type PoolOptions } from "./pool.ts";

/** A small seeded PRNG (mulberry32), so a failing random test replays. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Waits until `cond()` holds, checking every few milliseconds; fails after
 * `limit` ms. For effects of timers (housekeeping, back-off) whose exact
 * moment is not ours to know: it waits on the condition, not on a guess.
 */
export async function waitFor(
  cond: () => boolean,
  what: string,
  limit = 5_000,
): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > limit) {
      throw new Error(`Timed out after ${limit} ms waiting for ${what}`);
    }
    await delay(2);
  }
}

/** Lets every pending microtask and zero-delay callback run. */
export function settle(): Promise<void> {
  return delay(0);
}

/**
 * A resource whose life the tests can audit: how many exist, the most that
 * ever existed at once, and how many times each was closed.
 */
export class Ledger {
  alive = 0;
  maxAlive = 0;
  created: Res[] = [];
  closes = new Map<Res, number>();

  /** Counts a creation attempt as existing from its start (maxSize counts it). */
  begin(): void {
    this.alive++;
    this.maxAlive = Math.max(this.maxAlive, this.alive);
  }

  /** A creation attempt that produced nothing. */
  abort(): void {
    this.alive--;
  }

  make(n: number): Res {
    const res = new Res(n);
    this.created.push(res);
    return res;
  }

  close(res: Res): void {
    this.closes.set(res, (this.closes.get(res) ?? 0) + 1);
    res.open = false;
    this.alive--;
  }

  /** Objects closed more than once. */
  doubleCloses(): Res[] {
    return [...this.closes].filter(([, n]) => n > 1).map(([r]) => r);
  }
}

/** A pooled thing with an identity and an open flag. */
export class Res {
  open = true;
  constructor(readonly n: number) {}
}

/** Captures LogTape records of the `ppp` category while `fn` runs. */
export async function withLogs(
  fn: (records: LogRecord[]) => Promise<void>,
): Promise<void> {
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["ppp"], lowestLevel: "trace", sinks: ["mem"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    await fn(records);
  } finally {
    await reset();
  }
}

/** The rendered message of a LogTape record. */
export function text(record: LogRecord): string {
  return record.message.map((part) =>
    typeof part === "string"
      ? part
      : part instanceof Error
      ? part.message
      : JSON.stringify(part)
  ).join("");
}

/**
 * Waits for a macrotask that is not a timer (`setImmediate`): every pending
 * microtask has run, and it still works while a {@linkcode FakeClock} holds
 * the timers (a MessageChannel message is not enough in Deno: it arrives
 * among the microtasks).
 */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
  /** Set by a test's own hooks: not a timer of the code under test. */
  ours: boolean;
}

/**
 * Fake time: `install()` swaps `setTimeout`, `clearTimeout` and
 * `performance.now` until the function it returns is called; `advance()`
 * then fires the timers in order. No real sleeps.
 */
export class FakeClock {
  now = 1_000;
  /**
   * How far `performance.now()` lags behind a timer that fires, in ms: a
   * real timer may fire when the clock reads a fraction of a ms earlier.
   */
  skew = 0;
  #seq = 0;
  #timers = new Map<number, FakeTimer>();

  setTimeout = (fn: () => void, ms?: number, ours = false): unknown => {
    const id = ++this.#seq;
    // as Deno's: a delay beyond MAX_DELAY becomes 1 ms
    const delay = Number(ms) > MAX_DELAY ? 1 : Math.max(0, Number(ms) || 0);
    this.#timers.set(id, { id, at: this.now + delay, fn, ours });
    return { id, unref() {}, ref() {}, [Symbol.toPrimitive]: () => id };
  };

  clearTimeout = (handle: unknown): void => {
    if (handle !== null && typeof handle === "object" && "id" in handle) {
      this.#timers.delete((handle as { id: number }).id);
    }
  };

  /** Makes the globals use this clock; returns what undoes it. */
  install(): () => void {
    const saved = {
      setTimeout: globalThis.setTimeout,
      clearTimeout: globalThis.clearTimeout,
    };
    globalThis.setTimeout = this.setTimeout as typeof setTimeout;
    globalThis.clearTimeout = this.clearTimeout as typeof clearTimeout;
    Object.defineProperty(performance, "now", {
      value: () => this.now,
      configurable: true,
      writable: true,
    });
    return () => {
      globalThis.setTimeout = saved.setTimeout;
      globalThis.clearTimeout = saved.clearTimeout;
      delete (performance as unknown as { now?: unknown }).now;
    };
  }

  /** Timers still pending (not those of the test's hooks). */
  poolTimers(): number {
    let n = 0;
    for (const t of this.#timers.values()) if (!t.ours) n++;
    return n;
  }

  /** Fires every timer due within `ms`, in order, settling after each. */
  async advance(
    ms: number,
    settle: () => Promise<void> = () => Promise.resolve(),
  ): Promise<void> {
    const target = this.now + ms;
    for (let fired = 0;; fired++) {
      if (fired > 10_000) throw new Error("timer storm: 10 000 timers fired");
      let next: FakeTimer | undefined;
      for (const t of this.#timers.values()) {
        if (t.at <= target && (next === undefined || t.at < next.at)) next = t;
      }
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.now = Math.max(this.now, next.at - this.skew);
      next.fn();
      await settle();
    }
    this.now = target;
    await settle();
  }
}

/**
 * Runs `fn` with a {@linkcode FakeClock} installed, real time restored
 * after; with `frozenDate`, `Date.now()` is frozen too (for `stats().now`).
 */
export async function withFakeClock(
  fn: (clock: FakeClock) => Promise<void>,
  frozenDate?: number,
): Promise<void> {
  const clock = new FakeClock();
  const restore = clock.install();
  const realDateNow = Date.now;
  if (frozenDate !== undefined) Date.now = () => frozenDate;
  try {
    await fn(clock);
  } finally {
    Date.now = realDateNow;
    restore();
  }
}

/**
 * The fate of a promise, readable at any time without awaiting it (its
 * rejection handled).
 */
export class Tracked<T> {
  state: "pending" | "fulfilled" | "rejected" = "pending";
  value: T | undefined = undefined;
  reason: unknown = undefined;
  constructor(readonly promise: Promise<T>) {
    promise.then(
      (value) => {
        this.state = "fulfilled";
        this.value = value;
      },
      (reason) => {
        this.state = "rejected";
        this.reason = reason;
      },
    );
  }

  /** Whether the promise has settled. */
  get done(): boolean {
    return this.state !== "pending";
  }
}

/** The error `tracked` was rejected with, checked to be an `ErrorClass`. */
export function rejection<E extends Error>(
  tracked: Tracked<unknown>,
  ErrorClass: new (...args: never[]) => E,
): E {
  assertEquals(tracked.state, "rejected");
  assertInstanceOf(tracked.reason, ErrorClass);
  return tracked.reason as E;
}

/** Tracks `promise` (see {@linkcode Tracked}). */
export function track<T>(promise: Promise<T>): Tracked<T> {
  return new Tracked(promise);
}

/** A promise that never settles: a hook or a connect that hangs forever. */
export function never<V>(): Promise<V> {
  return new Promise<V>(() => {});
}

/**
 * The "abort" listeners added to and removed from one signal, through its
 * own methods (wrapped on this instance).
 */
export function spyAbortListeners(signal: AbortSignal): {
  added: EventListenerOrEventListenerObject[];
  removed: EventListenerOrEventListenerObject[];
} {
  const added: EventListenerOrEventListenerObject[] = [];
  const removed: EventListenerOrEventListenerObject[] = [];
  const target = EventTarget.prototype;
  signal.addEventListener = (
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void => {
    if (type === "abort" && listener !== null) added.push(listener);
    target.addEventListener.call(signal, type, listener, options);
  };
  signal.removeEventListener = (
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void => {
    if (type === "abort" && listener !== null) removed.push(listener);
    target.removeEventListener.call(signal, type, listener, options);
  };
  return { added, removed };
}

/** A pool (minSize 0) of audited resources: `fun` and `closer` feed `ledger`. */
export function auditedPool(
  ledger: Ledger,
  options: Partial<PoolOptions<Res>> = {},
): Pool<Res> {
  return new Pool<Res>({
    fun: (n) => {
      ledger.begin();
      return ledger.make(n);
    },
    closer: (r) => ledger.close(r),
    minSize: 0,
    ...options,
  });
}
