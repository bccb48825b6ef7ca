import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { Pool, type PoolOptions } from "./pool.ts";
import { PoolError, TimeoutError } from "./errors.ts";
import {
  auditedPool,
  FakeClock,
  Ledger,
  nextTurn,
  type Res,
  settle,
  text,
  waitFor,
  withFakeClock,
  withLogs,
} from "./_testing.ts";

// ---- options ----

Deno.test("new Pool() rejects bad options with TypeError or RangeError", () => {
  const fun = () => ({});
  const cases: [unknown, ErrorConstructor, string][] = [
    [
      {},
      TypeError,
      "Cannot create pool as 'fun' must be a function: current value is undefined",
    ],
    [
      { fun: "connect" },
      TypeError,
      `Cannot create pool as 'fun' must be a function: current value is "connect"`,
    ],
    [
      { fun, maxSize: -1 },
      RangeError,
      "Cannot create pool as 'maxSize' must be a non-negative integer: current value is -1",
    ],
    [
      { fun, minSize: 1.5 },
      RangeError,
      "Cannot create pool as 'minSize' must be a non-negative integer: current value is 1.5",
    ],
    [
      { fun, maxSize: 2, minSize: 3 },
      RangeError,
      "Cannot create pool as 'minSize' must not exceed 'maxSize' (2): current value is 3",
    ],
    [
      { fun, maxUse: "3" },
      TypeError,
      `Cannot create pool as 'maxUse' must be a number: current value is "3"`,
    ],
    [
      { fun, timeout: -5 },
      RangeError,
      "Cannot create pool as 'timeout' must be a finite non-negative number of milliseconds: current value is -5",
    ],
    [
      { fun, maxAvailDelay: NaN },
      RangeError,
      "Cannot create pool as 'maxAvailDelay' must be a finite non-negative number of milliseconds: current value is NaN",
    ],
    [
      { fun, healthFreq: 0 },
      RangeError,
      "Cannot create pool as 'healthFreq' must be an integer >= 1: current value is 0",
    ],
    [
      { fun, closer: "close" },
      TypeError,
      `Cannot create pool as 'closer' must be a function: current value is "close"`,
    ],
    [
      { fun, logLevel: "loud" },
      TypeError,
      "Cannot create pool as 'logLevel' must be a LogTape level: current value is \"loud\"",
    ],
    [
      { fun, health: () => true, hkDelay: 0 },
      RangeError,
      "Cannot create pool as 'hkDelay' must be positive when 'health' is set: current value is 0",
    ],
    [
      { fun, maxLifetime: 100, lifetimeJitter: 100 },
      RangeError,
      "Cannot create pool as 'lifetimeJitter' must be less than 'maxLifetime' (100): current value is 100",
    ],
    [
      null,
      TypeError,
      "Cannot create pool as 'options' must be an object: current value is null",
    ],
  ];
  for (const [options, ErrorClass, message] of cases) {
    assertThrows(
      () => new Pool(options as PoolOptions<unknown>),
      ErrorClass,
      message,
    );
  }
});

Deno.test("Pool.get() rejects a bad per-call timeout without side effects", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger);
  await assertRejects(
    () => pool.get({ timeout: -1 }),
    RangeError,
    "Cannot get an object as 'timeout' must be a finite non-negative number of milliseconds: current value is -1",
  );
  assertEquals(ledger.created.length, 0);
});

Deno.test("Pool defaults are safe: 10 objects at most, a 30 s wait", async () => {
  await using pool = new Pool({ fun: () => ({}) });
  await pool.fill();
  const s = pool.stats();
  assertEquals(
    [s.maxSize, s.minSize, s.maxUse, s.timeout, s.hkDelay, s.healthFreq],
    [10, 1, 0, 30_000, 0, 1],
  );
  assertEquals(s.navail, 1);
});

Deno.test("Pool takes Python's defaults when asked: maxSize 0 is no limit, timeout Infinity waits forever", async () => {
  await using pool = new Pool({
    fun: () => ({}),
    maxSize: 0,
    timeout: Infinity,
  });
  const held = await Promise.all(Array.from({ length: 50 }, () => pool.get()));
  assertEquals(pool.nobjs, 50);
  const s = pool.stats();
  assertEquals([s.maxSize, s.timeout], [0, null]);
  assertEquals(JSON.parse(String(pool)).timeout, null);
  await Promise.all(held.map((obj) => pool.ret(obj)));
});

Deno.test("Pool housekeeping delay defaults to half the smallest delay, or 60 s with health", async () => {
  const fun = () => ({});
  const cases: [Partial<PoolOptions<object>>, number][] = [
    [{ maxAvailDelay: 400, maxUsingDelay: 1_000 }, 200],
    [{ maxUsingDelayKill: 300 }, 150],
    [{ maxAvailDelay: 400, hkDelay: 50 }, 50],
    [{ health: () => true }, 60_000],
    [{}, 0],
  ];
  for (const [options, hkDelay] of cases) {
    await using pool = new Pool({ fun, minSize: 0, ...options });
    assertEquals(pool.stats().hkDelay, hkDelay);
  }
});

// ---- never more than maxSize ----

Deno.test("Pool never has more than maxSize objects, counting those being created", async () => {
  const ledger = new Ledger();
  await using pool = new Pool<Res>({
    fun: async (n) => {
      ledger.begin();
      await delay(n % 3);
      return ledger.make(n);
    },
    closer: (r) => ledger.close(r),
    maxSize: 3,
    minSize: 2,
  });
  const work = Array.from({ length: 40 }, (_, i) =>
    pool.use(async () => {
      assert(pool.nobjs + pool.ncreating <= 3);
      await delay(i % 4);
    }));
  await Promise.all(work);
  assertEquals(ledger.maxAlive, 3);
  assertEquals(pool.nobjs, 3);
});

// ---- FIFO, direct hand-off ----

Deno.test("Pool serves waiters first come, first served, handing a returned object straight to the oldest", async () => {
  await using pool = new Pool({ fun: (n) => ({ n }), maxSize: 1, minSize: 0 });
  const held = await pool.get();
  const order: number[] = [];
  const waiters = [0, 1, 2].map((i) =>
    pool.get().then(async (obj) => {
      order.push(i);
      assertStrictEquals(obj, held);
      await pool.ret(obj);
    })
  );
  assertEquals(pool.nwaiting, 3);
  await pool.ret(held);
  // handed over, never parked as available
  assertEquals(pool.navail, 0);
  await Promise.all(waiters);
  assertEquals(order, [0, 1, 2]);
  assertEquals(pool.navail, 1);
});

Deno.test("Pool.get() creates an object when there is room and none is available", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { maxSize: 2 });
  const a = await pool.get();
  const b = await pool.get();
  assert(a !== b);
  assertEquals(ledger.created, [a, b]);
  await pool.ret(a);
  await pool.ret(b);
});

Deno.test("Pool.get() waits for a background creation under way rather than starting another", async () => {
  const ledger = new Ledger();
  const gate = Promise.withResolvers<void>();
  await using pool = new Pool<Res>({
    fun: async (n) => {
      await gate.promise;
      return ledger.make(n);
    },
    minSize: 1,
    maxSize: 4,
  });
  assertEquals(pool.ncreating, 1); // the fill, started by the constructor
  const first = pool.get();
  assertEquals([pool.ncreating, pool.nwaiting], [1, 1]);
  // timeout 0 never queues: it creates its own, since there is room
  const impatient = pool.get({ timeout: 0 });
  assertEquals(pool.ncreating, 2);
  gate.resolve();
  assertEquals((await first).n, 0);
  assertEquals((await impatient).n, 1);
  await pool.ret(await first);
  await pool.ret(await impatient);
});

// ---- timeouts and aborts ----

Deno.test("Pool.get() rejects with TimeoutError when the pool stays full", async () => {
  await using pool = new Pool({ fun: () => ({}), maxSize: 1, minSize: 0 });
  const held = await pool.get();
  const error = await assertRejects(
    () => pool.get({ timeout: 5 }),
    TimeoutError,
    "Cannot get an object from pool",
  );
  assertEquals(error.name, "TimeoutError");
  assertEquals(error.cause, undefined);
  assertEquals(pool.nwaiting, 0);
  await pool.ret(held);
  assertEquals(pool.navail, 1);
});

Deno.test("Pool.get() takes the pool's timeout unless the call gives one", async () => {
  await using pool = new Pool({
    fun: () => ({}),
    maxSize: 1,
    minSize: 0,
    timeout: 5,
  });
  const held = await pool.get();
  await assertRejects(() => pool.get(), TimeoutError, "within 5 ms");
  const patient = pool.get({ timeout: Infinity });
  await delay(10);
  assertEquals(pool.nwaiting, 1);
  await pool.ret(held);
  assertStrictEquals(await patient, held);
  await pool.ret(held);
});

Deno.test("Pool waiters with different timeouts each time out at their own deadline, on one timer", async () => {
  await withFakeClock(async (clock) => {
    const pool = new Pool({ fun: () => ({}), maxSize: 1, minSize: 0 });
    const held = await pool.get();
    const timers = clock.poolTimers();
    const rejected: string[] = [];
    const wait = (timeout: number) =>
      pool.get({ timeout }).catch((e: TimeoutError) => {
        rejected.push(`${timeout} ms at +${clock.now - 1_000}`);
        assertInstanceOf(e, TimeoutError);
        assertEquals(e.message.includes(`within ${timeout} ms`), true);
      });
    const waits = [wait(30), wait(10), wait(20), wait(10)];
    for (let i = 0; i < 100; i++) waits.push(wait(50));
    // one timer for all 104 callers, not one each
    assertEquals(clock.poolTimers(), timers + 1);
    await clock.advance(29, nextTurn);
    assertEquals(rejected, ["10 ms at +10", "10 ms at +10", "20 ms at +20"]);
    assertEquals(pool.nwaiting, 101);
    await clock.advance(30, nextTurn);
    await Promise.all(waits);
    assertEquals(rejected.length, 104);
    assertEquals(rejected[3], "30 ms at +30");
    assertEquals(rejected[103], "50 ms at +50");
    assertEquals(pool.stats().ntimeouts, 104);
    await pool.ret(held);
    await pool.shutdown();
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool.get() never times out early after a long synchronous stretch, while an earlier deadline holds the timer", async () => {
  await withFakeClock(async (clock) => {
    const pool = new Pool({ fun: () => ({}), maxSize: 1, minSize: 0 });
    const held = await pool.get(); // the pool reads the clock: +0
    const outcome: string[] = [];
    const wait = (name: string, timeout: number) =>
      pool.get({ timeout }).catch(() =>
        outcome.push(`${name} at +${clock.now - 1_000}`)
      );
    const first = wait("first", 60); // arms the timer for +60
    clock.now += 50; // 50 ms of code without the event loop turning
    const second = wait("second", 100); // due at +150, not at +100
    await clock.advance(60, nextTurn);
    assertEquals(outcome, ["first at +60"]);
    await clock.advance(39, nextTurn); // +149
    assertEquals(outcome, ["first at +60"]);
    await clock.advance(1, nextTurn);
    await Promise.all([first, second]);
    assertEquals(outcome, ["first at +60", "second at +150"]);
    await pool.ret(held);
    await pool.shutdown();
  });
});

Deno.test("Pool durations beyond the longest timer delay never fire after 1 ms: get() timeout, hkDelay, shutdown grace", async () => {
  const clock = new FakeClock(); // like Deno: a delay over 2^31 − 1 ms is 1 ms
  const restore = clock.install();
  const month = 30 * 86_400_000;
  try {
    const ledger = new Ledger();
    const pool = auditedPool(ledger, { maxSize: 1, hkDelay: month });
    const held = await pool.get();
    const waiting = pool.get({ timeout: month });
    await clock.advance(10, nextTurn);
    assertEquals(pool.nwaiting, 1);
    assertEquals(pool.stats().hkRounds, 0);
    const shutdown = pool.shutdown({ grace: month });
    await assertRejects(() => waiting, PoolError);
    await clock.advance(10, nextTurn);
    assertEquals(held.open, true); // still within its grace
    await pool.ret(held);
    await shutdown;
    assertEquals(ledger.closes.get(held), 1);
  } finally {
    restore();
  }
});

Deno.test("Pool.get() with timeout 0 never queues but may create", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { maxSize: 1 });
  const created = await pool.get({ timeout: 0 });
  assertEquals(ledger.created, [created]);
  await assertRejects(
    () => pool.get({ timeout: 0 }),
    TimeoutError,
    "as none is idle and no creation may start, and 'timeout' is 0 (never waits): all 1 objects are in use (maxSize 1)",
  );
  assertEquals(pool.nwaiting, 0);
  await pool.ret(created);
});

Deno.test("Pool waiter that times out leaves the queue at once and never gets an object", async () => {
  await using pool = new Pool({ fun: (n) => ({ n }), maxSize: 1, minSize: 0 });
  const held = await pool.get();
  const early = pool.get({ timeout: 5 });
  const late = pool.get();
  assertEquals(pool.nwaiting, 2);
  await assertRejects(() => early, TimeoutError);
  assertEquals(pool.nwaiting, 1);
  await pool.ret(held);
  // the object skipped the caller that gave up
  assertStrictEquals(await late, held);
  await pool.ret(held);
  assertEquals(pool.stats().ntimeouts, 1);
});

Deno.test("Pool.get() aborted through its signal rejects with signal.reason and leaves the queue", async () => {
  await using pool = new Pool({ fun: () => ({}), maxSize: 1, minSize: 0 });
  const held = await pool.get();
  const controller = new AbortController();
  const aborted = pool.get({ signal: controller.signal });
  const next = pool.get();
  const reason = new Error("client went away");
  controller.abort(reason);
  const error = await assertRejects(() => aborted);
  assertStrictEquals(error, reason);
  assertEquals(pool.nwaiting, 1);
  await pool.ret(held);
  assertStrictEquals(await next, held);
  await pool.ret(held);
  assertEquals(pool.stats().naborts, 1);
});

Deno.test("Pool.get() with an already-aborted signal rejects before creating anything", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger);
  const reason = new DOMException("stop", "AbortError");
  const error = await assertRejects(() =>
    pool.get({ signal: AbortSignal.abort(reason) })
  );
  assertStrictEquals(error, reason);
  assertEquals(ledger.created.length, 0);
  assertEquals(pool.ncreating, 0);
});

Deno.test("Pool caller that gives up while its object is being created does not lose it", async () => {
  const ledger = new Ledger();
  const gate = Promise.withResolvers<void>();
  await using pool = new Pool<Res>({
    fun: async (n) => {
      ledger.begin();
      await gate.promise;
      return ledger.make(n);
    },
    closer: (r) => ledger.close(r),
    maxSize: 1,
    minSize: 0,
  });
  const controller = new AbortController();
  const first = pool.get({ signal: controller.signal });
  controller.abort();
  await assertRejects(() => first);
  assertEquals(pool.ncreating, 1);
  gate.resolve();
  await waitFor(() => pool.navail === 1, "the object to become available");
  assertEquals(pool.nusing, 0);
});

Deno.test("Pool waiter's signal listener and timer are removed once served", async () => {
  await using pool = new Pool({ fun: () => ({}), maxSize: 1, minSize: 0 });
  const held = await pool.get();
  const controller = new AbortController();
  const next = pool.get({ timeout: 60_000, signal: controller.signal });
  await pool.ret(held);
  await next;
  // the 60 s timer was cleared (else the ops sanitizer fails this test),
  // and a late abort does nothing
  controller.abort();
  await pool.ret(held);
  assertEquals(pool.stats().naborts, 0);
});

// ---- failing factory ----

Deno.test("Pool.get() fails with the error of fun and costs no capacity", async () => {
  let fail = true;
  await using pool = new Pool({
    fun: (n) => {
      if (fail) throw new Error(`connect refused (${n})`);
      return { n };
    },
    maxSize: 1,
    minSize: 0,
    backoffBase: 0,
  });
  await assertRejects(() => pool.get(), Error, "connect refused (0)");
  assertEquals(pool.ncreating, 0);
  fail = false;
  const obj = await pool.get();
  assertEquals(pool.nobjs, 1);
  await pool.ret(obj);
});

Deno.test("Pool.get() fails with the rejection of an async fun", async () => {
  await using pool = new Pool({
    fun: () => Promise.reject(new TypeError("bad dsn")),
    minSize: 0,
  });
  await assertRejects(() => pool.get(), TypeError, "bad dsn");
  assertEquals(pool.stats().ncreateErrors, 1);
  assertEquals(pool.stats().lastCreateError, "bad dsn");
});

Deno.test("new Pool() never throws when filling minSize fails; it logs, counts and retries", async () => {
  let calls = 0;
  await withLogs(async (records) => {
    await using pool = new Pool({
      fun: () => {
        if (calls++ < 2) throw new Error("server starting");
        return {};
      },
      minSize: 1,
      backoffBase: 1,
      backoffMax: 2,
    });
    await waitFor(() => pool.navail === 1, "the fill to succeed");
    assertEquals(pool.stats().ncreateErrors, 2);
    assert(
      records.some((r) =>
        r.level === "error" && text(r).includes("server starting")
      ),
    );
  });
});

Deno.test("Pool passes fun a unique number per call, in call order, under concurrency", async () => {
  const seen: number[] = [];
  await using pool = new Pool({
    fun: async (n) => {
      seen.push(n);
      await delay(n % 2);
      if (n % 5 === 4) throw new Error("flaky");
      return { n };
    },
    minSize: 3,
    backoffBase: 0,
  });
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, () => pool.get()),
  );
  await pool.fill();
  assertEquals(seen, seen.map((_, i) => i));
  for (const r of results) {
    if (r.status === "fulfilled") await pool.ret(r.value);
  }
});

Deno.test("Pool TimeoutError carries the last creation error as cause", async () => {
  const refused = new Error("connection refused");
  let first = true;
  await using pool = new Pool({
    fun: () => {
      if (first) {
        first = false;
        return {};
      }
      throw refused;
    },
    maxSize: 2,
    minSize: 0,
    backoffBase: 1_000,
    backoffMax: 1_000,
  });
  const held = await pool.get();
  // a failed creation fails the caller its object would have gone to
  await assertRejects(() => pool.get(), Error, "connection refused");
  // the next attempt is a back-off delay away: a caller that cannot wait
  // that long times out, told why
  const error = await assertRejects(
    () => pool.get({ timeout: 20 }),
    TimeoutError,
    "creating objects failed (last: connection refused), see cause",
  );
  assertStrictEquals(error.cause, refused);
  await pool.ret(held);
});

// ---- maxUse ----

Deno.test("Pool closes an object on return after maxUse uses", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { maxUse: 2, maxSize: 1 });
  const a = await pool.get();
  await pool.ret(a);
  assertStrictEquals(await pool.get(), a);
  await pool.ret(a);
  assertFalse(a.open);
  const b = await pool.get();
  assert(b !== a);
  await pool.ret(b);
  assertEquals(pool.stats().nwornout, 1);
  assertEquals(ledger.doubleCloses(), []);
});

Deno.test("Pool closes a worn-out object returned while a caller waits, and creates for the caller", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { maxUse: 1, maxSize: 1 });
  const a = await pool.get();
  const waiting = pool.get();
  await pool.ret(a);
  assertFalse(a.open);
  const b = await waiting;
  assert(b !== a && b.open);
  await pool.ret(b);
});

// ---- maxAvailDelay ----

Deno.test("Pool closes objects idle longer than maxAvailDelay, down to minSize", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { minSize: 1, maxAvailDelay: 20 });
  await pool.fill();
  const objs = await Promise.all([pool.get(), pool.get(), pool.get()]);
  for (const o of objs) await pool.ret(o);
  assertEquals(pool.navail, 3);
  await waitFor(() => pool.stats().nrecycled === 2, "two idle objects closed");
  assertEquals(pool.nobjs, 1);
  assertEquals(ledger.closes.size, 2);
});

// ---- maxUsingDelay ----

Deno.test("Pool warns about objects held longer than maxUsingDelay", async () => {
  await withLogs(async (records) => {
    await using pool = new Pool({
      fun: () => ({}),
      minSize: 0,
      maxUsingDelay: 10,
      tracer: () => "conn-A",
    });
    const obj = await pool.get();
    await waitFor(
      () =>
        records.some((r) =>
          r.level === "warning" && text(r).includes("conn-A held for")
        ),
      "a warning about conn-A",
    );
    await pool.ret(obj);
    assertEquals(pool.stats().nkilled, 0);
  });
});

Deno.test("Pool takes back objects held past maxUsingDelayKill; their late return is ignored", async () => {
  const ledger = new Ledger();
  await withLogs(async (records) => {
    await using pool = auditedPool(ledger, {
      maxSize: 1,
      maxUsingDelayKill: 10,
    });
    const leaked = await pool.get();
    await waitFor(() => pool.stats().nkilled === 1, "the kill");
    await waitFor(() => !leaked.open, "the closer");
    // its slot is free again
    const fresh = await pool.get({ timeout: 1_000 });
    assert(fresh !== leaked);
    await pool.ret(leaked);
    assertEquals(ledger.closes.get(leaked), 1);
    assert(
      records.some((r) =>
        text(r).includes("taken back after maxUsingDelayKill")
      ),
    );
    await pool.ret(fresh);
  });
  assertEquals(ledger.doubleCloses(), []);
});

// ---- health ----

Deno.test("Pool health checks close unhealthy, throwing and hung objects", async () => {
  const ledger = new Ledger();
  const verdicts = new Map<number, () => boolean | Promise<boolean>>([
    [0, () => true],
    [1, () => false],
    [2, () => {
      throw new Error("ping failed");
    }],
    [3, () => new Promise<boolean>(() => {})], // hangs forever
  ]);
  await using pool = auditedPool(ledger, {
    minSize: 4,
    maxSize: 4,
    hkDelay: 10,
    health: (r) => verdicts.get(r.n)?.() ?? true,
  });
  await pool.fill();
  await waitFor(() => pool.stats().badHealth === 3, "three bad checks");
  const closed = [...ledger.closes.keys()].map((r) => r.n).sort();
  assertEquals(closed, [1, 2, 3]);
  assert(pool.stats().hcErrors >= 2); // the throw and the hang
  await waitFor(() => pool.nobjs === 4, "the refill to minSize");
});

Deno.test("Pool does not hand out an object while its health check runs", async () => {
  await withFakeClock(async (clock) => {
    const checking = Promise.withResolvers<void>();
    const verdict = Promise.withResolvers<boolean>();
    const pool = new Pool({
      fun: (n) => ({ n }),
      minSize: 1,
      maxSize: 1,
      hkDelay: 50,
      health: () => {
        checking.resolve();
        return verdict.promise;
      },
    });
    await pool.fill();
    await clock.advance(50, nextTurn); // the first round starts its check
    await checking.promise;
    assertEquals(pool.navail, 0);
    let got = false;
    const get = pool.get().then((o) => {
      got = true;
      return o;
    });
    await clock.advance(49, nextTurn); // the check is still within hkDelay
    assertFalse(got);
    verdict.resolve(true);
    const obj = await get;
    assertEquals(obj.n, 0);
    await pool.ret(obj);
    await pool.shutdown();
  });
});

Deno.test("Pool runs health checks every healthFreq rounds", async () => {
  let checks = 0;
  await using pool = new Pool({
    fun: () => ({}),
    minSize: 1,
    hkDelay: 2,
    healthFreq: 3,
    health: () => {
      checks++;
      return true;
    },
  });
  await waitFor(() => pool.stats().hkRounds >= 9, "nine rounds");
  const { hkRounds, hcRounds } = pool.stats();
  assertEquals(hcRounds, Math.floor(hkRounds / 3));
  assert(checks >= 3);
});

// ---- minSize kept ----

Deno.test("Pool refills to minSize after a removal", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { minSize: 2, maxUse: 1 });
  await pool.fill();
  const a = await pool.get();
  await pool.ret(a); // worn out, closed
  await waitFor(() => pool.navail === 2, "two available again");
  assertEquals(ledger.created.length, 3);
});

Deno.test("Pool refill never overshoots minSize", async () => {
  const ledger = new Ledger();
  await using pool = new Pool<Res>({
    fun: async (n) => {
      ledger.begin();
      await delay(2);
      return ledger.make(n);
    },
    minSize: 2,
  });
  await Promise.all([pool.fill(), pool.fill(), pool.fill()]);
  assertEquals(ledger.created.length, 2);
});

// ---- bad returns ----

Deno.test("Pool ignores, logs and counts double and foreign returns", async () => {
  let retters = 0;
  await withLogs(async (records) => {
    await using pool = new Pool({
      fun: () => ({}),
      minSize: 0,
      retter: () => {
        retters++;
      },
    });
    const obj = await pool.get();
    await pool.ret(obj);
    await pool.ret(obj);
    await pool.ret({});
    assertEquals(retters, 1);
    assertEquals(pool.stats().nbadReturns, 2);
    assertEquals(pool.navail, 1);
    const warnings = records.filter((r) => r.level === "warning").map(text);
    assertEquals(warnings.length, 2);
    assert(warnings[0].includes("returned twice, or never lent"));
  });
});

Deno.test("Pool tracks objects by identity: equal primitives never leak a slot", async () => {
  await using pool = new Pool({ fun: () => "same", maxSize: 2, minSize: 0 });
  const a = await pool.get();
  const b = await pool.get();
  assertEquals([a, b], ["same", "same"]);
  assertEquals(pool.nusing, 2);
  await pool.ret(a);
  await pool.ret(b);
  await pool.ret(b); // a third return of "same": only two were lent
  assertEquals([pool.navail, pool.nusing, pool.nobjs], [2, 0, 2]);
  for (let i = 0; i < 5; i++) {
    const x = await pool.get({ timeout: 100 });
    const y = await pool.get({ timeout: 100 });
    await pool.ret(x);
    await pool.ret(y);
  }
  assertEquals(pool.stats().ncreated, 2);
});

// ---- housekeeping timer ----

Deno.test("Pool housekeeping timer does not keep the process alive", async () => {
  const code = `
    import { Pool } from "${new URL("./pool.ts", import.meta.url)}";
    const pool = new Pool({ fun: () => ({}), maxAvailDelay: 60_000, health: () => true });
    await pool.fill();
    console.log("started", pool.stats().hkDelay);
  `;
  const { code: status, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--config",
      new URL("./deno.json", import.meta.url).pathname,
      code,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assertEquals(status, 0);
  assertEquals(new TextDecoder().decode(stdout).trim(), "started 30000");
});

Deno.test("Pool without delay options or health runs no timer", async () => {
  await using pool = new Pool({ fun: () => ({}), minSize: 1 });
  await pool.fill();
  assertEquals(pool.stats().hkDelay, 0);
  await delay(5);
  assertEquals(pool.stats().hkRounds, 0);
});

// ---- shutdown ----

Deno.test("Pool.shutdown() rejects waiters, closes everything once, and is idempotent", async () => {
  const ledger = new Ledger();
  const pool = auditedPool(ledger, { maxSize: 2, hkDelay: 5 });
  const a = await pool.get();
  const b = await pool.get();
  await pool.ret(b);
  const held = await pool.get();
  assertStrictEquals(held, b);
  const waiter = pool.get();
  assertEquals(pool.nwaiting, 1);
  const first = pool.shutdown();
  const second = pool.shutdown();
  assertStrictEquals(first, second);
  await assertRejects(() => waiter, PoolError, "as it is shutting down");
  await first;
  assertEquals(pool.nobjs, 0);
  assertEquals(ledger.alive, 0);
  assertEquals([a.open, b.open], [false, false]);
  assertEquals(ledger.doubleCloses(), []);
  await assertRejects(() => pool.get(), PoolError, "as it is shut down");
  await pool.ret(a); // ignored, not closed twice
  assertEquals(ledger.doubleCloses(), []);
  assertEquals(pool.stats().shutdown, true);
});

Deno.test("Pool.shutdown() waits up to grace for borrowed objects, closing each as it returns", async () => {
  const ledger = new Ledger();
  const pool = auditedPool(ledger, { maxSize: 2 });
  const a = await pool.get();
  const b = await pool.get();
  const done = pool.shutdown({ grace: 5_000 });
  await settle();
  assert(a.open && b.open);
  await pool.ret(a);
  assertFalse(a.open);
  assert(b.open);
  await pool.ret(b);
  await done;
  assertEquals(ledger.alive, 0);
  assertEquals(ledger.doubleCloses(), []);
});

Deno.test("Pool.shutdown() closes objects still borrowed after grace, with a warning", async () => {
  const ledger = new Ledger();
  await withLogs(async (records) => {
    const pool = auditedPool(ledger, { maxSize: 2 });
    const a = await pool.get();
    await pool.shutdown({ grace: 5 });
    assertFalse(a.open);
    assert(
      records.some((r) =>
        r.level === "warning" && text(r).includes("still in use at shutdown")
      ),
    );
    await pool.ret(a);
  });
  assertEquals(ledger.alive, 0);
  assertEquals(ledger.doubleCloses(), []);
});

Deno.test("Pool.shutdown() closes objects whose creation was in flight", async () => {
  const ledger = new Ledger();
  const gate = Promise.withResolvers<void>();
  const pool = new Pool<Res>({
    fun: async (n) => {
      ledger.begin();
      await gate.promise;
      return ledger.make(n);
    },
    closer: (r) => ledger.close(r),
    minSize: 2,
  });
  const done = pool.shutdown();
  gate.resolve();
  await done;
  assertEquals(ledger.created.length, 2);
  assertEquals(ledger.alive, 0);
});

Deno.test("Pool.shutdown() rejects callers whose object was still in check, getter or creation", async () => {
  const ledger = new Ledger();
  const gate = Promise.withResolvers<void>();
  const started = { check: false, getter: false, fun: false };
  const pool = new Pool<Res>({
    fun: async (n) => {
      ledger.begin();
      if (n > 1) {
        started.fun = true;
        await gate.promise;
      }
      return ledger.make(n);
    },
    closer: (r) => ledger.close(r),
    check: async (r) => {
      if (r.n !== 0) return true;
      started.check = true;
      await gate.promise;
      return false;
    },
    getter: async (r) => {
      if (r.n === 1) {
        started.getter = true;
        await gate.promise;
      }
    },
    checkSkip: 0,
    minSize: 2,
  });
  await pool.fill();
  // (available objects are a stack) object 1 runs a slow getter, object 0
  // a slow check that fails, and a third caller waits on a creation
  const inGetter = pool.get();
  const inCheck = pool.get();
  const inCreation = pool.get();
  await waitFor(
    () => started.check && started.getter && started.fun,
    "all three to be under way",
  );
  const done = pool.shutdown();
  gate.resolve();
  for (const p of [inCheck, inGetter, inCreation]) {
    await assertRejects(() => p, PoolError, "shut");
  }
  await done;
  assertEquals(ledger.alive, 0);
  assertEquals(ledger.doubleCloses(), []);
});

Deno.test("Pool is disposed by await using", async () => {
  const ledger = new Ledger();
  {
    await using pool = auditedPool(ledger, { minSize: 2 });
    await pool.fill();
  }
  assertEquals(ledger.alive, 0);
  assertEquals(ledger.closes.size, 2);
});

// ---- discard ----

Deno.test("Pool.ret() with discard closes the object, frees its slot, and never lends it again", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger, { maxSize: 1 });
  const obj = await pool.get();
  const waiting = pool.get({ timeout: 1_000 }); // queued behind the only slot
  await pool.ret(obj, { discard: true });
  assertEquals(ledger.closes.get(obj), 1);
  const next = await waiting;
  assert(next !== obj);
  assertEquals(next.n, 1);
  const s = pool.stats();
  assertEquals([s.ndiscards, s.ndestroys, s.nobjs], [1, 1, 1]);
  await pool.ret(obj); // a late return of the discarded object is ignored
  assertEquals(pool.stats().nbadReturns, 1);
  await pool.ret(next);
});

Deno.test("Pool.ret() with discard: false takes the object back as usual", async () => {
  await using pool = new Pool({ fun: () => ({}), minSize: 0 });
  const obj = await pool.get();
  await pool.ret(obj, { discard: false });
  assertStrictEquals(await pool.get(), obj);
  await pool.ret(obj);
});

Deno.test("Pool.ret() rejects bad options and keeps the object lent", async () => {
  await using pool = new Pool({ fun: () => ({}), minSize: 0 });
  const obj = await pool.get();
  await assertRejects(
    () => pool.ret(obj, { discard: "yes" as unknown as boolean }),
    TypeError,
    `Cannot return an object as 'discard' must be a boolean: current value is "yes"`,
  );
  assertEquals(pool.nusing, 1);
  await pool.ret(obj);
});

Deno.test("Lease.discard() closes the object; the end of the block does nothing more", async () => {
  const ledger = new Ledger();
  await using pool = auditedPool(ledger);
  let leased: Res | undefined;
  {
    await using lease = await pool.lease();
    leased = lease.obj;
    await lease.discard();
    await lease.discard(); // once only
  }
  assertEquals(ledger.closes.get(leased), 1);
  assertEquals([pool.nobjs, pool.stats().ndiscards], [0, 1]);
});

// ---- use and lease ----

Deno.test("Pool.use() returns the object even when the body throws", async () => {
  await using pool = new Pool({ fun: () => ({}), maxSize: 1, minSize: 0 });
  await assertRejects(
    () =>
      pool.use(() => {
        throw new Error("query failed");
      }),
    Error,
    "query failed",
  );
  assertEquals([pool.nusing, pool.navail], [0, 1]);
  assertEquals(await pool.use(() => 42), 42);
});

Deno.test("Pool.lease() returns the object at the end of an await using block, even on throw", async () => {
  await using pool = new Pool({ fun: () => ({}), maxSize: 1, minSize: 0 });
  await assertRejects(async () => {
    await using lease = await pool.lease();
    assertEquals(pool.nusing, 1);
    assert(lease.obj);
    throw new Error("handler failed");
  });
  assertEquals([pool.nusing, pool.navail], [0, 1]);
  const lease = await pool.lease();
  await lease.release();
  await lease.release(); // once only
  await lease[Symbol.asyncDispose]();
  assertEquals(pool.stats().nbadReturns, 0);
});

// ---- stats ----

Deno.test("Pool.stats() has the Python keys, JSON-compatible, with null for unset values", async () => {
  await using pool = new Pool({
    fun: (n) => ({ n }),
    minSize: 1,
    timeout: Infinity,
    tracer: (o) => `obj ${o.n}`,
    stats: (o) => ({ n: o.n }),
  });
  await pool.fill();
  const held = await pool.get();
  const s = pool.stats();
  const keys =
    "id started minSize maxSize maxUse timeout hkDelay maxAvailDelay maxUsingDelayKill maxUsingDelayWarn healthFreq now navail nusing nwaiting running relHkLast timePerHk shutdown avail using nobjs ncreated ncreating nuses nkilled nrecycled nwornout nborrows nreturns ndestroys nhealth badHealth hkRounds hkErrors hcRounds hcErrors"
      .split(" ");
  for (const k of keys) assert(k in s, `missing ${k}`);
  assertEquals(JSON.parse(JSON.stringify(s)), s);
  assertEquals(s.timeout, null);
  assertEquals(s.relHkLast, null);
  assertEquals(s.using.length, 1);
  assertEquals(s.using[0].trace, "obj 0");
  assertEquals(s.using[0].stats, { n: 0 });
  const parsed = JSON.parse(String(pool));
  assertEquals(Object.keys(parsed), Object.keys(s));
  assertEquals({ ...parsed, now: 0, running: 0, using: [] }, {
    ...s,
    now: 0,
    running: 0,
    using: [],
  });
  await pool.ret(held);
});

// ---- bad input never crashes the process ----

Deno.test("new Pool() refuses unknown option names, naming the nearest valid one", () => {
  const fun = () => ({});
  const cases: [Record<string, unknown>, string][] = [
    [
      { fun, maxsize: 5 },
      "'maxsize' is not an option: did you mean 'maxSize'?",
    ],
    [
      { fun, timout: 100 },
      "'timout' is not an option: did you mean 'timeout'?",
    ],
    [
      { fun, max_size: 5 },
      "'max_size' is not an option: did you mean 'maxSize'?",
    ],
    [{ fun, closr: fun }, "'closr' is not an option: did you mean 'closer'?"],
    [{ fun, colour: "red" }, "'colour' is not an option"],
  ];
  for (const [options, message] of cases) {
    assertThrows(
      () => new Pool(options as unknown as PoolOptions<object>),
      TypeError,
      `Cannot create pool as ${message}`,
    );
  }
});

Deno.test("Pool.get(), ret() and shutdown() refuse unknown option names", async () => {
  await using pool = new Pool({ fun: () => ({}), minSize: 0 });
  await assertRejects(
    () => pool.get({ timout: 5 } as GetOptionsLoose),
    TypeError,
    "Cannot get an object as 'timout' is not an option: did you mean 'timeout'?",
  );
  const obj = await pool.get();
  await assertRejects(
    () => pool.ret(obj, { discrad: true } as { discard?: boolean }),
    TypeError,
    "Cannot return an object as 'discrad' is not an option: did you mean 'discard'?",
  );
  await pool.ret(obj);
  assertThrows(
    () => pool.shutdown({ grce: 5 } as { grace?: number }),
    TypeError,
    "Cannot shut down as 'grce' is not an option: did you mean 'grace'?",
  );
});

type GetOptionsLoose = { timeout?: number };

Deno.test("Pool.get() refuses a signal that is not an AbortSignal, and nothing fires later", async () => {
  await using pool = new Pool({ fun: () => ({}), maxSize: 1, minSize: 0 });
  const held = await pool.get();
  for (const signal of [null, {}, "abc", 5n, Symbol("s"), () => {}]) {
    await assertRejects(
      () => pool.get({ timeout: 20, signal: signal as AbortSignal }),
      TypeError,
      "Cannot get an object as 'signal' must be an AbortSignal",
    );
  }
  assertEquals(pool.nwaiting, 0);
  // a deadline registered by a refused call would fire here and crash
  await delay(40);
  assertEquals(pool.stats().ntimeouts, 0);
  await pool.ret(held);
});

Deno.test("new Pool() refuses values that would hang or livelock", () => {
  const fun = () => ({});
  const cases: [Record<string, unknown>, string][] = [
    [
      { fun, minSize: 1e300, maxSize: 0 },
      "'minSize' must be at most 2147483647 (2^31 - 1): current value is 1e+300",
    ],
    [
      { fun, maxSize: 2 ** 31 },
      "'maxSize' must be at most 2147483647 (2^31 - 1): current value is 2147483648",
    ],
    [
      { fun, maxLifetime: 1e-300 },
      "'maxLifetime' must be 0 or at least 1 millisecond: current value is 1e-300",
    ],
    [
      { fun, timeout: 0.5 },
      "'timeout' must be 0 or at least 1 millisecond: current value is 0.5",
    ],
    [
      { fun, hkDelay: 0, maxAvailDelay: 1_000 },
      "'hkDelay' must be positive when 'maxAvailDelay' is set (housekeeping applies it): current value is 0",
    ],
    [
      { fun, hkDelay: 0, maxUsingDelayKill: 1_000 },
      "'hkDelay' must be positive when 'maxUsingDelayKill' is set (housekeeping applies it): current value is 0",
    ],
  ];
  for (const [options, message] of cases) {
    assertThrows(
      () => new Pool(options as unknown as PoolOptions<object>),
      RangeError,
      `Cannot create pool as ${message}`,
    );
  }
});

Deno.test("Pool TimeoutError says why: all in use, or creations pending", async () => {
  await using pool = new Pool({ fun: () => ({}), maxSize: 1, minSize: 0 });
  const held = await pool.get();
  await assertRejects(
    () => pool.get({ timeout: 5 }),
    TimeoutError,
    "all 1 objects are in use (maxSize 1), return them sooner or raise maxSize",
  );
  await pool.ret(held);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  await using slow = new Pool({
    fun: async () => {
      await gate;
      return {};
    },
    maxSize: 1,
    minSize: 0,
  });
  await assertRejects(
    () => slow.get({ timeout: 5 }),
    TimeoutError,
    "1 creations are pending and none finished in time",
  );
  release();
  await slow.fill();
});

Deno.test("new Pool() keeps its housekeeping period at 1 ms or more whatever the delays", async () => {
  await using pool = new Pool({
    fun: () => ({}),
    maxAvailDelay: 1,
    minSize: 0,
  });
  assertEquals(pool.stats().hkDelay, 1); // half of 1 ms would fire in a loop
});

Deno.test("Pool.ret() of a stranger whose every trap throws is ignored, not thrown", async () => {
  await using pool = new Pool({ fun: () => ({}), minSize: 0 });
  const hostile = new globalThis.Proxy({}, {
    get() {
      throw new Error("trap");
    },
    getPrototypeOf() {
      throw new Error("trap");
    },
  });
  await pool.ret(hostile);
  assertEquals(pool.stats().nbadReturns, 1);
});
