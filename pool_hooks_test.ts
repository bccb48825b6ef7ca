import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { Pool, type PoolOptions } from "./pool.ts";
import type { PoolHook } from "./hooks.ts";
import { Ledger, type Res, text, waitFor, withLogs } from "./_testing.ts";

type Hook = "opener" | "getter" | "retter" | "closer";

// A pool whose hooks record "<hook> <n>" in `calls`, each hook sync or
// async as asked, and throwing where asked.
function recordingPool(
  calls: string[],
  mode: "sync" | "async",
  throwing: Hook[] = [],
  options: Partial<PoolOptions<{ n: number }>> = {},
): Pool<{ n: number }> {
  const hook = (name: Hook): PoolHook<{ n: number }> =>
    mode === "sync"
      ? (obj) => {
        calls.push(`${name} ${obj.n}`);
        if (throwing.includes(name)) throw new Error(`${name} broke`);
      }
      : async (obj) => {
        await delay(1);
        calls.push(`${name} ${obj.n}`);
        if (throwing.includes(name)) throw new Error(`${name} broke`);
      };
  return new Pool({
    fun: mode === "sync"
      ? (n) => {
        calls.push(`fun ${n}`);
        return { n };
      }
      : async (n) => {
        await delay(1);
        calls.push(`fun ${n}`);
        return { n };
      },
    opener: hook("opener"),
    getter: hook("getter"),
    retter: hook("retter"),
    closer: hook("closer"),
    minSize: 0,
    ...options,
  });
}

for (const mode of ["sync", "async"] as const) {
  Deno.test(`Pool calls ${mode} hooks in life-cycle order: fun, opener, getter, retter, closer`, async () => {
    const calls: string[] = [];
    const pool = recordingPool(calls, mode, [], { maxUse: 2 });
    const obj = await pool.get();
    assertEquals(calls, ["fun 0", "opener 0", "getter 0"]);
    await pool.ret(obj);
    assertEquals(calls.at(-1), "retter 0");
    await pool.use(() => {});
    // the second return wore it out: retter, then closer, before ret resolved
    assertEquals(calls.slice(4), ["getter 0", "retter 0", "closer 0"]);
    await pool.shutdown();
    assertEquals(calls.length, 7); // nothing left to close
  });

  Deno.test(`Pool resolves get, ret and shutdown only after their ${mode} hooks settled`, async () => {
    const calls: string[] = [];
    const pool = recordingPool(calls, mode);
    const obj = await pool.get();
    assertEquals(calls.at(-1), "getter 0");
    await pool.ret(obj);
    assertEquals(calls.at(-1), "retter 0");
    await pool.shutdown();
    assertEquals(calls.at(-1), "closer 0");
  });

  Deno.test(`Pool treats a failing ${mode} opener as a failed creation: error to the caller, object closed, no slot lost`, async () => {
    const calls: string[] = [];
    const pool = recordingPool(calls, mode, ["opener"], {
      maxSize: 1,
      backoffBase: 0,
    });
    await assertRejects(() => pool.get(), Error, "opener broke");
    assertEquals(calls, ["fun 0", "opener 0", "closer 0"]);
    assertEquals([pool.nobjs, pool.ncreating], [0, 0]);
    await pool.shutdown();
  });

  Deno.test(`Pool logs a failing ${mode} getter and still hands out`, async () => {
    const calls: string[] = [];
    await withLogs(async (records) => {
      const pool = recordingPool(calls, mode, ["getter"], { maxSize: 1 });
      const obj = await pool.get();
      await pool.ret(obj);
      assertStrictEquals(await pool.get(), obj);
      await pool.ret(obj);
      assertEquals(pool.stats().hookErrors, 2);
      assertEquals(pool.navail, 1);
      const errors = records.filter((r) => r.level === "error").map(text);
      assert(errors.some((t) => t.includes("getter failed on Object#0")));
      await pool.shutdown();
    });
  });

  Deno.test(`Pool closes an object whose ${mode} retter fails: it could not be reset`, async () => {
    const calls: string[] = [];
    await withLogs(async (records) => {
      const pool = recordingPool(calls, mode, ["retter"], { maxSize: 1 });
      const obj = await pool.get();
      await pool.ret(obj); // resolves: the ret still succeeds
      assertEquals(calls.slice(-2), ["retter 0", "closer 0"]);
      const next = await pool.get({ timeout: 1_000 });
      assertEquals(next.n, 1); // never lent again
      const s = pool.stats();
      assertEquals([s.hookErrors, s.badResets, s.ndestroys], [1, 1, 1]);
      const errors = records.filter((r) => r.level === "error").map(text);
      assert(errors.some((t) => t.includes("retter broke")));
      await pool.ret(next).catch(() => {});
      await pool.shutdown();
    });
  });

  Deno.test(`Pool survives a failing ${mode} closer: the object still leaves and its slot is freed`, async () => {
    const calls: string[] = [];
    const pool = recordingPool(calls, mode, ["closer"], {
      maxSize: 1,
      maxUse: 1,
    });
    const a = await pool.get();
    await pool.ret(a);
    assertEquals(calls.at(-1), "closer 0");
    const b = await pool.get({ timeout: 1_000 });
    assertEquals(b.n, 1);
    await pool.ret(b);
    await pool.shutdown();
    assertEquals(pool.stats().hookErrors, 2);
  });
}

Deno.test("Pool does not run retter on double, foreign or killed returns", async () => {
  const calls: string[] = [];
  const pool = recordingPool(calls, "sync", [], { maxUsingDelayKill: 5 });
  const obj = await pool.get();
  await waitFor(() => pool.stats().nkilled === 1, "the kill");
  await pool.ret(obj); // killed
  await pool.ret({ n: 99 }); // foreign
  assertFalse(calls.some((c) => c.startsWith("retter")));
  assertEquals(calls.filter((c) => c === "closer 0").length, 1);
  await pool.shutdown();
});

Deno.test("Pool health hook runs on available objects only, sync or async", async () => {
  const ledger = new Ledger();
  const checked: number[] = [];
  await using pool = new Pool<Res>({
    fun: (n) => ledger.make(n),
    minSize: 2,
    hkDelay: 3,
    health: async (r) => {
      await delay(0);
      checked.push(r.n);
      return r.n !== 1 || checked.length < 2;
    },
  });
  await pool.fill();
  const held = await pool.get();
  await waitFor(() => checked.length >= 3, "three checks");
  assertFalse(checked.includes(held.n));
  await pool.ret(held);
});

Deno.test("Pool health check that hangs is bounded by one housekeeping delay", async () => {
  const ledger = new Ledger();
  await using pool = new Pool<Res>({
    fun: (n) => ledger.make(n),
    closer: (r) => ledger.close(r),
    minSize: 1,
    maxSize: 1,
    hkDelay: 10,
    health: (r) => r.n === 0 ? new Promise<boolean>(() => {}) : true,
  });
  await pool.fill();
  const before = performance.now();
  await waitFor(() => ledger.closes.size === 1, "the hung object closed");
  const elapsed = performance.now() - before;
  // round at 10 ms, verdict at 20 ms; far below the 5 s waitFor limit
  assert(elapsed < 2_000, `took ${elapsed} ms`);
  const obj = await pool.get({ timeout: 1_000 });
  assertEquals(obj.n, 1);
  await pool.ret(obj);
});

Deno.test("Pool stats and tracer hooks describe objects; throwing ones do not break stats()", async () => {
  let broken = false;
  await using pool = new Pool({
    fun: (n) => ({ n }),
    minSize: 1,
    stats: (o) => {
      if (broken) throw new Error("stats broke");
      return { n: o.n };
    },
    tracer: (o) => {
      if (broken) throw new Error("tracer broke");
      return `conn ${o.n}`;
    },
  });
  await pool.fill();
  assertEquals(pool.stats().avail[0].trace, "conn 0");
  assertEquals(pool.stats().avail[0].stats, { n: 0 });
  broken = true;
  const entry = pool.stats().avail[0];
  assertEquals(entry.trace, "<tracer failed: tracer broke>");
  assertEquals(entry.stats, { error: "stats broke" });
  JSON.parse(String(pool));
});

Deno.test("Pool without a tracer names objects by class and creation number", async () => {
  class Client {}
  await using pool = new Pool({ fun: () => new Client(), minSize: 2 });
  await pool.fill();
  assertEquals(pool.stats().avail.map((a) => a.trace).sort(), [
    "Client#0",
    "Client#1",
  ]);
});

// ---- logging ----

Deno.test("Pool logs under the LogTape category ppp.pool, with the pool's name", async () => {
  await withLogs(async (records) => {
    await using pool = new Pool({ fun: () => ({}), minSize: 0 });
    await using named = new Pool({ fun: () => ({}), minSize: 0, name: "db" });
    await pool.ret({});
    await named.ret({});
    const warnings = records.filter((r) => r.level === "warning");
    assertEquals(warnings.map((r) => r.category), [
      ["ppp", "pool"],
      ["ppp", "pool"],
    ]);
    assertEquals(
      warnings.map((r) => r.properties.pool),
      [`pool-${pool.stats().id}`, "db"],
    );
    assertEquals(named.stats().name, "db");
  });
});

Deno.test("Pool is silent unless the application configures LogTape", async () => {
  const original = { ...console };
  const printed: unknown[] = [];
  for (const k of ["log", "info", "warn", "error", "debug"] as const) {
    console[k] = (...args: unknown[]) => printed.push(args);
  }
  try {
    await using pool = new Pool<object>({
      fun: () => {
        throw new Error("down");
      },
      minSize: 0,
    });
    await pool.ret({}); // a warning
    await assertRejects(() => pool.get()); // an error
  } finally {
    Object.assign(console, original);
  }
  assertEquals(printed, []);
});

Deno.test("Pool logLevel filters that pool only", async () => {
  await withLogs(async (records) => {
    await using quiet = new Pool({
      fun: () => ({}),
      minSize: 0,
      logLevel: "error",
    });
    await using chatty = new Pool({ fun: () => ({}), minSize: 0 });
    await quiet.ret({});
    await chatty.ret({});
    const warners = records.filter((r) => r.level === "warning").map((r) =>
      r.properties.pool
    );
    assertEquals(warners, [chatty.stats().name]);
  });
});

Deno.test("Pool logs reach an application that configured LogTape 1.x", async () => {
  // LogTape keeps its configuration on globalThis, shared by every copy:
  // an app on the other major still gets the library's records.
  const v1 = await import("logtape-1");
  const records: { category: readonly string[] }[] = [];
  await v1.configure({
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["ppp"], lowestLevel: "warning", sinks: ["mem"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    await using pool = new Pool({ fun: () => ({}), minSize: 0 });
    await pool.ret({}); // a foreign return: one warning
    assertEquals(records.map((r) => r.category), [["ppp", "pool"]]);
  } finally {
    await v1.reset();
  }
});

Deno.test("Pool closes an object whose retter hangs past hookTimeout; ret still resolves", async () => {
  const closed: number[] = [];
  let hang = true;
  await using pool = new Pool<{ n: number }>({
    fun: (n) => ({ n }),
    retter: () => hang ? new Promise<void>(() => {}) : undefined,
    closer: (obj) => {
      closed.push(obj.n);
    },
    hookTimeout: 20,
    maxSize: 1,
    minSize: 0,
  });
  const obj = await pool.get();
  await pool.ret(obj);
  assertEquals(closed, [0]);
  assertEquals(pool.stats().badResets, 1);
  hang = false;
  const next = await pool.get();
  assertEquals(next.n, 1);
  await pool.ret(next);
  assertEquals(pool.navail, 1);
});

Deno.test("Pool getter that hangs past hookTimeout is logged; the get still succeeds", async () => {
  await withLogs(async (records) => {
    await using pool = new Pool<{ n: number }>({
      fun: (n) => ({ n }),
      getter: () => new Promise<void>(() => {}),
      hookTimeout: 20,
      minSize: 0,
    });
    const obj = await pool.get();
    assertEquals(obj.n, 0);
    assertEquals(pool.stats().hookErrors, 1);
    const errors = records.filter((r) => r.level === "error").map(text);
    assert(errors.some((t) => t.includes("hookTimeout (20 ms)")));
    await pool.ret(obj);
  });
});
