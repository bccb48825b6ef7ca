import { assertEquals } from "@std/assert";
import { backoffDelay } from "./_backoff.ts";
import { prng } from "./_testing.ts";

Deno.test("backoffDelay() doubles its ceiling per failure from base, up to max", () => {
  const top = () => 1 - Number.EPSILON; // the largest random() can return
  const ceilings = [1, 2, 3, 4, 5, 6].map((n) =>
    Math.round(backoffDelay(n, 100, 2_000, top))
  );
  assertEquals(ceilings, [100, 200, 400, 800, 1_600, 2_000]);
  assertEquals(backoffDelay(1_000, 100, 2_000, top) < 2_000, true);
  assertEquals(backoffDelay(3, 100, 2_000, () => 0), 0);
});

Deno.test("backoffDelay() is uniform below its ceiling (full jitter)", () => {
  const random = prng(7);
  const delays = Array.from(
    { length: 10_000 },
    () => backoffDelay(4, 100, 2_000, random),
  );
  assertEquals(delays.every((d) => d >= 0 && d < 800), true);
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  assertEquals(Math.abs(mean - 400) < 20, true, `mean ${mean}`);
});

Deno.test("backoffDelay() never overflows for huge failure counts", () => {
  assertEquals(
    backoffDelay(Number.MAX_SAFE_INTEGER, 100, 2_000, () => 0.5),
    1_000,
  );
});
