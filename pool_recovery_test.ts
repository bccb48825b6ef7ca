// How a pool recovers from failures: back-off after failed creations, check
// on borrow, lifetime with jitter. (The proofs against a real server and
// random faults are pg_test.ts and pool_model_test.ts.)
import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertNotStrictEquals,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { Pool } from "./pool.ts";
import { PoolError, TimeoutError } from "./errors.ts";
import {
  Ledger,
  nextTurn,
  type Res,
  waitFor,
  withFakeClock,
} from "./_testing.ts";

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

// ---- back-off ----

Deno.test("Pool backs off after failures: a dead factory costs few attempts, not a busy loop", async () => {
  let attempts = 0;
  await using pool = new Pool({
    fun: () => {
      attempts++;
      throw new Error("down");
    },
    minSize: 2,
    maxSize: 4,
    backoffBase: 10,
    backoffMax: 40,
  });
  const waiting = Array.from(
    { length: 4 },
    () => pool.get({ timeout: 200 }).catch((e) => e),
  );
  const errors = await Promise.all(waiting);
  // each caller gets the error of the attempt its object would have come
  // from, or times out with that error as cause
  for (const e of errors) {
    const why = e instanceof TimeoutError ? e.cause : e;
    assertInstanceOf(why, Error);
    assertEquals(why.message, "down");
  }
  // 200 ms with delays drawn up to 10, 20, 40, 40… ms: a busy loop would
  // make thousands of attempts
  assert(attempts >= 2, `attempts ${attempts}`);
  assert(attempts < 60, `attempts ${attempts}`);
});

Deno.test("Pool recovers when the factory works again, serving the waiters", async () => {
  let up = false;
  await using pool = new Pool({
    fun: (n) => {
      if (!up) throw new Error("down");
      return { n };
    },
    minSize: 0,
    maxSize: 2,
    backoffBase: 1,
    backoffMax: 5,
  });
  await assertRejects(() => pool.get(), Error, "down");
  const waiters = [pool.get(), pool.get()];
  up = true;
  const objs = await Promise.all(waiters);
  assertEquals(objs.length, 2);
  for (const o of objs) await pool.ret(o);
});

Deno.test("Pool backs off instead of spinning when check fails on new objects", async () => {
  let created = 0;
  let checks = 0;
  const pool = new Pool({
    fun: () => ({ n: created++ }),
    check: () => ++checks > 1_000, // the spin ends here if nothing else does
    checkSkip: 0,
    minSize: 0,
    maxSize: 1,
    backoffBase: 20,
    backoffMax: 20,
  });
  try {
    await assertRejects(() => pool.get({ timeout: 50 }), TimeoutError);
  } finally {
    await pool.shutdown();
  }
  assert(created < 100, `${created} objects created and checked in 50 ms`);
});

Deno.test("Pool's back-off grows while every new object fails its check, as after failed creations", async () => {
  // A server that accepts connections but cannot serve: each new object
  // fails its check. Its delays must grow (100, 200, 400, 800, 1000 ms
  // ceilings, each delay at least half of it), not restart from the first
  // ceiling because `fun` itself succeeded.
  await withFakeClock(async (clock) => {
    let created = 0;
    const pool = new Pool({
      fun: () => ({ n: created++ }),
      check: () => false,
      checkSkip: 0,
      minSize: 0,
      maxSize: 1,
      backoffBase: 100,
      backoffMax: 1_000,
      timeout: 5_000,
    });
    const waiting = pool.get().catch((e) => e);
    await nextTurn(); // the first object is made, checked and refused
    await clock.advance(2_000, nextTurn);
    // at most: 0, then after ≥ 50, 100, 200, 400, 500, 500 ms
    assert(created <= 7, `${created} objects made and refused in 2 s`);
    assert(created >= 4, `${created}: the pool gave up trying`);
    await pool.shutdown();
    assertInstanceOf(await waiting, PoolError);
  });
});
