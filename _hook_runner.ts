// Calling a pool's hooks: each call bounded in time, each failure caught,
// counted and logged, never thrown into the pool's machinery (LogTape's
// rule for user callbacks). The pool decides what a failure means; this
// only says whether the hook succeeded.
import type { HealthHook } from "./hooks.ts";
import type { InstanceLog } from "./_log.ts";
import type { PoolConfig } from "./_options.ts";
import type { Counters } from "./_stats.ts";
import { LATE, within } from "./_bounded.ts";

/** Runs the hooks of one pool. */
export class HookRunner<T> {
  readonly #cfg: PoolConfig<T>;
  readonly #n: Counters;
  readonly #log: InstanceLog;
  readonly #checksStopped: AbortSignal;
  readonly #stopWaiting: AbortSignal;

  /**
   * `checksStopped` aborts when the pool stops waiting for checks (as
   * shutdown starts), `stopWaiting` when it stops waiting for the other
   * hooks (when shutdown gives up); `counters` receives hookErrors,
   * hcErrors, ncloseTimeouts.
   */
  constructor(
    cfg: PoolConfig<T>,
    counters: Counters,
    log: InstanceLog,
    checksStopped: AbortSignal,
    stopWaiting: AbortSignal,
  ) {
    this.#cfg = cfg;
    this.#n = counters;
    this.#log = log;
    this.#checksStopped = checksStopped;
    this.#stopWaiting = stopWaiting;
  }

  /**
   * Runs `getter`, `retter` or `closer` on object `n`; false when it threw,
   * rejected, or was still pending after its limit (getter, retter:
   * hookTimeout, or when shutdown stops waiting; closer: closeTimeout,
   * after which the object is given up on). Never rejects.
   */
  async run(
    name: "getter" | "retter" | "closer",
    obj: T,
    n: number,
  ): Promise<boolean> {
    try {
      const done = this.#cfg[name]!(obj);
      if (!isThenable(done)) return true;
      const closing = name === "closer";
      const limit = closing ? this.#cfg.closeTimeout : this.#cfg.hookTimeout;
      // a closer has closeTimeout whatever happens; a getter or retter is
      // not waited for once shutdown stops waiting
      const stop = closing ? undefined : this.#stopWaiting;
      if (await within(done, limit, stop) !== LATE) return true;
      if (closing) {
        this.#n.ncloseTimeouts++;
        this.#log.warn(
          "Pool {pool}: closer of {obj} still pending after closeTimeout ({limit} ms): given up, its slot is freed",
          { obj: this.trace(obj, n), limit },
        );
        return false;
      }
      throw new Error(
        `still pending after hookTimeout (${limit} ms) or at shutdown`,
      );
    } catch (err) {
      this.#n.hookErrors++;
      this.#log.error("Pool {pool}: {hook} failed on {obj}: {err}", {
        hook: name,
        obj: this.trace(obj, n),
        err,
      });
      return false;
    }
  }

  /**
   * Runs a health-like hook (`check`, `health`) on object `n`: false, a
   * throw, a rejection, or no answer within `limit` ms (or before shutdown
   * stops waiting) all mean unfit. Never rejects.
   */
  async probe(
    hook: HealthHook<T>,
    obj: T,
    n: number,
    limit: number,
  ): Promise<boolean> {
    try {
      const verdict = Promise.resolve().then(() => hook(obj));
      const stop = this.#checksStopped;
      const result = await within(verdict, limit, stop);
      if (result === LATE) {
        this.#n.hcErrors++;
        this.#log.warn("Pool {pool}: check of {obj} unanswered ({why})", {
          why: stop.aborted ? "shutdown" : `${limit} ms`,
          obj: this.trace(obj, n),
        });
        return false;
      }
      return result === true;
    } catch (err) {
      this.#n.hcErrors++;
      this.#log.warn("Pool {pool}: check of {obj} threw: {err}", {
        obj: this.trace(obj, n),
        err,
      });
      return false;
    }
  }

  /**
   * `tracer(obj)`, else a cheap name such as "Client#3" (the number `fun`
   * was called with), never a dump of a possibly huge object.
   */
  trace(obj: T, n?: number): string {
    try {
      if (this.#cfg.tracer !== undefined) return this.#cfg.tracer(obj);
    } catch (err) {
      this.#n.hookErrors++;
      return `<tracer failed: ${errorMessage(err)}>`;
    }
    let kind: string = typeof obj;
    try {
      if (typeof obj === "object" && obj !== null) {
        kind = obj.constructor?.name ?? "Object";
      }
    } catch {
      kind = "object"; // a JS Proxy whose traps throw: never our failure
    }
    return n === undefined ? kind : `${kind}#${n}`;
  }

  /** What the `stats` hook says of `obj`, or null; never throws. */
  stats(obj: T): unknown {
    if (this.#cfg.stats === undefined) return null;
    try {
      return this.#cfg.stats(obj) ?? null;
    } catch (err) {
      this.#n.hookErrors++;
      return { error: errorMessage(err) };
    }
  }
}

/** Whether `value` has a `then` method. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

/** An error's message, or the value as a string. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
