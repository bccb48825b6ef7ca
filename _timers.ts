// Timers the pool owns must never keep the process alive: housekeeping and
// retry back-off are background work (SPEC semantic 11).

/** Marks a timer as not keeping the process alive, in Deno and in Node. */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === "number") {
    // Deno before 2.8 and browsers-like hosts: numeric ids.
    if (typeof Deno !== "undefined") Deno.unrefTimer(timer);
  } else {
    (timer as { unref?: () => void }).unref?.();
  }
}
