// The pool's own timers (housekeeping, retry back-off) must not keep the
// process alive while nobody waits on the pool, but must
// while a caller waits for what they will bring (else Deno ends the event
// loop under a pending `await pool.get()`).

type Timer = ReturnType<typeof setTimeout>;

/** Lets the process exit even though `timer` is pending. */
export function unrefTimer(timer: Timer): void {
  if (typeof timer === "number") Deno.unrefTimer(timer);
  else (timer as { unref(): void }).unref();
}

/** Makes a pending `timer` keep the process alive again. */
export function refTimer(timer: Timer): void {
  if (typeof timer === "number") Deno.refTimer(timer);
  else (timer as { ref(): void }).ref();
}

/**
 * The longest delay a timer takes: 2^31 − 1 ms, about 24.8 days. Given a
 * longer one, `setTimeout` fires after 1 ms instead (and Deno prints a
 * TimeoutOverflowWarning).
 */
export const MAX_DELAY = 2 ** 31 - 1;

/** `ms` as a timer delay: capped at {@linkcode MAX_DELAY}. */
export function capDelay(ms: number): number {
  return ms < MAX_DELAY ? ms : MAX_DELAY;
}
