// The pool's clock. `performance.now()` costs about 100 ns on a virtual
// machine without a fast clock source (more than a whole get/ret round trip
// of a minimal pool), so a pool whose decisions do not depend on when an
// object was lent or returned (no maxUsingDelay, maxUsingDelayKill,
// maxAvailDelay, maxLifetime or check) stamps its objects with a coarse
// clock: a reading is reused for at most REUSE stamps and at most about
// TICK ms of event-loop time, like an event loop's cached "loop time".
// Pools with such options read the monotonic clock at every stamp, exactly
// as before.
import { unrefTimer } from "./_timers.ts";

/** Stamps served from one reading before the clock is read again. */
const REUSE = 128;
/** Milliseconds after which a reading expires, once the event loop turns. */
const TICK = 1;

/** A monotonic millisecond clock, precise or coarse. */
export class Clock {
  readonly #coarse: boolean;
  #value = 0;
  #left = 0; // stamps still served from #value
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #stopped = false;
  readonly #expire = (): void => {
    this.#timer = undefined;
    this.#left = 0;
  };

  /** `coarse`: reuse a reading as described above; else always read. */
  constructor(coarse: boolean) {
    this.#coarse = coarse;
  }

  /** Milliseconds on the `performance.now()` time line. */
  now(): number {
    if (this.#left > 0) {
      this.#left--;
      return this.#value;
    }
    return this.#read();
  }

  /**
   * `stamp` (a reading of this clock) if it is exact, else an exact reading:
   * a reused reading lags by however long the event loop ran code without
   * turning since it was made.
   */
  exact(stamp: number): number {
    return this.#coarse ? performance.now() : stamp;
  }

  #read(): number {
    const t = performance.now();
    this.#value = t;
    if (this.#coarse && !this.#stopped) {
      this.#left = REUSE - 1;
      if (this.#timer === undefined) {
        this.#timer = setTimeout(this.#expire, TICK);
        unrefTimer(this.#timer);
      }
    }
    return t;
  }

  /** Drops the expiry timer; from now on every call reads the clock. */
  stop(): void {
    this.#stopped = true;
    this.#left = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
