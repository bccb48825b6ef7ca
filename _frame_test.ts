import { assertEquals, assertStrictEquals } from "@std/assert";
import { Binding, Frame, type ReturnsObjects } from "./_frame.ts";

/** A pool stand-in that records what comes back. */
function recorder(): ReturnsObjects & { back: unknown[] } {
  const back: unknown[] = [];
  return {
    back,
    ret(obj: never) {
      back.push(obj);
      return Promise.resolve();
    },
  };
}

function bound(pool: ReturnsObjects, obj: unknown): Binding {
  const b = new Binding(0, pool);
  b.has = true;
  b.obj = obj;
  return b;
}

Deno.test("Frame keeps one binding per key, whichever the order of set and delete", () => {
  const frame = new Frame();
  const pool = recorder();
  const [a, b, c] = [{}, {}, {}];
  const a1 = bound(pool, "a1"), b1 = bound(pool, "b1");
  frame.set(a, a1);
  frame.set(b, b1);
  assertStrictEquals(frame.get(a), a1);
  assertStrictEquals(frame.get(b), b1);
  frame.delete(a);
  assertEquals(frame.get(a), undefined);
  // b is bound already: rebinding it must replace that binding, not add a
  // second one in the place a left free
  const b2 = bound(pool, "b2");
  frame.set(b, b2);
  assertStrictEquals(frame.get(b), b2);
  frame.delete(b);
  assertEquals(frame.get(b), undefined);
  const c1 = bound(pool, "c1");
  frame.set(c, c1);
  assertStrictEquals(frame.get(c), c1);
  assertEquals(frame.get(a), undefined);
});

Deno.test("Frame.close() gives back every bound object once, however many proxies are bound", async () => {
  for (const n of [0, 1, 2, 5]) {
    const frame = new Frame();
    const pool = recorder();
    const keys = Array.from({ length: n }, () => ({}));
    keys.forEach((k, i) => frame.set(k, bound(pool, i)));
    await frame.close();
    assertEquals(pool.back.toSorted(), keys.map((_, i) => i));
    assertEquals(frame.closed, true);
    for (const k of keys) assertEquals(frame.get(k), undefined);
    await frame.close(); // a second close gives nothing back again
    assertEquals(pool.back.length, n);
  }
});
