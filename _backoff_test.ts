import { assertEquals } from "@std/assert";
import { backoffDelay } from "./_backoff.ts";
import { prng } from "./_testing.ts";

Deno.test("backoffDelay() doubles its ceiling per failure from base, up to max", () => {
  const top = () => 1 - Number.EPSILON; // the largest random() can return
  const ceilings = [1, 2, 3, 4, 5, 6].map((n) =>
    Math.round(backoffDelay(n, 100, 1_000, top))
  );
  assertEquals(ceilings, [100, 200, 400, 800, 1_000, 1_000]);
  assertEquals(backoffDelay(1_000, 100, 1_000, top) < 1_000, true);
  // never under half the ceiling: no attempt right after a failure
  assertEquals(backoffDelay(3, 100, 1_000, () => 0), 200);
});

Deno.test("backoffDelay() is uniform in the upper half of its ceiling (equal jitter)", () => {
  const random = prng(7);
  const delays = Array.from(
    { length: 10_000 },
    () => backoffDelay(4, 100, 2_000, random),
  );
  assertEquals(delays.every((d) => d >= 400 && d < 800), true);
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  assertEquals(Math.abs(mean - 600) < 10, true, `mean ${mean}`);
});

Deno.test("backoffDelay() never overflows for huge failure counts", () => {
  assertEquals(
    backoffDelay(Number.MAX_SAFE_INTEGER, 100, 1_000, () => 0.5),
    750,
  );
});
