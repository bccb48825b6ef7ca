import { assertEquals, assertStrictEquals } from "@std/assert";
import { LentMap } from "./_lent.ts";
import { Slot } from "./_slot.ts";

const slot = <T>(obj: T, n: number) => new Slot(obj, n, 0, Infinity);

Deno.test("LentMap finds lent objects by identity", () => {
  const lent = new LentMap<object>();
  const a = slot({}, 0);
  const b = slot({}, 1);
  lent.add(a);
  lent.add(b);
  assertEquals(lent.size, 2);
  assertStrictEquals(lent.get(a.obj), a);
  assertStrictEquals(lent.get(b.obj), b);
  assertStrictEquals(lent.get({}), undefined);
  lent.delete(a);
  assertEquals(lent.size, 1);
  assertStrictEquals(lent.get(a.obj), undefined);
});

Deno.test("LentMap keeps equal primitives apart, removing any from its chain", () => {
  const lent = new LentMap<string>();
  const [a, b, c] = [0, 1, 2].map((n) => slot("same", n));
  lent.add(a);
  lent.add(b);
  lent.add(c);
  assertEquals(lent.size, 3);
  assertEquals(lent.slots().map((s) => s.n).toSorted(), [0, 1, 2]);
  lent.delete(b); // in the middle of the chain
  assertEquals(lent.slots().map((s) => s.n).toSorted(), [0, 2]);
  lent.delete(lent.get("same")!); // the head
  assertEquals(lent.slots().map((s) => s.n), [0]);
  lent.delete(a);
  assertEquals(lent.size, 0);
  assertStrictEquals(lent.get("same"), undefined);
  assertEquals(lent.slots(), []);
});

Deno.test("LentMap.slots() is a copy: deleting while walking it is safe", () => {
  const lent = new LentMap<number>();
  for (let n = 0; n < 5; n++) lent.add(slot(n % 2, n));
  for (const s of lent.slots()) lent.delete(s);
  assertEquals(lent.size, 0);
  assertEquals(lent.slots(), []);
});

Deno.test("LentMap finds only lent slots, in lending order, for objects looked up by identity", () => {
  const lent = new LentMap<object>();
  const [a, b, c] = [0, 1, 2].map((n) => slot({ n }, n));
  lent.add(b);
  lent.add(a);
  lent.add(c);
  assertEquals(lent.slots().map((s) => s.n), [1, 0, 2]);
  lent.delete(a);
  assertStrictEquals(lent.get(a.obj), undefined); // known, but not lent
  assertEquals(lent.slots().map((s) => s.n), [1, 2]);
  lent.add(a); // lent again: found again, now last
  assertStrictEquals(lent.get(a.obj), a);
  assertEquals(lent.slots().map((s) => s.n), [1, 2, 0]);
  lent.delete(a);
  lent.delete(a); // twice: nothing more
  assertEquals(lent.size, 2);
});

Deno.test("LentMap keeps two slots of one object apart, and forgets a closed one", () => {
  const shared = { shared: true };
  const lent = new LentMap<object>();
  const a = slot(shared, 0);
  const b = slot(shared, 1);
  lent.add(a);
  lent.add(b);
  assertEquals(lent.size, 2);
  const first = lent.get(shared)!;
  lent.delete(first);
  const second = lent.get(shared)!;
  assertEquals([first.n, second.n].toSorted(), [0, 1]);
  lent.delete(second);
  assertStrictEquals(lent.get(shared), undefined);
  // the object outlives its slots: each closed slot is forgotten, so a
  // pool that makes and closes it again and again keeps no chain
  lent.forget(a);
  lent.forget(b);
  for (let n = 2; n < 100; n++) {
    const s = slot(shared, n);
    lent.add(s);
    assertStrictEquals(lent.get(shared), s);
    lent.forget(s);
    assertStrictEquals(s.dup, undefined);
  }
  assertStrictEquals(lent.get(shared), undefined);
  assertEquals(lent.size, 0);
});
