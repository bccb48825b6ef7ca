import {
  assert,
  assertEquals,
  assertFalse,
  assertNotStrictEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { ProxyError } from "./errors.ts";
import { Proxy } from "./proxy.ts";
import { isScope, Scope, scoped } from "./scope.ts";
import { waitFor } from "./_testing.ts";

interface Conn {
  id: number;
  query(sql: string): string;
}

/** A proxy over an async fun that counts live objects through its closer. */
function counted(options: { maxSize?: number; scope?: Scope } = {}) {
  const live = { now: 0, max: 0, made: 0 };
  const db = new Proxy<Conn>({
    fun: async (n) => {
      await Promise.resolve();
      live.made++;
      live.max = Math.max(live.max, ++live.now);
      return { id: n, query: (sql) => `${n}: ${sql}` };
    },
    closer: () => {
      live.now--;
    },
    name: "db",
    ...options,
  });
  return { db, live };
}

Deno.test("Scope values: VERSATILE is an alias of ASYNC", () => {
  assertEquals(Scope.VERSATILE, Scope.ASYNC);
  assertEquals(
    [Scope.AUTO, Scope.SHARED, Scope.THREAD, Scope.ASYNC],
    ["auto", "shared", "thread", "async"],
  );
  assert(isScope("async"));
  assertFalse(isScope("werkzeug"));
});

Deno.test("scoped() returns what fn returns and rejects with what fn throws", async () => {
  assertEquals(await scoped(() => 42), 42);
  assertEquals(await scoped(() => Promise.resolve("x")), "x");
  await assertRejects(
    () =>
      scoped(() => {
        throw new RangeError("bad");
      }),
    RangeError,
    "bad",
  );
  assertThrows(
    () => scoped(42 as unknown as () => void),
    TypeError,
    "Cannot run a scope as 'fn' must be a function: current value is 42",
  );
});

Deno.test("scoped() returns every object bound inside it when fn resolves", async () => {
  const { db, live } = counted();
  await using _ = db;
  const other = new Proxy<{ n: number }>({ fun: (n) => ({ n }) });
  await using __ = other;
  await scoped(async () => {
    await db._getObj();
    await other._getObj();
    assertEquals([db._pool?.nusing, other._pool?.nusing], [1, 1]);
  });
  assertEquals([db._pool?.nusing, other._pool?.nusing], [0, 0]);
  assertEquals([db._pool?.navail, other._pool?.navail], [1, 1]);
  assertEquals(live.now, 1);
});

Deno.test("scoped() returns every object bound inside it when fn rejects", async () => {
  const { db } = counted();
  await using _ = db;
  await assertRejects(
    () =>
      scoped(async () => {
        await db._getObj();
        db.query("SELECT 1");
        throw new Error("handler failed");
      }),
    Error,
    "handler failed",
  );
  assertEquals(db._pool?.nusing, 0);
  assertEquals(db._pool?.navail, 1);
});

Deno.test("ASYNC: two concurrent scopes never share an object", async () => {
  const { db } = counted({ scope: Scope.ASYNC, maxSize: 2 });
  await using _ = db;
  const { promise: gate, resolve: open } = Promise.withResolvers<void>();
  const both = Promise.all([0, 1].map(() =>
    scoped(async () => {
      const conn = await db._getObj();
      await gate; // both scopes hold their object at once
      assertStrictEquals(await db._getObj(), conn); // stable in the scope
      return db.id;
    })
  ));
  // Let both scopes bind before releasing them.
  while (db._pool?.nusing !== 2) await Promise.resolve();
  open();
  const ids = await both;
  assertEquals(ids.toSorted(), [0, 1]);
});

Deno.test("ASYNC: concurrent _getObj() calls in one scope bind one object", async () => {
  const { db, live } = counted();
  await using _ = db;
  await scoped(async () => {
    const [a, b, c] = await Promise.all([
      db._getObj(),
      db._getObj(),
      db._getObj(),
    ]);
    assertStrictEquals(a, b);
    assertStrictEquals(b, c);
    assertEquals(db._pool?.nusing, 1);
  });
  assertEquals(live.made, 1);
});

Deno.test("ASYNC: _retObj() gives the object back early; the next _getObj() binds another", async () => {
  const { db } = counted({ maxSize: 1 });
  await using _ = db;
  await scoped(async () => {
    await db._getObj();
    assert(db._hasObj());
    await db._retObj();
    assertFalse(db._hasObj());
    assertEquals(db._pool?.nusing, 0);
    assertThrows(() => db.id, ProxyError, "call `await db._getObj()` first");
    await db._getObj();
    assertEquals(db.id, 0); // the same pooled object came back
  });
  assertEquals(db._pool?.nusing, 0);
});

Deno.test("ASYNC outside any scope has no object: _getObj() rejects and a member throws, naming scoped()", async () => {
  const { db, live } = counted();
  await using _ = db;
  const message =
    'Cannot use proxy "db" outside a scope, as it gives one object per scope: run the request in `scoped()` and call `await db._getObj()` first there (or choose `Scope.THREAD` to share one object per isolate on purpose)';
  await assertRejects(() => db._getObj(), ProxyError, message);
  assertThrows(
    () => db.query("x"),
    ProxyError,
    "Cannot use 'query' of proxy \"db\" outside a scope",
  );
  assertFalse(db._hasObj());
  await db._retObj(); // nothing to return: does nothing
  // a scope gets its object, and gives it back
  assertEquals(await scoped(async () => (await db._getObj()).id), 0);
  assertEquals(db._pool?.nusing, 0);
  // _obj() borrows one just for its function, outside scopes too
  assertEquals(await db._obj((c) => c.query("y")), "0: y");
  assertEquals(live.made, 1);
});

Deno.test("ASYNC: two concurrent requests outside scoped() never share one object", async () => {
  const { db } = counted();
  await using _ = db;
  const results = await Promise.allSettled([db._getObj(), db._getObj()]);
  assertEquals(results.map((r) => r.status), ["rejected", "rejected"]);
  assertEquals(db._pool?.nusing, 0);
});

Deno.test("A _getObj() left unawaited whose scope ends first never becomes an unhandled rejection", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  await using db = new Proxy<{ n: number }>({
    fun: async (n) => {
      await gate;
      return { n };
    },
    name: "db",
  });
  let early: Promise<unknown> | undefined;
  await scoped(() => {
    early = db._getObj(); // not awaited: the scope ends first
  });
  release();
  const error = await assertRejects(() => early!, ProxyError);
  assert(error.message.includes("scope ended"), error.message);
  // the object that came late went back to the pool
  await waitFor(
    () => db._pool?.nusing === 0 && db._pool?.navail === 1,
    "the late object back in the pool",
  );
});

Deno.test("THREAD: every scope of the isolate shares one object", async () => {
  const { db, live } = counted({ scope: Scope.THREAD });
  await using _ = db;
  const seen = await Promise.all(
    [0, 1, 2].map(() => scoped(() => db._getObj())),
  );
  assertStrictEquals(seen[0], seen[1]);
  assertStrictEquals(seen[1], seen[2]);
  assertEquals(db.id, 0); // still bound outside the scopes
  assertEquals(live.made, 1);
});

Deno.test("AUTO: an obj is SHARED, a fun is ASYNC", async () => {
  const shared = new Proxy<{ n: number }>({ obj: { n: 1 } });
  assertEquals(await scoped(() => shared.n), 1);
  const { db } = counted({ scope: Scope.AUTO });
  await using _ = db;
  const [a, b] = await Promise.all([
    scoped(async () => {
      await db._getObj();
      return db.id;
    }),
    scoped(async () => {
      await db._getObj();
      return db.id;
    }),
  ]);
  assertNotStrictEquals(a, b);
});

Deno.test("Nested scoped() is a fresh scope: its objects go back when the inner fn settles", async () => {
  const { db } = counted();
  await using _ = db;
  await scoped(async () => {
    const outer = await db._getObj();
    await scoped(async () => {
      assertFalse(db._hasObj()); // the outer binding is not visible
      const inner = await db._getObj();
      assertNotStrictEquals(inner, outer);
      assertEquals(db._pool?.nusing, 2);
    });
    assertEquals(db._pool?.nusing, 1);
    assertStrictEquals(await db._getObj(), outer); // outer still bound
  });
  assertEquals(db._pool?.nusing, 0);
});

Deno.test("A scope whose proxy got a new fun binds from the new pool; its old object goes back to the old one", async () => {
  const closed: string[] = [];
  await using db = new Proxy<{ name: string }>({
    fun: (n) => ({ name: `old ${n}` }),
    closer: (obj) => {
      closed.push(obj.name);
    },
  });
  const old = db._pool;
  await scoped(async () => {
    await db._getObj();
    assertEquals(db.name, "old 0");
    db.setFun((n) => ({ name: `new ${n}` }));
    assertFalse(db._hasObj()); // the old binding is stale
    assertThrows(() => db.name, ProxyError, "call `await proxy._getObj()`");
    await db._getObj();
    assertEquals(db.name, "new 0");
  });
  await db._shutdown();
  assert(old?.stats().shutdown);
  assertEquals(old?.nobjs, 0);
  assertEquals(closed.toSorted(), ["new 0", "old 0"]);
});

Deno.test("A proxy used after its scope ended throws ProxyError, never an object already returned", async () => {
  const { db } = counted();
  await using _ = db;
  const { promise: gate, resolve: open } = Promise.withResolvers<void>();
  let straggler: Promise<number> | undefined;
  await scoped(async () => {
    await db._getObj();
    straggler = gate.then(() => db.id); // runs in this scope, after its end
  });
  open();
  await assertRejects(
    () => straggler as Promise<number>,
    ProxyError,
    "Cannot use 'id' of proxy \"db\" as its scope has ended and its object went back",
  );
  assertEquals(db._pool?.nusing, 0);
});

Deno.test("An acquisition still waiting when its scope ends is withdrawn, and no object is lost", async () => {
  const { db } = counted({ maxSize: 1 });
  await using _ = db;
  const held = await db._pool?.get() as Conn;
  let pending: Promise<Conn> | undefined;
  await scoped(() => {
    pending = db._getObj(); // not awaited: the scope ends first
  });
  await assertRejects(
    () => pending as Promise<Conn>,
    ProxyError,
    "Cannot get an object for a proxy as its scope ended first",
  );
  assertEquals(db._pool?.nwaiting, 0);
  await db._pool?.ret(held);
  assertEquals(db._pool?.navail, 1);
});

Deno.test("An object that arrives after its scope ended goes straight back to the pool", async () => {
  const { promise: gate, resolve: open } = Promise.withResolvers<void>();
  await using db = new Proxy<{ n: number }>({
    fun: async (n) => {
      await gate;
      return { n };
    },
    name: "db",
  });
  let pending: Promise<{ n: number }> | undefined;
  const scope = scoped(() => {
    pending = db._getObj();
  });
  // The creation cannot be withdrawn: the pool keeps the object it makes.
  open();
  await scope;
  await assertRejects(() => pending as Promise<{ n: number }>, ProxyError);
  assertEquals(db._pool?.nusing, 0);
});

Deno.test("500 concurrent scoped requests over a pool of 5 all succeed, never more than 5 objects, all back at the end", async () => {
  const { db, live } = counted({ maxSize: 5 });
  await using _ = db;
  const answers = await Promise.all(
    Array.from({ length: 500 }, (_, i) =>
      scoped(async () => {
        await db._getObj();
        const first = db.query(`SELECT ${i}`);
        await Promise.resolve(); // yield while holding the connection
        assertEquals(db.query(`SELECT ${i}`), first); // same object all along
        return first;
      })),
  );
  assertEquals(answers.length, 500);
  assert(answers.every((a, i) => a.endsWith(`: SELECT ${i}`)));
  assert(live.max <= 5, `max live objects ${live.max}`);
  assertEquals(live.made, 5);
  const stats = db._pool?.stats();
  assertEquals(
    [stats?.nusing, stats?.navail, stats?.nwaiting, stats?.nuses],
    [0, 5, 0, 500],
  );
  await db._shutdown();
  assertEquals(live.now, 0);
});
