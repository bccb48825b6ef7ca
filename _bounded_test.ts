import { assertEquals, assertRejects } from "@std/assert";
import { LATE, within } from "./_bounded.ts";
import { withFakeClock } from "./_testing.ts";

Deno.test("within() resolves with the work's value when it settles in time", async () => {
  assertEquals(await within(Promise.resolve(7), 1_000), 7);
  await assertRejects(
    () => within(Promise.reject(new Error("no")), 1_000),
    Error,
    "no",
  );
});

Deno.test("within() resolves LATE at the limit, clears its timer, and a late rejection is handled", async () => {
  await withFakeClock(async (clock) => {
    let fail!: (e: Error) => void;
    const work = new Promise<number>((_, reject) => fail = reject);
    const result = within(work, 50);
    await clock.advance(49);
    assertEquals(clock.poolTimers(), 1);
    await clock.advance(1);
    assertEquals(await result, LATE);
    assertEquals(clock.poolTimers(), 0);
    fail(new Error("late")); // must not be an unhandled rejection
  });
});

Deno.test("within() resolves LATE as soon as the stop signal aborts, or at once if it did", async () => {
  const stop = new AbortController();
  const never = new Promise<number>(() => {});
  const result = within(never, 60_000, stop.signal);
  stop.abort();
  assertEquals(await result, LATE); // and no timer left: sanitizers check
  assertEquals(await within(never, Infinity, stop.signal), LATE);
});

Deno.test("within() with no limit and no stop signal is the work itself", async () => {
  assertEquals(await within(Promise.resolve("x"), Infinity), "x");
});
