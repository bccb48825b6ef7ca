// Who gets which object, and what a caller is told when it gets none:
// first come, first served across returns and creations (no caller is tied
// to the creation its arrival started), one abort listener per shared
// signal, the reasons a TimeoutError gives, the stats as JSON, and the
// refusal of bad `signal` values and misspelt option names.
//
// Every test runs on a FakeClock: creations finish, fail or hang when the
// test says so, and time passes only through `clock.advance()`.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertNotStrictEquals,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { Pool, type PoolOptions } from "./pool.ts";
import { PoolError, TimeoutError } from "./errors.ts";
import {
  type FakeClock,
  Ledger,
  nextTurn,
  rejection,
  type Res,
  spyAbortListeners,
  track,
  type Tracked,
  withFakeClock,
} from "./_testing.ts";

// ---- helpers ----

// A `fun` whose calls finish, fail or hang when the test says so; the
// objects are audited by a ledger.
class Factory {
  readonly ledger = new Ledger();
  readonly calls: PromiseWithResolvers<Res>[] = [];

  readonly fun = (n: number): Promise<Res> => {
    assertEquals(n, this.calls.length, "fun is called with 0, 1, 2…");
    const call = Promise.withResolvers<Res>();
    this.calls.push(call);
    return call.promise;
  };

  readonly closer = (r: Res): void => this.ledger.close(r);

  /** Lets call `n` bring its object; returns it. */
  finish(n: number): Res {
    const obj = this.ledger.make(n);
    this.calls[n].resolve(obj);
    return obj;
  }

  /** Makes call `n` fail with `err`. */
  fail(n: number, err: unknown): void {
    this.calls[n].reject(err);
  }
}

function factoryPool(
  factory: Factory,
  options: Partial<PoolOptions<Res>> = {},
): Pool<Res> {
  return new Pool<Res>({
    fun: factory.fun,
    closer: factory.closer,
    minSize: 0,
    ...options,
  });
}

// Checks a TimeoutError's message word for word, after the pool's name.
function assertWhy(error: TimeoutError, rest: string): void {
  const prefix = "Cannot get an object from pool ";
  assert(error.message.startsWith(prefix), error.message);
  assert(
    error.message.endsWith(rest),
    `expected the message to end with\n  ${rest}\nbut it is\n  ${error.message}`,
  );
  // only the pool's name lies between
  const name = error.message.slice(prefix.length, -rest.length);
  assert(/^\S+ $/.test(name), `unexpected text before the reason: ${name}`);
}

// Lends one object the factory makes now: `n` is the number of the call.
async function lendNew(pool: Pool<Res>, factory: Factory): Promise<Res> {
  const got = pool.get();
  factory.finish(factory.calls.length - 1);
  return await got;
}

// Shuts the pool down, letting the fake clock run through any bounded wait
// (closeTimeout for a hanging creation), and checks that the pool left no
// timer behind.
async function shutDown<T>(pool: Pool<T>, clock: FakeClock): Promise<void> {
  const done = track(pool.shutdown());
  for (let i = 0; i < 30 && done.state === "pending"; i++) {
    await clock.advance(1_000, nextTurn);
  }
  assertEquals(done.state, "fulfilled", "shutdown within 30 s");
  await nextTurn();
  assertEquals(clock.poolTimers(), 0, "no timer left after shutdown");
}

// ---- first come, first served across creations ----

Deno.test("Pool hands a returned object to the waiter at once, not waiting for the creation its arrival started; that object then goes idle", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 2 });
    const obj0 = await lendNew(pool, factory); // A holds obj0
    const b = track(pool.get());
    assertEquals([pool.nwaiting, pool.ncreating], [1, 1]); // call 1 started
    await pool.ret(obj0);
    await nextTurn();
    assertEquals(b.state, "fulfilled");
    assertStrictEquals(b.value, obj0);
    assertEquals([pool.nwaiting, pool.ncreating, pool.nusing], [0, 1, 1]);
    // the slow creation finishes later: nobody waits, it goes idle
    const obj1 = factory.finish(1);
    await nextTurn();
    assertEquals([pool.navail, pool.nusing, pool.nobjs], [1, 1, 2]);
    assertStrictEquals(await pool.get(), obj1);
    await pool.ret(obj1);
    await pool.ret(obj0);
    await shutDown(pool, clock);
    assertEquals(factory.ledger.doubleCloses(), []);
  });
});

Deno.test("Pool gives the object of a creation started for a caller served meanwhile to the next waiter", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 2 });
    const obj0 = await lendNew(pool, factory);
    const b = track(pool.get()); // starts call 1
    await pool.ret(obj0); // B is served by the return
    await nextTurn();
    assertStrictEquals(b.value, obj0);
    // C arrives while call 1 is still in flight: no second creation, it
    // takes call 1's object
    const c = track(pool.get());
    assertEquals([pool.nwaiting, pool.ncreating], [1, 1]);
    assertEquals(factory.calls.length, 2);
    const obj1 = factory.finish(1);
    await nextTurn();
    assertEquals(c.state, "fulfilled");
    assertStrictEquals(c.value, obj1);
    assertEquals([pool.navail, pool.nusing], [0, 2]);
    await pool.ret(obj0);
    await pool.ret(obj1);
    await shutDown(pool, clock);
  });
});

Deno.test("Pool serves a waiter from a return while fun hangs, and shutdown gives up the hung creation", async () => {
  await withFakeClock(async (clock) => {
    const ledger = new Ledger();
    const pool = new Pool<Res>({
      fun: (n) => n === 0 ? ledger.make(n) : new Promise<Res>(() => {}),
      closer: (r) => ledger.close(r),
      maxSize: 2,
      minSize: 0,
      createTimeout: Infinity,
    });
    const obj0 = await pool.get();
    const b = track(pool.get());
    assertEquals(pool.ncreating, 1); // hangs for ever
    await clock.advance(1_000, nextTurn);
    assertEquals(b.state, "pending");
    await pool.ret(obj0);
    await nextTurn();
    assertEquals(b.state, "fulfilled");
    assertStrictEquals(b.value, obj0);
    assertEquals([pool.nwaiting, pool.ncreating], [0, 1]);
    await pool.ret(obj0);
    await shutDown(pool, clock);
    assertEquals(pool.ncreating, 0);
    assertEquals(ledger.created, [obj0]);
    assertEquals(ledger.closes.get(obj0), 1);
  });
});

Deno.test("Pool gives whichever creation finishes first to the oldest waiter", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 3, maxCreating: 2 });
    const obj0 = await lendNew(pool, factory);
    const b = track(pool.get()); // starts call 1
    const c = track(pool.get()); // starts call 2
    assertEquals(pool.ncreating, 2);
    const obj2 = factory.finish(2); // the later call finishes first
    await nextTurn();
    assertEquals(b.state, "fulfilled");
    assertStrictEquals(b.value, obj2);
    assertEquals(c.state, "pending");
    const obj1 = factory.finish(1);
    await nextTurn();
    assertStrictEquals(c.value, obj1);
    for (const obj of [obj0, obj1, obj2]) await pool.ret(obj);
    await shutDown(pool, clock);
  });
});

Deno.test("Pool rejects the oldest waiter with fun's error when any creation fails; the other creation serves the next waiter", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 3, maxCreating: 2 });
    const obj0 = await lendNew(pool, factory);
    const b = track(pool.get()); // starts call 1
    const c = track(pool.get()); // starts call 2
    const refused = new Error("connection refused");
    factory.fail(2, refused); // the creation C's arrival started fails…
    await nextTurn();
    // …and the oldest waiter, B, gets its error: its object would have
    // gone to B
    assertEquals(b.state, "rejected");
    assertStrictEquals(b.reason, refused);
    assertEquals(c.state, "pending");
    assertEquals([pool.nwaiting, pool.ncreating], [1, 1]);
    assertEquals(pool.stats().ncreateErrors, 1);
    const obj1 = factory.finish(1);
    await nextTurn();
    assertStrictEquals(c.value, obj1);
    await pool.ret(obj0);
    await pool.ret(obj1);
    await shutDown(pool, clock);
    assertEquals(factory.ledger.doubleCloses(), []);
  });
});

Deno.test("Pool creation that fails when nobody waits rejects nobody: the caller served by a return keeps its object", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 2 });
    const obj0 = await lendNew(pool, factory);
    const b = track(pool.get()); // starts call 1
    await pool.ret(obj0);
    await nextTurn();
    assertStrictEquals(b.value, obj0);
    factory.fail(1, new Error("connection refused"));
    await nextTurn();
    assertEquals(b.state, "fulfilled");
    assertEquals([pool.nusing, pool.nwaiting, pool.ncreating], [1, 0, 0]);
    const s = pool.stats();
    assertEquals([s.ncreateErrors, s.lastCreateError], [
      1,
      "connection refused",
    ]);
    await pool.ret(obj0);
    await shutDown(pool, clock);
  });
});

// ---- one abort listener per shared signal ----

Deno.test("Pool waiters sharing one AbortSignal add one listener; aborting rejects all 1 000 at once with signal.reason", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 1 });
    const held = await lendNew(pool, factory);
    const controller = new AbortController();
    const spy = spyAbortListeners(controller.signal);
    const waiters = Array.from(
      { length: 1_000 },
      () => track(pool.get({ signal: controller.signal })),
    );
    assertEquals(pool.nwaiting, 1_000);
    assertEquals(spy.added.length, 1);
    const reason = new Error("request cancelled");
    controller.abort(reason);
    // at once: within the abort itself, not over later turns
    assertEquals(pool.nwaiting, 0);
    assertEquals(pool.stats().naborts, 1_000);
    await nextTurn();
    for (const w of waiters) {
      assertEquals(w.state, "rejected");
      assertStrictEquals(w.reason, reason);
    }
    // the pool still works, and the listener was never added again
    await pool.ret(held);
    assertStrictEquals(await pool.get(), held);
    await pool.ret(held);
    assertEquals(spy.added.length, 1);
    await shutDown(pool, clock);
  });
});

Deno.test("Pool removes a shared signal's listener when the last of its 1 000 waiters is served, not before", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 1 });
    let obj = await lendNew(pool, factory);
    const controller = new AbortController();
    const spy = spyAbortListeners(controller.signal);
    const waiters = Array.from(
      { length: 1_000 },
      () => pool.get({ signal: controller.signal }),
    );
    assertEquals(spy.added.length, 1);
    for (let i = 0; i < waiters.length; i++) {
      assertEquals(spy.removed.length, 0, `removed before waiter ${i} left`);
      await pool.ret(obj); // straight to waiter i
      obj = await waiters[i];
    }
    assertEquals(spy.removed, spy.added);
    controller.abort(); // nobody listens any more
    assertEquals(pool.stats().naborts, 0);
    await pool.ret(obj);
    await shutDown(pool, clock);
  });
});

Deno.test("Pool removes a shared signal's listener when the last of its 1 000 waiters times out, not before", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 1 });
    const held = await lendNew(pool, factory);
    const controller = new AbortController();
    const spy = spyAbortListeners(controller.signal);
    const signal = controller.signal;
    const early = Array.from(
      { length: 999 },
      () => track(pool.get({ signal, timeout: 50 })),
    );
    const last = track(pool.get({ signal, timeout: 100 }));
    assertEquals(spy.added.length, 1);
    await clock.advance(50, nextTurn);
    for (const w of early) assertInstanceOf(w.reason, TimeoutError);
    assertEquals(last.state, "pending");
    assertEquals(spy.removed.length, 0);
    await clock.advance(50, nextTurn);
    assertInstanceOf(last.reason, TimeoutError);
    assertEquals(spy.removed, spy.added);
    assertEquals(pool.stats().ntimeouts, 1_000);
    await pool.ret(held);
    await shutDown(pool, clock);
  });
});

Deno.test("Pool removes a shared signal's listener with its last waiter, whether served, timed out, failed by a creation or refused at shutdown", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 2, maxCreating: 1 });
    const obj0 = await lendNew(pool, factory);
    const obj1 = await lendNew(pool, factory);
    const controller = new AbortController();
    const signal = controller.signal;
    const spy = spyAbortListeners(signal);
    const served = track(pool.get({ signal }));
    const timedOut = track(pool.get({ signal, timeout: 10 }));
    const failed = track(pool.get({ signal }));
    const refused = track(pool.get({ signal }));
    assertEquals(spy.added.length, 1);
    await pool.ret(obj0);
    await nextTurn();
    assertStrictEquals(served.value, obj0);
    await clock.advance(10, nextTurn);
    assertInstanceOf(timedOut.reason, TimeoutError);
    // a discard frees a slot: a creation starts, and its failure goes to
    // the oldest waiter
    await pool.ret(obj1, { discard: true });
    assertEquals(pool.ncreating, 1);
    const broken = new Error("server gone");
    factory.fail(2, broken);
    await nextTurn();
    assertStrictEquals(failed.reason, broken);
    assertEquals(refused.state, "pending");
    assertEquals(spy.removed.length, 0);
    const done = pool.shutdown({ grace: 1_000 });
    await nextTurn();
    assertInstanceOf(refused.reason, PoolError);
    assertEquals(spy.removed, spy.added);
    await pool.ret(obj0); // within grace
    await done;
    assertEquals(factory.ledger.closes.get(obj0), 1);
    await nextTurn();
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Pool waiters on different signals each get their own listener; aborting one signal rejects only its waiters", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 1 });
    const held = await lendNew(pool, factory);
    const first = new AbortController();
    const second = new AbortController();
    const spy1 = spyAbortListeners(first.signal);
    const spy2 = spyAbortListeners(second.signal);
    const on1 = [0, 1, 2].map(() => track(pool.get({ signal: first.signal })));
    const on2 = [0, 1, 2].map(() => track(pool.get({ signal: second.signal })));
    assertEquals([spy1.added.length, spy2.added.length], [1, 1]);
    assertNotStrictEquals(spy1.added[0], spy2.added[0]);
    const reason = new Error("first batch cancelled");
    first.abort(reason);
    await nextTurn();
    for (const w of on1) assertStrictEquals(w.reason, reason);
    for (const w of on2) assertEquals(w.state, "pending");
    assertEquals(pool.nwaiting, 3);
    assertEquals(spy2.removed.length, 0);
    assertEquals(pool.stats().naborts, 3);
    // the second signal still works
    second.abort();
    await nextTurn();
    for (const w of on2) assertEquals(w.state, "rejected");
    assertEquals(pool.stats().naborts, 6);
    await pool.ret(held);
    await shutDown(pool, clock);
  });
});

Deno.test("Pool waiter aborting through its own signal leaves the others queued in order, their listeners in place", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 1 });
    const held = await lendNew(pool, factory);
    const own = new AbortController();
    const shared = new AbortController();
    const ownSpy = spyAbortListeners(own.signal);
    const sharedSpy = spyAbortListeners(shared.signal);
    const before = track(pool.get({ signal: shared.signal }));
    const leaving = track(pool.get({ signal: own.signal }));
    const after = track(pool.get({ signal: shared.signal }));
    const plain = track(pool.get());
    assertEquals(ownSpy.added.length, 1);
    own.abort();
    await nextTurn();
    assertEquals(leaving.state, "rejected");
    assertInstanceOf(leaving.reason, DOMException);
    assertEquals((leaving.reason as DOMException).name, "AbortError");
    assertEquals([before.state, after.state, plain.state], [
      "pending",
      "pending",
      "pending",
    ]);
    assertEquals(pool.nwaiting, 3);
    assertEquals(sharedSpy.removed.length, 0);
    assertEquals(pool.stats().naborts, 1);
    // first come, first served among those left
    const order: string[] = [];
    const serve = async (name: string, w: Tracked<Res>) => {
      const obj = await w.promise;
      order.push(name);
      await pool.ret(obj);
    };
    const served = [
      serve("before", before),
      serve("after", after),
      serve("plain", plain),
    ];
    await pool.ret(held);
    await Promise.all(served);
    assertEquals(order, ["before", "after", "plain"]);
    assertEquals(sharedSpy.removed, sharedSpy.added);
    await shutDown(pool, clock);
  });
});

// ---- TimeoutError says why ----

Deno.test("Pool TimeoutError says all objects are in use", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 2 });
    const a = await lendNew(pool, factory);
    const b = await lendNew(pool, factory);
    const waiter = track(pool.get({ timeout: 5 }));
    await clock.advance(4, nextTurn);
    assertEquals(waiter.state, "pending");
    await clock.advance(1, nextTurn);
    const error = rejection(waiter, TimeoutError);
    assertWhy(
      error,
      `within 5 ms: all 2 objects are in use (maxSize 2), return them sooner or raise maxSize`,
    );
    assertEquals(error.cause, undefined);
    assertEquals(pool.stats().ntimeouts, 1);
    await pool.ret(a);
    await pool.ret(b);
    await shutDown(pool, clock);
  });
});

Deno.test("Pool TimeoutError says creations are failing, with the last creation error as cause", async () => {
  await withFakeClock(async (clock) => {
    const errors: Error[] = [];
    const pool = new Pool({
      fun: (n): object => {
        const err = new Error(`connection refused (attempt ${n})`);
        errors.push(err);
        throw err;
      },
      minSize: 1, // the constructor's fill fails: attempt 0
      backoffBase: 100,
      backoffMax: 10_000,
    });
    await nextTurn();
    // the retry after at most backoffBase fails too (attempt 1); the next
    // one is at least 100 ms later
    await clock.advance(100, nextTurn);
    assertEquals(errors.length, 2);
    const now = track(pool.get({ timeout: 0 }));
    await nextTurn();
    const refusal = rejection(now, TimeoutError);
    assertWhy(
      refusal,
      `as none is idle and no creation may start, and 'timeout' is 0 (never waits): creating objects failed (last: connection refused (attempt 1)), see cause`,
    );
    assertStrictEquals(refusal.cause, errors[1]);
    const waiter = track(pool.get({ timeout: 20 }));
    await clock.advance(20, nextTurn);
    assertEquals(errors.length, 2); // still in back-off
    const error = rejection(waiter, TimeoutError);
    assertWhy(
      error,
      `within 20 ms: creating objects failed (last: connection refused (attempt 1)), see cause`,
    );
    assertStrictEquals(error.cause, errors[1]); // the last, not the first
    assertEquals(pool.stats().ntimeouts, 2);
    await shutDown(pool, clock);
  });
});

Deno.test("Pool TimeoutError says creations are pending and none finished in time", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 2, maxCreating: 2 });
    const waiters = [track(pool.get({ timeout: 5 })), track(pool.get())];
    assertEquals(pool.ncreating, 2);
    await clock.advance(5, nextTurn);
    const error = rejection(waiters[0], TimeoutError);
    assertWhy(
      error,
      `within 5 ms: 2 creations are pending and none finished in time (a slow or unreachable server?)`,
    );
    assertEquals(error.cause, undefined);
    // the creations are not lost: the first object goes to the caller
    // still waiting, the second becomes idle
    const obj0 = factory.finish(0);
    factory.finish(1);
    await nextTurn();
    assertStrictEquals(waiters[1].value, obj0);
    assertEquals(pool.navail, 1);
    await pool.ret(obj0);
    await shutDown(pool, clock);
  });
});

Deno.test("Pool TimeoutError says objects are failing their check when the only object failed it and is still closing", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    let failing = false;
    const closing = Promise.withResolvers<void>();
    const pool = factoryPool(factory, {
      maxSize: 1,
      check: () => !failing,
      checkSkip: 0,
      closer: async (r) => {
        await closing.promise;
        factory.ledger.close(r);
      },
    });
    const obj0 = await lendNew(pool, factory);
    await pool.ret(obj0);
    failing = true; // the server dropped the connection
    const waiter = track(pool.get({ timeout: 50 }));
    await nextTurn(); // the check ran and failed: obj0 is closing
    assertEquals(pool.stats().badChecks, 1);
    assertEquals(factory.ledger.closes.get(obj0), undefined);
    assertEquals([pool.nobjs, pool.nusing, pool.ncreating], [1, 0, 0]);
    await clock.advance(50, nextTurn);
    const error = rejection(waiter, TimeoutError);
    assertWhy(
      error,
      `within 50 ms: no object is in use but none was ready (objects failing their check, or closing)`,
    );
    assertEquals(error.cause, undefined);
    closing.resolve();
    await nextTurn();
    assertEquals(factory.ledger.closes.get(obj0), 1);
    await shutDown(pool, clock);
  });
});

Deno.test("Pool TimeoutError blames the check when new objects fail it, never pointing to a cause it lacks", async () => {
  await withFakeClock(async (clock) => {
    let made = 0;
    const pool = new Pool({
      fun: () => ({ n: made++ }),
      check: () => false, // a server that accepts connections, then fails
      checkSkip: 0,
      maxSize: 1,
      minSize: 0,
      backoffBase: 1_000,
    });
    const waiter = track(pool.get({ timeout: 50 }));
    await nextTurn(); // object 0 was made, checked, failed and closed
    assertEquals([made, pool.stats().badChecks, pool.nobjs], [1, 1, 0]);
    await clock.advance(50, nextTurn);
    const error = rejection(waiter, TimeoutError);
    assert(
      !error.message.includes("see cause") || error.cause !== undefined,
      `says "see cause" without a cause: ${error.message}`,
    );
    assert(
      error.message.includes("failing their check"),
      `does not name the failing check: ${error.message}`,
    );
    await shutDown(pool, clock);
  });
});

// ---- stats as JSON ----

Deno.test("Pool String(pool) parses to exactly stats(), Infinity limits shown as null", async () => {
  await withFakeClock(async (clock) => {
    const cases: [
      Partial<PoolOptions<object>>,
      number | null,
      number | null,
    ][] = [
      [{ timeout: Infinity, createTimeout: Infinity }, null, null],
      [{ timeout: 250, createTimeout: 750 }, 250, 750],
      [{ timeout: 0 }, 0, 10_000],
      [{}, 30_000, 10_000],
    ];
    for (const [options, timeout, createTimeout] of cases) {
      const pool = new Pool({ fun: () => ({}), minSize: 0, ...options });
      const text = String(pool);
      const s = pool.stats();
      assertEquals(
        [s.timeout, s.createTimeout],
        [timeout, createTimeout],
        JSON.stringify(options),
      );
      assertEquals(JSON.parse(text), s);
      await shutDown(pool, clock);
    }
  }, 1_700_000_000_000);
});

Deno.test("Pool String(pool) parses to exactly stats() after activity: objects idle and lent, a wait, an abort, a failure, housekeeping", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, {
      minSize: 1,
      maxSize: 3,
      timeout: Infinity,
      createTimeout: Infinity,
      maxUsingDelay: 10_000, // housekeeping every 5 s
      tracer: (r) => `conn ${r.n}`,
      stats: (r) => ({ n: r.n, tags: ["db", r.open ? "open" : "closed"] }),
    });
    const obj0 = factory.finish(0); // the constructor's fill
    await pool.fill();
    assertStrictEquals(await pool.get(), obj0);
    await clock.advance(7.25, nextTurn);
    const failed = track(pool.get()); // call 1 fails
    factory.fail(1, new Error("connection refused"));
    await nextTurn();
    assertEquals(failed.state, "rejected");
    await clock.advance(1_000, nextTurn); // the back-off ends
    const waited = track(pool.get()); // call 2, done 3.5 ms later
    await clock.advance(3.5, nextTurn);
    const obj2 = factory.finish(2);
    await nextTurn();
    assertStrictEquals(waited.value, obj2);
    const controller = new AbortController();
    const aborted = track(pool.get({ signal: controller.signal })); // call 3
    controller.abort();
    await nextTurn();
    assertEquals(aborted.state, "rejected");
    await pool.ret(obj2);
    await clock.advance(5_000, nextTurn); // one housekeeping round
    assertStrictEquals(await pool.get(), obj2);
    const pending = track(pool.get()); // waits for call 3, still in flight
    await clock.advance(0.5, nextTurn);

    const text = String(pool);
    const s = pool.stats();
    // the snapshot is not trivial: every kind of value is in it
    assertEquals([s.timeout, s.createTimeout], [null, null]);
    assertEquals([s.nusing, s.nwaiting, s.ncreating, s.nobjs], [2, 1, 1, 2]);
    assertEquals(s.using.map((o) => o.trace), ["conn 0", "conn 2"]);
    assertEquals(s.using[0].stats, { n: 0, tags: ["db", "open"] });
    assertEquals(s.using[0].age, 6_011.25);
    assertEquals(s.lastCreateError, "connection refused");
    assertEquals([s.naborts, s.ncreateErrors, s.hkRounds], [1, 1, 1]);
    assertEquals(s.waitMax, 3.5);
    assertEquals(s.relHkLast, -1_011.25); // the round ran at +5 000
    assertEquals(s.now, 1_700_000_000_000);
    assertEquals(JSON.parse(text), s);

    const obj3 = factory.finish(3);
    await nextTurn();
    assertStrictEquals(pending.value, obj3);
    for (const obj of [obj0, obj2, obj3]) await pool.ret(obj);
    assertEquals(JSON.parse(String(pool)), pool.stats());
    await shutDown(pool, clock);
  }, 1_700_000_000_000);
});

// ---- bad signals ----

Deno.test("Pool.get() refuses a signal that is not an AbortSignal at once, and on an exhausted pool nothing fires later", async () => {
  await withFakeClock(async (clock) => {
    const factory = new Factory();
    const pool = factoryPool(factory, { maxSize: 1, timeout: 100 });
    const held = await lendNew(pool, factory);
    const timers = clock.poolTimers();
    const before = pool.stats();
    const cases: [unknown, string][] = [
      [null, "null"],
      [{}, "[object Object]"],
      ["abc", `"abc"`],
      [5n, "5n"],
      [{ aborted: true, reason: "duck" }, "[object Object]"],
    ];
    const outcomes: [Tracked<Res>, string][] = [];
    for (const [signal, shown] of cases) {
      for (const options of [{}, { timeout: 20 }]) {
        let got: Promise<Res>;
        try {
          got = pool.get({ ...options, signal: signal as AbortSignal });
        } catch (err) {
          got = Promise.reject(err); // thrown at once is as good
        }
        outcomes.push([track(got), shown]);
      }
    }
    await nextTurn(); // no time passes
    for (const [outcome, shown] of outcomes) {
      assertEquals(
        rejection(outcome, TypeError).message,
        `Cannot get an object as 'signal' must be an AbortSignal: current value is ${shown}`,
      );
    }
    assertEquals(pool.nwaiting, 0);
    assertEquals(clock.poolTimers(), timers, "no deadline armed");
    // a deadline left by a refused call would fire here; its rejection,
    // unhandled, would fail the test
    await clock.advance(150, nextTurn);
    const s = pool.stats();
    assertEquals([s.ntimeouts, s.naborts, s.nwaits], [
      before.ntimeouts,
      before.naborts,
      before.nwaits,
    ]);
    // still usable
    const next = track(pool.get({ signal: new AbortController().signal }));
    await pool.ret(held);
    await nextTurn();
    assertStrictEquals(next.value, held);
    await pool.ret(held);
    await shutDown(pool, clock);
  });
});

// ---- misspelt option names ----

Deno.test("new Pool() refuses misspelt names of maxCreating, createTimeout and closeTimeout, naming them", () => {
  const fun = () => ({});
  const cases: [Record<string, unknown>, string][] = [
    [
      { maxcreating: 1 },
      "maxcreating' is not an option: did you mean 'maxCreating'?",
    ],
    [
      { createtimeout: 10 },
      "createtimeout' is not an option: did you mean 'createTimeout'?",
    ],
    [
      { closetimeout: 10 },
      "closetimeout' is not an option: did you mean 'closeTimeout'?",
    ],
    [
      { maxCreatng: 1 },
      "maxCreatng' is not an option: did you mean 'maxCreating'?",
    ],
    [
      { createTimout: 10 },
      "createTimout' is not an option: did you mean 'createTimeout'?",
    ],
    [
      { close_timeout: 10 },
      "close_timeout' is not an option: did you mean 'closeTimeout'?",
    ],
  ];
  for (const [extra, message] of cases) {
    const error = assertThrows(
      () => new Pool({ fun, ...extra } as unknown as PoolOptions<object>),
      TypeError,
    );
    assertEquals(error.message, `Cannot create pool as '${message}`);
  }
  // the right spellings are taken
  const pool = new Pool({
    fun,
    minSize: 0,
    maxCreating: 1,
    createTimeout: 10,
    closeTimeout: 10,
  });
  assertEquals(pool.stats().maxCreating, 1);
  return pool.shutdown();
});
