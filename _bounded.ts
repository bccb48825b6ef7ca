// Waiting for a user's hook at most so long. A hook may never settle (a TCP
// connect to a blackholed host, a stuck `end()`): the pool then stops
// waiting, counts the hook as failed, and goes on. The hook's promise is
// left running; its late rejection is marked handled so that it cannot
// crash the process, and its late value is the caller's to deal with
// (a late object is closed, never lent).
import { capDelay } from "./_timers.ts";

/** What {@linkcode within} resolves with when the hook did not settle. */
export const LATE: unique symbol = Symbol("late");

/**
 * Waits for `work` at most `limit` ms (`Infinity`: no limit), and no longer
 * than until `stop` aborts (the pool shuts down).
 *
 * @returns `work`'s value, or {@linkcode LATE}.
 * @throws {unknown} What `work` rejects with, in time.
 */
export function within<V>(
  work: PromiseLike<V>,
  limit: number,
  stop?: AbortSignal,
): Promise<V | typeof LATE> {
  if (stop?.aborted) return late(work);
  if (limit === Infinity && stop === undefined) return Promise.resolve(work);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onStop: (() => void) | undefined;
  const expired = new Promise<typeof LATE>((resolve) => {
    if (limit !== Infinity) {
      timer = setTimeout(() => resolve(LATE), capDelay(limit));
    }
    if (stop !== undefined) {
      onStop = () => resolve(LATE);
      stop.addEventListener("abort", onStop, { once: true });
    }
  });
  return Promise.race<V | typeof LATE>([work, expired]).then(
    (value): Promise<V | typeof LATE> | V | typeof LATE =>
      value === LATE ? late(work) : value,
  ).finally(() => {
    clearTimeout(timer);
    if (onStop !== undefined) stop!.removeEventListener("abort", onStop);
  });
}

function late<V>(work: PromiseLike<V>): Promise<typeof LATE> {
  Promise.resolve(work).catch(() => {});
  return Promise.resolve(LATE);
}
