// Pool.resize(): sizes changed while the pool runs.
import {
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { Pool } from "./pool.ts";
import { PoolError } from "./errors.ts";
import { auditedPool, Ledger } from "./_testing.ts";

Deno.test("Pool.resize() growing maxSize serves the waiters at once", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { maxSize: 1, minSize: 0 });
  const held = await pool.get();
  const waiting = [pool.get(), pool.get()];
  assertEquals(pool.nwaiting, 2);
  await pool.resize({ maxSize: 3 });
  const got = await Promise.all(waiting);
  assertEquals(ledger.created.length, 3);
  assertEquals(pool.stats().maxSize, 3);
  for (const obj of [held, ...got]) await pool.ret(obj);
});

Deno.test("Pool.resize() growing minSize creates up to it", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { maxSize: 5, minSize: 0 });
  await pool.resize({ minSize: 3 });
  await pool.fill();
  assertEquals(pool.navail, 3);
  assertEquals(pool.stats().minSize, 3);
});

Deno.test("Pool.resize() shrinking closes the least recently used idle objects first", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { maxSize: 4, minSize: 0 });
  const objs = await Promise.all([1, 2, 3, 4].map(() => pool.get()));
  for (const obj of objs) await pool.ret(obj); // objs[0] idle the longest
  await pool.resize({ maxSize: 2 });
  assertEquals(pool.nobjs, 2);
  assertEquals(ledger.closes.get(objs[0]), 1);
  assertEquals(ledger.closes.get(objs[1]), 1);
  assertEquals(ledger.closes.get(objs[2]), undefined);
  assertEquals(pool.stats().nshrunk, 2);
});

Deno.test("Pool.resize() never takes objects in use: they close as they come back, down to the new maxSize", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { maxSize: 3, minSize: 0 });
  const [a, b, c] = await Promise.all([pool.get(), pool.get(), pool.get()]);
  await pool.resize({ maxSize: 1 });
  assertEquals(pool.nusing, 3); // nothing taken from its borrower
  const waiting = pool.get();
  await pool.ret(a); // 3 objects for 1 place: closed, not handed on
  assertEquals(ledger.closes.get(a), 1);
  assertEquals(pool.nwaiting, 1);
  await pool.ret(b);
  assertEquals(ledger.closes.get(b), 1);
  await pool.ret(c); // the one that stays goes to the waiter
  assertStrictEquals(await waiting, c);
  assertEquals(ledger.closes.get(c), undefined);
  assertEquals(pool.nobjs, 1);
  await pool.ret(c);
});

Deno.test("Pool.resize() validates like the constructor, and refuses a pool shut down", async () => {
  const pool = new Pool({ fun: () => ({}), maxSize: 4, minSize: 2 });
  assertThrows(
    () => pool.resize({ maxsize: 3 } as never),
    TypeError,
    "Cannot resize pool as 'maxsize' is not an option: did you mean 'maxSize'?",
  );
  assertThrows(
    () => pool.resize({ maxSize: 1 }),
    RangeError,
    "Cannot resize pool as 'minSize' must not exceed 'maxSize' (1): current value is 2",
  );
  assertThrows(
    () => pool.resize({ minSize: -1 }),
    RangeError,
    "'minSize' must be a non-negative integer",
  );
  assertThrows(() => pool.resize(null as never), TypeError);
  assertEquals(pool.stats().maxSize, 4); // nothing changed
  await pool.shutdown();
  assertThrows(
    () => pool.resize({ maxSize: 8 }),
    PoolError,
    "as it is shut down",
  );
});

Deno.test("Pool.resize() to no limit lets every waiter have an object", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { maxSize: 1, minSize: 0 });
  const held = await pool.get();
  const waiting = Array.from({ length: 5 }, () => pool.get());
  await pool.resize({ maxSize: 0 });
  const got = await Promise.all(waiting);
  assertEquals(new Set(got).size, 5);
  for (const obj of [held, ...got]) await pool.ret(obj);
  await assertRejects(async () => {
    await pool.shutdown();
    await pool.get();
  }, PoolError);
});
