// Unit tests of the options recovery needs: check on borrow, lifetime with
// jitter. (Back-off is tested in pool_test.ts; the proofs against a real
// server and random faults are pg_test.ts and pool_model_test.ts.)
import {
  assert,
  assertEquals,
  assertFalse,
  assertNotStrictEquals,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { Pool } from "./pool.ts";
import { TimeoutError } from "./errors.ts";
import { Ledger, type Res, waitFor } from "./_testing.ts";

Deno.test("Pool check on borrow closes a dead object and hands out another within the same get", async () => {
  const ledger = new Ledger();
  const dead = new Set<number>();
  await using pool = new Pool<Res>({
    fun: (n) => ledger.make(n),
    closer: (r) => ledger.close(r),
    check: (r) => !dead.has(r.n),
    checkSkip: 0,
    minSize: 2,
    maxSize: 2,
  });
  await pool.fill();
  dead.add(0);
  dead.add(1);
  const obj = await pool.get({ timeout: 1_000 });
  assertEquals(obj.n, 2);
  assertEquals([...ledger.closes.keys()].map((r) => r.n).sort(), [0, 1]);
  const { nchecks, badChecks } = pool.stats();
  assertEquals([nchecks, badChecks], [3, 2]); // checkSkip 0: the new one too
  await pool.ret(obj);
});

Deno.test("Pool check on borrow is skipped for objects returned less than checkSkip ago", async () => {
  let checks = 0;
  await using pool = new Pool({
    fun: () => ({}),
    check: () => {
      checks++;
      return true;
    },
    checkSkip: 60_000,
    minSize: 0,
  });
  for (let i = 0; i < 5; i++) await pool.use(() => {});
  assertEquals(checks, 0);
});

Deno.test("Pool check on borrow runs for objects idle at least checkSkip", async () => {
  let checks = 0;
  await using pool = new Pool({
    fun: () => ({}),
    check: () => {
      checks++;
      return true;
    },
    checkSkip: 5,
    minSize: 1,
  });
  await pool.fill();
  await delay(10);
  await pool.use(() => {});
  assertEquals(checks, 1);
});

Deno.test("Pool check that hangs counts as failed after checkTimeout", async () => {
  const ledger = new Ledger();
  await using pool = new Pool<Res>({
    fun: (n) => ledger.make(n),
    closer: (r) => ledger.close(r),
    check: (r) => r.n === 0 ? new Promise<boolean>(() => {}) : true,
    checkSkip: 0,
    checkTimeout: 10,
    minSize: 1,
    maxSize: 1,
  });
  await pool.fill();
  const obj = await pool.get({ timeout: 2_000 });
  assertEquals(obj.n, 1);
  assertFalse(ledger.created[0].open);
  await pool.ret(obj);
});

Deno.test("Pool check on borrow respects the caller's timeout and loses nothing", async () => {
  const ledger = new Ledger();
  const verdict = Promise.withResolvers<boolean>();
  await using pool = new Pool<Res>({
    fun: (n) => ledger.make(n),
    closer: (r) => ledger.close(r),
    check: () => verdict.promise,
    checkSkip: 0,
    minSize: 1,
    maxSize: 1,
  });
  await pool.fill();
  await assertRejects(() => pool.get({ timeout: 5 }), TimeoutError);
  verdict.resolve(true);
  await waitFor(() => pool.navail === 1, "the checked object back");
  assertEquals(ledger.closes.size, 0);
});

Deno.test("Pool closes idle objects past maxLifetime and replaces them to minSize", async () => {
  const ledger = new Ledger();
  await using pool = new Pool<Res>({
    fun: (n) => ledger.make(n),
    closer: (r) => ledger.close(r),
    maxLifetime: 20,
    lifetimeJitter: 0,
    minSize: 2,
  });
  await pool.fill();
  const [a, b] = ledger.created;
  await waitFor(() => !a.open && !b.open, "both expired");
  await waitFor(() => pool.navail === 2, "two fresh objects");
  assert(pool.stats().nexpired >= 2);
});

Deno.test("Pool closes an object past maxLifetime when it comes back", async () => {
  const ledger = new Ledger();
  await using pool = new Pool<Res>({
    fun: (n) => ledger.make(n),
    closer: (r) => ledger.close(r),
    maxLifetime: 10,
    lifetimeJitter: 0,
    hkDelay: 60_000, // housekeeping will not get there first
    minSize: 0,
  });
  const obj = await pool.get();
  await delay(15);
  await pool.ret(obj);
  assertFalse(obj.open);
  const next = await pool.get();
  assertNotStrictEquals(next, obj);
  await pool.ret(next);
});

Deno.test("Pool lifetime jitter spreads the expiry of objects created together", async () => {
  const ledger = new Ledger();
  const closedAt: number[] = [];
  const start = performance.now();
  await using pool = new Pool<Res>({
    fun: (n) => ledger.make(n),
    closer: (r) => {
      ledger.close(r);
      closedAt.push(performance.now() - start);
    },
    maxLifetime: 60,
    lifetimeJitter: 50,
    hkDelay: 2,
    minSize: 8,
    maxSize: 8,
  });
  await pool.fill();
  await waitFor(() => closedAt.length >= 8, "the first generation expired");
  const first = closedAt.slice(0, 8);
  // without jitter all eight expire in the same 2 ms round
  assert(Math.max(...first) - Math.min(...first) > 4, String(first));
  assert(Math.min(...first) >= 10, String(first));
});

Deno.test("Pool never hands out an object past its lifetime", async () => {
  const ledger = new Ledger();
  await using pool = new Pool<Res>({
    fun: (n) => ledger.make(n),
    closer: (r) => ledger.close(r),
    maxLifetime: 10,
    lifetimeJitter: 0,
    hkDelay: 60_000,
    minSize: 1,
  });
  await pool.fill();
  const old = ledger.created[0];
  await delay(15);
  const obj = await pool.get();
  assertNotStrictEquals(obj, old);
  assertFalse(old.open);
  assertStrictEquals(obj.open, true);
  await pool.ret(obj);
});
