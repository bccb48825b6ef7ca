// The bounds of a pool: createTimeout, closeTimeout, hookTimeout,
// maxCreating, the back-off against a dead server, timeout 0 after a failed
// check, and a shutdown that rejects every caller at once and resolves
// within grace + closeTimeout whatever the hooks do. Every test that waits
// runs on the FakeClock (no real sleep), so each limit is checked to the
// millisecond: still pending 1 ms before it, done at it.
import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Pool, type PoolOptions } from "./pool.ts";
import { PoolError, TimeoutError } from "./errors.ts";
import {
  type FakeClock,
  Ledger,
  never,
  nextTurn,
  rejection,
  type Res,
  text,
  track,
  type Tracked,
  withFakeClock,
  withLogs,
} from "./_testing.ts";

// ---- helpers ----

/** Asserts that `t` rejected with an instance of `ErrorClass` whose message includes `fragment`. */
function assertRejected(
  t: Tracked<unknown>,
  ErrorClass: new (message?: string, options?: ErrorOptions) => Error,
  fragment: string,
): Error {
  const error = rejection(t, ErrorClass);
  assertStringIncludes(error.message, fragment);
  return error;
}

/**
 * Advances fake time by `ms`, letting everything settle first (so that
 * timers armed by pending microtasks count from now) and after each timer.
 */
async function advance(clock: FakeClock, ms: number): Promise<void> {
  await nextTurn();
  await clock.advance(ms, nextTurn);
}

const DAY = 86_400_000;

// ---- validation and defaults ----

Deno.test("new Pool() refuses 0 for checkTimeout, hookTimeout, createTimeout and closeTimeout, and maxCreating below 1, with RangeError", () => {
  const fun = () => ({});
  for (
    const name of [
      "checkTimeout",
      "hookTimeout",
      "createTimeout",
      "closeTimeout",
    ]
  ) {
    assertThrows(
      () => new Pool({ fun, [name]: 0 } as PoolOptions<object>),
      RangeError,
      `Cannot create pool as '${name}' must be at least 1 millisecond, or Infinity to wait forever: current value is 0`,
    );
    for (const bad of [0.5, -1, NaN]) {
      const error = assertThrows(
        () => new Pool({ fun, [name]: bad } as PoolOptions<object>),
        RangeError,
      );
      assertStringIncludes(error.message, `Cannot create pool as '${name}'`);
      assertStringIncludes(error.message, `current value is ${bad}`);
    }
    assertThrows(
      () => new Pool({ fun, [name]: "10" } as unknown as PoolOptions<object>),
      TypeError,
      `Cannot create pool as '${name}' must be a number of milliseconds: current value is "10"`,
    );
  }
  assertThrows(
    () => new Pool({ fun, maxCreating: 0 }),
    RangeError,
    "Cannot create pool as 'maxCreating' must be an integer >= 1: current value is 0",
  );
  assertThrows(
    () => new Pool({ fun, maxCreating: 1.5 }),
    RangeError,
    "Cannot create pool as 'maxCreating' must be an integer >= 1: current value is 1.5",
  );
});

Deno.test("new Pool() accepts 1 ms and Infinity for every hook limit", async () => {
  const fun = () => ({});
  for (const value of [1, Infinity]) {
    await using pool = new Pool({
      fun,
      minSize: 0,
      checkTimeout: value,
      hookTimeout: value,
      createTimeout: value,
      closeTimeout: value,
      maxCreating: 1,
    });
    const s = pool.stats();
    assertEquals(s.createTimeout, value === Infinity ? null : value);
    assertEquals(s.maxCreating, 1);
  }
});

Deno.test("Pool bounds default to createTimeout 10 s, hookTimeout 5 s, closeTimeout 5 s and maxCreating 2", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    const closed: number[] = [];
    const pool = new Pool<Res>({
      fun: (n) => n === 0 ? never() : ledger.make(n),
      retter: (r) => r.n === 1 ? never() : undefined,
      closer: (r) => {
        closed.push(r.n);
        return r.n === 2 ? never() : undefined;
      },
      minSize: 0,
    });
    const s = pool.stats();
    assertEquals([s.createTimeout, s.maxCreating], [10_000, 2]);

    // createTimeout: 10 000 ms
    const first = track(pool.get());
    await advance(clock, 9_999);
    assertFalse(first.done);
    await advance(clock, 1);
    assertRejected(first, TimeoutError, "createTimeout (10000 ms)");

    // (the back-off after that failure is at most backoffBase, 100 ms)
    const second = track(pool.get());
    await advance(clock, 100);
    assertEquals(second.value?.n, 1);

    // hookTimeout: 5 000 ms for the retter
    const ret = track(pool.ret(second.value!));
    await advance(clock, 4_999);
    assertFalse(ret.done);
    assertEquals(closed, []);
    await advance(clock, 1);
    assert(ret.done);
    assertEquals(closed, [1]); // could not be reset: closed
    assertEquals(pool.nobjs, 0);

    // closeTimeout: 5 000 ms for the closer
    const third = await pool.get();
    assertEquals(third.n, 2);
    const discard = track(pool.ret(third, { discard: true }));
    await advance(clock, 4_999);
    assertFalse(discard.done);
    assertEquals(pool.nobjs, 1);
    await advance(clock, 1);
    assert(discard.done);
    assertEquals(pool.nobjs, 0);

    const stats = pool.stats();
    assertEquals(
      [stats.ncreateTimeouts, stats.badResets, stats.ncloseTimeouts],
      [1, 1, 1],
    );
    const done = track(pool.shutdown());
    await nextTurn();
    assert(done.done);
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool with createTimeout, hookTimeout and closeTimeout Infinity waits for fun, retter and closer without bound", async () => {
  await withFakeClock(async (clock) => {
    const made = Promise.withResolvers<{ n: number }>();
    const reset = Promise.withResolvers<void>();
    const closing = Promise.withResolvers<void>();
    const pool = new Pool<{ n: number }>({
      fun: () => made.promise,
      retter: () => reset.promise,
      closer: () => closing.promise,
      createTimeout: Infinity,
      hookTimeout: Infinity,
      closeTimeout: Infinity,
      timeout: Infinity,
      minSize: 0,
    });
    const get = track(pool.get());
    await advance(clock, DAY);
    assertFalse(get.done);
    assertEquals(pool.ncreating, 1);
    made.resolve({ n: 0 });
    await nextTurn();
    const obj = get.value!;
    assertEquals(obj.n, 0);

    const ret = track(pool.ret(obj));
    await advance(clock, DAY);
    assertFalse(ret.done);
    reset.resolve();
    await nextTurn();
    assert(ret.done);
    assertEquals(pool.navail, 1); // reset in the end: kept, not closed

    const done = track(pool.shutdown());
    await advance(clock, DAY);
    assertFalse(done.done);
    assertEquals(pool.nobjs, 1);
    closing.resolve();
    await nextTurn();
    assert(done.done);
    assertEquals(pool.nobjs, 0);
    const s = pool.stats();
    assertEquals(
      [s.ncreateTimeouts, s.hookErrors, s.badResets, s.ncloseTimeouts],
      [0, 0, 0, 0],
    );
    assertEquals(clock.poolTimers(), 0);
  });
});

// ---- createTimeout ----

Deno.test("Pool aborts the signal it gives fun when it gives the creation up, at createTimeout or at shutdown, and only then", async () => {
  await withFakeClock(async (clock) => {
    const signals: AbortSignal[] = [];
    const pool = new Pool<object>({
      fun: (n, { signal }) => {
        signals.push(signal);
        return n === 2 ? {} : never<object>();
      },
      createTimeout: 100,
      backoffBase: 1,
      backoffMax: 1,
      maxSize: 3,
      minSize: 0,
      maxCreating: 1,
    });
    const first = track(pool.get());
    await advance(clock, 99);
    assertEquals(signals.map((s) => s.aborted), [false]);
    await advance(clock, 1); // given up: its connect should stop
    assertEquals(signals.map((s) => s.aborted), [true]);
    assertInstanceOf(signals[0].reason, TimeoutError);
    assertRejected(first, TimeoutError, "createTimeout");
    const second = track(pool.get({ timeout: 10_000 }));
    await advance(clock, 1); // after the back-off, creation 1 hangs too
    assertEquals(signals.length, 2);
    const done = track(pool.shutdown());
    await advance(clock, 5_000); // closeTimeout: shutdown gives it up
    assert(done.done);
    assertEquals(signals.map((s) => s.aborted), [true, true]);
    assertRejected(second, PoolError, "shutting down");
  });
});

Deno.test("Pool gives up a creation after createTimeout: the oldest caller gets a TimeoutError, the late object is closed once and never lent", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    const late = Promise.withResolvers<Res>();
    let funCalls = 0;
    const pool = new Pool<Res>({
      fun: (n) => {
        funCalls++;
        return n === 0 ? late.promise : ledger.make(n);
      },
      closer: (r) => ledger.close(r),
      createTimeout: 100,
      maxSize: 1,
      minSize: 0,
    });
    const first = track(pool.get());
    const second = track(pool.get());
    await nextTurn();
    assertEquals([funCalls, pool.ncreating, pool.nwaiting], [1, 1, 2]);

    await advance(clock, 99);
    assertFalse(first.done);
    await advance(clock, 1);
    const error = assertRejected(
      first,
      TimeoutError,
      "within createTimeout (100 ms): fun or opener is still pending",
    );
    assertFalse(second.done); // only the oldest caller gets the failure
    assertEquals([pool.ncreating, pool.nobjs, pool.nwaiting], [0, 0, 1]);
    let s = pool.stats();
    assertEquals([s.ncreateTimeouts, s.ncreateErrors], [1, 1]);
    assertEquals(s.ntimeouts, 1); // a TimeoutError a caller got
    assertEquals(s.lastCreateError, error.message);

    // the object arrives while a caller waits: closed, not handed out
    const lateObj = ledger.make(0);
    late.resolve(lateObj);
    await nextTurn();
    assertEquals(ledger.closes.get(lateObj), 1);
    assertFalse(lateObj.open);
    assertFalse(second.done);
    assertEquals([pool.nobjs, pool.navail], [0, 0]);

    // the slot was freed: after the back-off, a new object for the caller
    await advance(clock, 100);
    assert(second.done);
    const obj = second.value!;
    assertEquals(obj.n, 1);
    assertEquals(pool.nobjs, 1);
    s = pool.stats();
    assertEquals([s.ncreated, s.ncreateTimeouts], [1, 1]);

    await pool.ret(obj);
    const done = track(pool.shutdown());
    await nextTurn();
    assert(done.done);
    assertEquals(ledger.closes.get(lateObj), 1); // not closed again
    assertEquals(ledger.closes.get(obj), 1);
    assertEquals(ledger.doubleCloses(), []);
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool gives a timed-out creation's failure to the timeout-0 caller it was for, not to a queued caller", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    const pool = new Pool<Res>({
      fun: (n) => n === 0 ? never() : ledger.make(n),
      closer: (r) => ledger.close(r),
      createTimeout: 100,
      maxSize: 1,
      minSize: 0,
    });
    const zero = track(pool.get({ timeout: 0 })); // creates its own
    const queued = track(pool.get());
    await nextTurn();
    assertEquals([pool.ncreating, pool.nwaiting], [1, 1]);

    await advance(clock, 99);
    assertFalse(zero.done);
    await advance(clock, 1);
    assertRejected(zero, TimeoutError, "createTimeout (100 ms)");
    assertFalse(queued.done);
    assertEquals(pool.nwaiting, 1);
    assertEquals(pool.stats().ncreateTimeouts, 1);

    await advance(clock, 100); // the back-off
    assertEquals(queued.value?.n, 1);
    await pool.ret(queued.value!);
    const done = track(pool.shutdown());
    await nextTurn();
    assert(done.done);
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool createTimeout bounds the opener too: a late object is closed exactly once, whether its opener then succeeds or fails", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    const opening = new Map<number, PromiseWithResolvers<void>>();
    const pool = new Pool<Res>({
      fun: (n) => ledger.make(n),
      opener: (r) => {
        if (r.n >= 2) return;
        const gate = Promise.withResolvers<void>();
        opening.set(r.n, gate);
        return gate.promise;
      },
      closer: (r) => ledger.close(r),
      createTimeout: 100,
      minSize: 2,
      maxSize: 2,
    });
    await nextTurn();
    assertEquals([pool.ncreating, opening.size], [2, 2]);
    await advance(clock, 99);
    assertEquals(pool.ncreating, 2);
    await advance(clock, 1);
    assertEquals([pool.ncreating, pool.nobjs], [0, 0]);
    assertEquals(pool.stats().ncreateTimeouts, 2);

    const [opened, failed] = ledger.created;
    opening.get(0)!.resolve();
    opening.get(1)!.reject(new Error("handshake failed"));
    await nextTurn();
    assertEquals(ledger.closes.get(opened), 1);
    assertEquals(ledger.closes.get(failed), 1);
    assertEquals([pool.nobjs, pool.navail], [0, 0]);

    const done = track(pool.shutdown());
    await nextTurn();
    assert(done.done);
    assertEquals(ledger.doubleCloses(), []);
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool whose fun hangs forever frees the slots and lanes at createTimeout: fill() resolves, and the pool serves again once fun works (maxSize 2)", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    let hang = true;
    let funCalls = 0;
    const pool = new Pool<Res>({
      fun: (n) => {
        funCalls++;
        return hang ? never() : ledger.make(n);
      },
      closer: (r) => ledger.close(r),
      createTimeout: 100,
      minSize: 2,
      maxSize: 2,
    });
    const filled = track(pool.fill());
    await nextTurn();
    assertEquals([funCalls, pool.ncreating], [2, 2]);
    await advance(clock, 99);
    assertFalse(filled.done);
    await advance(clock, 1);
    assert(filled.done);
    assertEquals([pool.ncreating, pool.nobjs], [0, 0]);
    assertEquals(pool.stats().ncreateTimeouts, 2);

    // both fun calls still hang, and will forever: they hold no slot
    hang = false;
    const a = track(pool.get());
    const b = track(pool.get());
    await advance(clock, 1_000); // longer than any back-off delay
    assert(a.done && b.done);
    assertEquals(a.reason, undefined);
    assertEquals(b.reason, undefined);
    assertEquals(
      [a.value!.n, b.value!.n].sort(),
      ledger.created.map((r) => r.n).sort(),
    );
    assertEquals([pool.nobjs, pool.ncreating, funCalls], [2, 0, 4]);

    await pool.ret(a.value!);
    await pool.ret(b.value!);
    const done = track(pool.shutdown());
    await nextTurn();
    assert(done.done);
    assertEquals(ledger.closes.size, 2);
    assertEquals(clock.poolTimers(), 0);
  });
});

// ---- closeTimeout, hookTimeout ----

Deno.test("Pool gives up a closer after closeTimeout with a warning, frees its slot and counts it", async () => {
  await withLogs(async (records) => {
    await withFakeClock(async (clock) => {
      const ledger = new Ledger();
      const pool = new Pool<Res>({
        fun: (n) => ledger.make(n),
        closer: (r) => r.n === 0 ? never() : ledger.close(r),
        closeTimeout: 50,
        maxSize: 1,
        minSize: 0,
      });
      const obj = await pool.get();
      const discard = track(pool.ret(obj, { discard: true }));
      await advance(clock, 49);
      assertFalse(discard.done);
      assertEquals(pool.nobjs, 1); // a closing object holds its slot
      const waiting = track(pool.get());
      await nextTurn();
      assertFalse(waiting.done);

      await advance(clock, 1);
      assert(discard.done);
      assertEquals(pool.stats().ncloseTimeouts, 1);
      // the slot is free although the closer still hangs: maxSize 1 serves
      assertEquals(waiting.value?.n, 1);
      assertEquals([pool.nobjs, pool.stats().ncreated], [1, 2]);
      const warnings = records.filter((r) => r.level === "warning").map(text);
      assert(
        warnings.some((t) =>
          t.includes(
            "closer of Res#0 still pending after closeTimeout (50 ms): given up, its slot is freed",
          )
        ),
        String(warnings),
      );

      await pool.ret(waiting.value!);
      const done = track(pool.shutdown());
      await nextTurn();
      assert(done.done);
      assertEquals(pool.stats().ncloseTimeouts, 1);
      assertEquals(pool.nobjs, 0);
    });
  });
});

Deno.test("Pool gives up a getter or retter after hookTimeout: the get succeeds, the object that could not be reset is closed, the ret resolves", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    let getters = 0;
    let retters = 0;
    const pool = new Pool<Res>({
      fun: (n) => ledger.make(n),
      getter: () => getters++ === 0 ? never() : undefined,
      retter: () => retters++ === 0 ? never() : undefined,
      closer: (r) => ledger.close(r),
      hookTimeout: 200,
      maxSize: 1,
      minSize: 0,
    });
    const get = track(pool.get());
    await advance(clock, 199);
    assertFalse(get.done);
    await advance(clock, 1);
    const obj = get.value!;
    assertEquals(obj.n, 0);
    assertEquals(pool.stats().hookErrors, 1);

    const ret = track(pool.ret(obj));
    await advance(clock, 199);
    assertFalse(ret.done);
    assert(obj.open);
    await advance(clock, 1);
    assert(ret.done);
    assertEquals(ret.reason, undefined);
    assertEquals(ledger.closes.get(obj), 1);
    assertEquals(pool.nobjs, 0);
    const s = pool.stats();
    assertEquals([s.hookErrors, s.badResets], [2, 1]);

    const next = await pool.get();
    assertEquals(next.n, 1); // the unreset object is never lent again
    await pool.ret(next);
    assertEquals(pool.navail, 1);
    const done = track(pool.shutdown());
    await nextTurn();
    assert(done.done);
    assertEquals(ledger.doubleCloses(), []);
    assertEquals(clock.poolTimers(), 0);
  });
});

// ---- maxCreating, back-off ----

for (const maxCreating of [undefined, 5]) {
  const lanes = maxCreating ?? 2;
  Deno.test(`Pool never runs more than maxCreating (${lanes}) creations at once under 500 callers, maxSize 100`, async () => {
    await withFakeClock(async () => {
      const ledger = new Ledger();
      const pending: (() => void)[] = [];
      let inFlight = 0;
      let peak = 0;
      const pool = new Pool<Res>({
        fun: (n) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          return new Promise<Res>((resolve) =>
            pending.push(() => {
              inFlight--;
              resolve(ledger.make(n));
            })
          );
        },
        closer: (r) => ledger.close(r),
        maxSize: 100,
        minSize: 0,
        ...(maxCreating === undefined ? {} : { maxCreating }),
      });
      const all = track(
        Promise.all(
          Array.from({ length: 500 }, () => pool.use(() => nextTurn())),
        ),
      );
      for (let round = 0; round < 10_000 && !all.done; round++) {
        assert(inFlight <= lanes, `${inFlight} fun calls in flight`);
        assert(pool.ncreating <= lanes);
        assert(pool.nobjs + pool.ncreating <= 100);
        for (const release of pending.splice(0)) release();
        await nextTurn();
      }
      assert(all.done, "the 500 callers were not all served");
      assertEquals(all.reason, undefined);
      assertEquals(peak, lanes);
      assert(ledger.created.length <= 100, `${ledger.created.length}`);
      assertEquals(pool.stats().nuses, 500);
      const done = track(pool.shutdown());
      await nextTurn();
      assert(done.done);
      assertEquals(ledger.closes.size, ledger.created.length);
    });
  });
}

for (const maxCreating of [undefined, 3]) {
  const lanes = maxCreating ?? 2;
  Deno.test(`Pool against a dead server makes at most maxCreating (${lanes}) failing connects, then one at a time paced by equal-jitter back-off`, async () => {
    await withFakeClock(async (clock) => {
      const refused = new Error("ECONNREFUSED");
      const calls: number[] = [];
      const creatingAtCall: number[] = [];
      const pool: Pool<object> = new Pool<object>({
        fun: () => {
          calls.push(performance.now());
          creatingAtCall.push(pool.ncreating);
          return Promise.reject(refused);
        },
        maxSize: 10,
        minSize: 0,
        timeout: Infinity,
        ...(maxCreating === undefined ? {} : { maxCreating }),
      });
      const callers = Array.from({ length: 50 }, () => track(pool.get()));
      await nextTurn();
      assertEquals(calls.length, lanes);
      // each failure goes to the oldest caller still waiting
      for (let i = 0; i < lanes; i++) {
        assertStrictEquals(callers[i].reason, refused);
      }
      assertFalse(callers[lanes].done);

      // a caller that never waits is refused, and costs no connect
      const zero = track(pool.get({ timeout: 0 }));
      await nextTurn();
      const error = assertRejected(zero, TimeoutError, "'timeout' is 0");
      assertStrictEquals(error.cause, refused);
      assertEquals(calls.length, lanes);

      await advance(clock, 49); // the first delay is at least 50 ms
      assertEquals(calls.length, lanes);
      await advance(clock, 10_000 - 49);
      const retries = calls.slice(lanes);
      assert(retries.length >= 10, `${retries.length} retries in 10 s`);
      // one attempt at a time after the first failures
      assertEquals(creatingAtCall.slice(lanes), retries.map(() => 1));
      // each delay is drawn in the upper half of its ceiling: the first
      // from 1 failure, then from `lanes + i` failures, capped at 1 000
      let previous = calls[lanes - 1];
      retries.forEach((t, i) => {
        const failures = i === 0 ? 1 : lanes + i;
        const ceiling = Math.min(1_000, 100 * 2 ** (failures - 1));
        const gap = t - previous;
        assert(
          gap >= ceiling / 2 - 1e-6 && gap <= ceiling + 1e-6,
          `retry ${i}: ${gap} ms after the previous attempt, ceiling ${ceiling}`,
        );
        previous = t;
      });
      // every attempt failed one caller, oldest first; the rest still wait
      const failed = callers.filter((c) => c.done);
      assertEquals(failed.length, calls.length);
      assertEquals(callers.slice(0, calls.length), failed);
      for (const c of failed) assertStrictEquals(c.reason, refused);

      const done = track(pool.shutdown());
      await nextTurn();
      assert(done.done);
      for (const c of callers.slice(calls.length)) {
        assertRejected(c, PoolError, "as it is shutting down");
      }
      const attempts = calls.length;
      await advance(clock, 10_000);
      assertEquals(calls.length, attempts); // no retry after shutdown
      assertEquals(clock.poolTimers(), 0);
    });
  });
}

// ---- timeout 0 and a failed check ----

Deno.test("Pool.get() with timeout 0 whose object fails its check takes another idle object, never queuing", async () => {
  await withFakeClock(async () => {
    const ledger = new Ledger();
    let checks = 0;
    const pool = new Pool<Res>({
      fun: (n) => ledger.make(n),
      closer: (r) => ledger.close(r),
      check: () => checks++ > 0, // the first check fails
      checkSkip: 0,
      minSize: 2,
      maxSize: 2,
    });
    await pool.fill();
    const obj = await pool.get({ timeout: 0 });
    const [failed] = [...ledger.closes.keys()];
    assertEquals(ledger.closes.get(failed), 1);
    assert(obj !== failed && obj.open);
    const s = pool.stats();
    assertEquals([s.nchecks, s.badChecks, s.nwaits, s.ntimeouts], [2, 1, 0, 0]);
    assertEquals(s.ncreated, 2); // no creation for it
    await pool.ret(obj);
    const done = track(pool.shutdown());
    await nextTurn();
    assert(done.done);
  });
});

Deno.test("Pool.get() with timeout 0 whose object fails its check creates one of its own when there is room and a free lane", async () => {
  await withFakeClock(async () => {
    const ledger = new Ledger();
    const dead = new Set<Res>();
    const pool = new Pool<Res>({
      fun: (n) => ledger.make(n),
      closer: (r) => ledger.close(r),
      check: (r) => !dead.has(r),
      checkSkip: 0,
      maxSize: 2,
      minSize: 0,
    });
    const first = await pool.get();
    await pool.ret(first); // used once: its failure is no failed creation
    dead.add(first);
    const { nwaits } = pool.stats();
    const obj = await pool.get({ timeout: 0 });
    assertEquals(obj.n, 1);
    assertEquals(ledger.closes.get(first), 1);
    const s = pool.stats();
    assertEquals(s.nwaits, nwaits); // never queued
    assertEquals([s.ntimeouts, s.badChecks, s.ncreated], [0, 1, 2]);
    await pool.ret(obj);
    const done = track(pool.shutdown());
    await nextTurn();
    assert(done.done);
  });
});

Deno.test("Pool.get() with timeout 0 whose object fails its check rejects with TimeoutError when no lane is free, never queuing", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    const dead = new Set<Res>();
    let funCalls = 0;
    const pool = new Pool<Res>({
      fun: (n) => {
        funCalls++;
        return n === 0 ? ledger.make(n) : never();
      },
      closer: (r) => ledger.close(r),
      check: (r) => !dead.has(r),
      checkSkip: 0,
      maxCreating: 1,
      minSize: 2,
      maxSize: 3,
      closeTimeout: 100,
    });
    await nextTurn();
    // object 0 is made, and the one lane is held by a hung creation
    assertEquals([pool.nobjs, pool.ncreating, funCalls], [1, 1, 2]);
    const first = await pool.get();
    await pool.ret(first);
    dead.add(first);
    const { nwaits } = pool.stats();
    const zero = track(pool.get({ timeout: 0 }));
    await nextTurn();
    assertRejected(
      zero,
      TimeoutError,
      "as the object it took failed its check, and 'timeout' is 0 (never waits)",
    );
    assertEquals(pool.nwaiting, 0);
    assertEquals(funCalls, 2); // no creation started for it
    assertEquals(ledger.closes.get(first), 1);
    const s = pool.stats();
    assertEquals(s.nwaits, nwaits); // never queued
    assertEquals([s.ntimeouts, s.badChecks], [1, 1]);

    const done = track(pool.shutdown());
    await advance(clock, 100); // the hung creation is given up
    assert(done.done);
    assertEquals([pool.ncreating, pool.nobjs], [0, 0]);
    assertEquals(clock.poolTimers(), 0);
  });
});

// ---- shutdown ----

Deno.test("Pool.shutdown() rejects every caller at once: queued, in check, in getter, and with timeout 0 creating its own", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    let checks = 0;
    let getterStarted = false;
    let funCalls = 0;
    const pool = new Pool<Res>({
      fun: (n) => {
        funCalls++;
        return n < 2 ? ledger.make(n) : never();
      },
      closer: (r) => ledger.close(r),
      // the first caller's check passes and its getter hangs; the second
      // caller's check hangs
      check: () => checks++ === 0 ? true : never(),
      getter: () => {
        getterStarted = true;
        return never();
      },
      checkSkip: 0,
      hookTimeout: 200,
      closeTimeout: 300,
      minSize: 2,
      maxSize: 4,
    });
    await pool.fill();
    const inGetter = track(pool.get());
    const inCheck = track(pool.get());
    const zero = track(pool.get({ timeout: 0 }));
    const queued = track(pool.get());
    await nextTurn();
    assert(getterStarted);
    assertEquals(checks, 2);
    assertEquals([pool.ncreating, pool.nwaiting, funCalls], [2, 1, 4]);
    for (const t of [inGetter, inCheck, zero, queued]) assertFalse(t.done);

    const done = track(pool.shutdown());
    await nextTurn(); // no time passes
    for (const t of [inGetter, inCheck, zero, queued]) {
      assertRejected(t, PoolError, "as it is shutting down");
    }
    // the getter is bounded by hookTimeout, the creations by closeTimeout
    await advance(clock, 299);
    assertFalse(done.done);
    await advance(clock, 1);
    assert(done.done);
    await nextTurn();
    assertEquals([pool.nobjs, pool.ncreating], [0, 0]);
    assertEquals(ledger.closes.size, 2);
    assertEquals(ledger.doubleCloses(), []);
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool.shutdown() during hung creations resolves within grace + closeTimeout, and closes the late objects once", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    const connects = new Map<number, PromiseWithResolvers<Res>>();
    const pool = new Pool<Res>({
      fun: (n) => {
        if (n === 0) return ledger.make(n);
        const connect = Promise.withResolvers<Res>();
        connects.set(n, connect);
        return connect.promise;
      },
      closer: (r) => ledger.close(r),
      createTimeout: Infinity, // only shutdown bounds them
      closeTimeout: 200,
      maxSize: 3,
      minSize: 0,
    });
    const held = await pool.get();
    const zero = track(pool.get({ timeout: 0 })); // its own creation
    const queued = track(pool.get()); // a creation for the pool
    await nextTurn();
    assertEquals([pool.ncreating, connects.size], [2, 2]);

    const done = track(pool.shutdown({ grace: 100 }));
    await nextTurn();
    assertRejected(zero, PoolError, "as it is shutting down");
    assertRejected(queued, PoolError, "as it is shutting down");
    await advance(clock, 99);
    assert(held.open); // may still come back
    await advance(clock, 1);
    assertFalse(held.open); // grace over
    await advance(clock, 199);
    assertFalse(done.done);
    await advance(clock, 1); // grace + closeTimeout
    assert(done.done);
    await nextTurn();
    assertEquals([pool.ncreating, pool.nobjs], [0, 0]);
    assertEquals(pool.stats().ncreateTimeouts, 0); // given up, not timed out

    connects.get(1)!.resolve(ledger.make(1));
    connects.get(2)!.resolve(ledger.make(2));
    await nextTurn();
    for (const r of ledger.created) assertEquals(ledger.closes.get(r), 1);
    assertEquals(pool.nobjs, 0);
    await pool.ret(held); // ignored: already closed
    assertEquals(ledger.doubleCloses(), []);
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool.shutdown() abandons a hung health check at once: with grace 0 it resolves without waiting", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    let checking = false;
    const pool = new Pool<Res>({
      fun: (n) => ledger.make(n),
      closer: (r) => ledger.close(r),
      health: () => {
        checking = true;
        return never();
      },
      hkDelay: 1_000,
      minSize: 1,
      maxSize: 1,
    });
    await pool.fill();
    await advance(clock, 1_000); // the round starts the check
    assert(checking);
    assertEquals([pool.navail, pool.nobjs], [0, 1]);

    const done = track(pool.shutdown({ grace: 0 }));
    await nextTurn(); // no time passes
    assert(done.done);
    assertEquals(pool.nobjs, 0);
    assertEquals(ledger.closes.get(ledger.created[0]), 1);
    const s = pool.stats();
    assertEquals([s.badHealth, s.hcErrors], [1, 1]); // counted as failed
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool.shutdown() rejects a caller whose check hangs at once, and counts the check as failed", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    let checking = false;
    const pool = new Pool<Res>({
      fun: (n) => ledger.make(n),
      closer: (r) => ledger.close(r),
      check: () => {
        checking = true;
        return never();
      },
      checkSkip: 0,
      minSize: 1,
      maxSize: 1,
    });
    await pool.fill();
    const caller = track(pool.get());
    await nextTurn();
    assert(checking);
    assertFalse(caller.done);

    const done = track(pool.shutdown());
    await nextTurn(); // no time passes: checkTimeout (5 s) is not waited for
    assertRejected(caller, PoolError, "as it is shutting down");
    assert(done.done);
    assertEquals(pool.nobjs, 0);
    assertEquals(ledger.closes.get(ledger.created[0]), 1);
    const s = pool.stats();
    assertEquals([s.nchecks, s.badChecks, s.hcErrors], [1, 1, 1]);
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool.shutdown() with hung closers resolves within grace + closeTimeout, each closer called once", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    const closerCalls = new Map<Res, number>();
    const pool = new Pool<Res>({
      fun: (n) => ledger.make(n),
      closer: (r) => {
        closerCalls.set(r, (closerCalls.get(r) ?? 0) + 1);
        return never();
      },
      closeTimeout: 200,
      minSize: 2,
      maxSize: 2,
    });
    await pool.fill();
    const held = await pool.get(); // never returned
    const done = track(pool.shutdown({ grace: 100 }));
    await nextTurn();
    assertEquals(closerCalls.size, 1); // the idle one
    assertFalse(closerCalls.has(held));
    await advance(clock, 100);
    assertEquals(closerCalls.get(held), 1); // grace over
    await advance(clock, 199);
    assertFalse(done.done);
    assertEquals(pool.nobjs, 1); // the first closer was given up at 200
    await advance(clock, 1);
    assert(done.done);
    assertEquals(pool.nobjs, 0);
    assertEquals(pool.stats().ncloseTimeouts, 2);
    assertEquals([...closerCalls.values()], [1, 1]);
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool.shutdown() while a retter hangs resolves within grace + closeTimeout and stops waiting for it: the object is closed once, no timer is left", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    const pool = new Pool<Res>({
      fun: (n) => ledger.make(n),
      retter: () => never(),
      closer: (r) => ledger.close(r),
      hookTimeout: 60_000,
      closeTimeout: 300,
      maxSize: 1,
      minSize: 0,
    });
    const obj = await pool.get();
    const ret = track(pool.ret(obj));
    const done = track(pool.shutdown({ grace: 0 }));
    await advance(clock, 299);
    assertFalse(done.done);
    await advance(clock, 1); // grace 0 + closeTimeout 300
    assert(done.done);
    await advance(clock, 0);
    assert(ret.done);
    assertEquals(ret.reason, undefined);
    assertEquals(ledger.closes.get(obj), 1);
    assertEquals(pool.nobjs, 0);
    assertEquals(pool.stats().badResets, 1);
    assertEquals(clock.poolTimers(), 0); // not hookTimeout's 60 s
  });
});
