// Retry pacing for failed creations: exponential back-off with "equal
// jitter" (a random delay in the upper half of the ceiling), so a dead
// server costs a bounded number of attempts per second instead of a busy
// loop (the generic-pool trap). Full jitter (anywhere below the ceiling)
// spreads many clients best, but one pool retrying alone could then try
// again at once, twice in a row: the lower half is kept as a floor.
import { capDelay, refTimer, unrefTimer } from "./_timers.ts";

/**
 * The delay before the next attempt after `failures` consecutive failures
 * (≥ 1): uniformly random in the upper half of the ceiling
 * `min(max, base · 2^(failures − 1))` ("equal jitter"). `random` is
 * `Math.random` unless a test seeds it.
 */
export function backoffDelay(
  failures: number,
  base: number,
  max: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(failures - 1, 30));
  return ceiling / 2 + random() * ceiling / 2;
}

/**
 * The back-off state of one pool: how many creations failed in a row, and
 * the timer that allows the next attempt.
 */
export class Backoff {
  readonly #base: number;
  readonly #max: number;
  readonly #retry: () => void;
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #held = false;
  #stopped = false;

  /** `retry` runs when the delay after a failure has passed. */
  constructor(base: number, max: number, retry: () => void) {
    this.#base = base;
    this.#max = max;
    this.#retry = retry;
  }

  /** Consecutive failures since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** Whether a delay is running: no background attempt until it ends. */
  get waiting(): boolean {
    return this.#timer !== undefined;
  }

  /** Counts a failure and, unless one runs or it stopped, starts the delay. */
  failed(): void {
    this.#failures++;
    if (this.#timer !== undefined || this.#stopped) return;
    const delay = backoffDelay(this.#failures, this.#base, this.#max);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#retry();
    }, capDelay(delay));
    if (!this.#held) unrefTimer(this.#timer);
  }

  /** A creation succeeded: the next failure starts from `base` again. */
  succeeded(): void {
    this.#failures = 0;
  }

  /**
   * Whether the delay keeps the process alive: yes while callers wait for
   * what the retry brings, else Deno would end under a pending `get()`.
   */
  hold(held: boolean): void {
    this.#held = held;
    if (this.#timer !== undefined) {
      held ? refTimer(this.#timer) : unrefTimer(this.#timer);
    }
  }

  /** Cancels the delay for good (shutdown). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
