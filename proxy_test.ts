import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { ProxyError } from "./errors.ts";
import { Proxy } from "./proxy.ts";
import { Scope, scoped } from "./scope.ts";

const DENO_JSON = new URL("./deno.json", import.meta.url);

/** Runs `deno check` on a fixture of `testdata/`. */
async function denoCheck(
  fixture: string,
  config: string | URL,
): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "check",
      "--no-lock",
      "--config",
      config instanceof URL ? config.pathname : config,
      new URL(`./testdata/${fixture}`, import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return { code, output: text.decode(stdout) + text.decode(stderr) };
}

Deno.test("new Proxy<T>() type-checks every member of T, the control members and the setters", async () => {
  const { code, output } = await denoCheck(
    "proxy_types_pass.ts",
    DENO_JSON,
  );
  assertEquals(code, 0, output);
});

Deno.test("new Proxy<T>() fails type-checking on a misspelt member", async () => {
  // The fixture is excluded in deno.json (it must fail), so check it with a
  // config holding only the import map.
  const dir = await Deno.makeTempDir();
  try {
    const { imports } = JSON.parse(await Deno.readTextFile(DENO_JSON));
    const config = `${dir}/deno.json`;
    await Deno.writeTextFile(config, JSON.stringify({ imports }));
    const { code, output } = await denoCheck("proxy_types_fail.ts", config);
    assertEquals(code, 1, output);
    assertStringIncludes(output, "TS2551");
    assertStringIncludes(
      output,
      "Property 'qurey' does not exist on type 'Proxy<Client, \"set\">'. Did you mean 'query'?",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- forwarding

class Counter {
  #count = 0;
  static made = 0;
  constructor() {
    Counter.made++;
  }
  inc(): number {
    return ++this.#count;
  }
  get count(): number {
    return this.#count;
  }
  set count(value: number) {
    this.#count = value;
  }
}

Deno.test("Proxy forwards methods, getters and setters bound to a class with #private fields", () => {
  const counter = new Proxy<Counter>({ obj: new Counter() });
  assertEquals(counter.inc(), 1);
  const inc = counter.inc; // detached, still bound to the real object
  assertEquals(inc(), 2);
  counter.count = 10;
  assertEquals(counter.count, 10);
  assert(counter instanceof Counter);
});

Deno.test("Proxy forwards Map methods, size and iteration", () => {
  const map = new Proxy<Map<string, number>, "init">({ setName: "init" });
  map.initObj(new Map([["a", 1]]));
  map.set("b", 2); // Map.prototype.set, not a setter
  assertEquals(map.get("b"), 2);
  assertEquals(map.size, 2);
  assertEquals([...map], [["a", 1], ["b", 2]]);
  assertEquals([...map.keys()], ["a", "b"]);
  const seen: string[] = [];
  for (const [key] of map) seen.push(key);
  assertEquals(seen, ["a", "b"]);
  assert(map instanceof Map);
});

Deno.test("Proxy forwards Date: valueOf, Symbol.toPrimitive, toString and toJSON", () => {
  const real = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
  const date = new Proxy<Date>({ obj: real });
  assertEquals(date.getTime(), real.getTime());
  assertEquals(date.valueOf(), real.valueOf());
  assertEquals(+date, real.getTime()); // Symbol.toPrimitive, hint "number"
  assertEquals(`${date}`, `${real}`); // Symbol.toPrimitive, hint "string"
  assertEquals(date.toString(), real.toString());
  assertEquals(String(date), String(real));
  assertEquals(JSON.stringify(date), JSON.stringify(real)); // Date's toJSON
  assertEquals(JSON.stringify({ at: date }), JSON.stringify({ at: real }));
});

Deno.test("Proxy forwards URL getters and toString", () => {
  const url = new Proxy<URL>({ obj: new URL("https://example.org/a?b=1") });
  assertEquals(url.hostname, "example.org");
  assertEquals(url.searchParams.get("b"), "1");
  assertEquals(`${url}`, "https://example.org/a?b=1");
  assertEquals(JSON.stringify(url), '"https://example.org/a?b=1"');
});

Deno.test("Proxy forwards `in`, Object.keys, property writes and deletes", () => {
  const real: Record<string, number> = { a: 1, b: 2 };
  const obj = new Proxy<Record<string, number>>({ obj: real });
  assert("a" in obj);
  assertFalse("z" in obj);
  assert("_getObj" in obj); // control members are there too
  assertEquals(Object.keys(obj), ["a", "b"]);
  assertEquals(Object.entries(obj), [["a", 1], ["b", 2]]);
  assertEquals({ ...obj }, { a: 1, b: 2 });
  obj.c = 3;
  assertEquals(real.c, 3);
  delete obj.a;
  assertEquals(real, { b: 2, c: 3 });
  assert(Object.hasOwn(obj, "b"));
});

Deno.test("Proxy forwards JSON.stringify of objects without toJSON, arrays and primitives", () => {
  assertEquals(
    JSON.stringify(new Proxy<object>({ obj: { a: [1, 2] } })),
    '{"a":[1,2]}',
  );
  assertEquals(JSON.stringify(new Proxy<number[]>({ obj: [1, 2] })), "[1,2]");
  assertEquals(JSON.stringify(new Proxy<number>({ obj: 0 })), "0");
  assertEquals(JSON.stringify(new Proxy<string>({ obj: "" })), '""');
});

Deno.test("Proxy forwards async iteration", async () => {
  const source = {
    async *[Symbol.asyncIterator](): AsyncGenerator<number> {
      yield 1;
      yield 2;
    },
  };
  const proxy = new Proxy<typeof source>({ obj: source });
  const seen: number[] = [];
  for await (const n of proxy) seen.push(n);
  assertEquals(seen, [1, 2]);
});

Deno.test("Proxy forwards Deno.inspect, and says why when it has no object", () => {
  const map = new Proxy<Map<string, number>, "">({ setName: "" });
  assertEquals(Deno.inspect(map), "Proxy <unset>");
  map._setObj(new Map([["a", 1]]));
  assertEquals(Deno.inspect(map), Deno.inspect(new Map([["a", 1]])));
  assertEquals(Deno.inspect({ m: map }), '{ m: Map(1) { "a" => 1 } }');
});

Deno.test('Proxy treats falsy values 0, "" and false as legitimate objects', () => {
  const zero = new Proxy<number>({ obj: 0 });
  assertEquals(zero.toFixed(1), "0.0");
  assertEquals(zero + 1, 1);
  assertEquals(`${zero}`, "0");
  assert(zero._hasObj());
  const empty = new Proxy<string>({ obj: "" });
  assertEquals(empty.length, 0);
  assertEquals(`${empty}x`, "x");
  const no = new Proxy<boolean>();
  no.setObj(false);
  assertEquals(no.valueOf(), false);
  assertEquals(String(no), "false");
});

Deno.test("Proxy cannot forward identity or typeof", () => {
  const real = new Map<string, number>();
  const map = new Proxy<Map<string, number>, "">({ obj: real, setName: "" });
  assert((map as unknown) !== real);
  assertEquals(typeof map, "object");
  assertFalse(Array.isArray(new Proxy<number[]>({ obj: [] })));
});

Deno.test("Proxy throws ProxyError on freezing, rather than freezing a stand-in", () => {
  const proxy = new Proxy<{ a: number }>({ obj: { a: 1 } });
  assertThrows(
    () => Object.freeze(proxy),
    ProxyError,
    "Cannot freeze, seal or prevent extensions of a proxy",
  );
});

// ---- setters

Deno.test('Proxy setName "set" (default) gives set, setObj and setFun', async () => {
  await using proxy = new Proxy<{ n: number }>();
  proxy.setObj({ n: 1 });
  assertEquals(proxy.n, 1);
  proxy.set({ obj: { n: 2 } });
  assertEquals(proxy.n, 2);
  proxy.setFun((n) => ({ n: n + 10 }));
  assertEquals((await scoped(() => proxy._getObj())).n, 10);
});

Deno.test('Proxy setName "init" gives init, initObj and initFun', async () => {
  await using proxy = new Proxy<{ n: number }, "init">({ setName: "init" });
  proxy.initObj({ n: 1 });
  assertEquals(proxy.n, 1);
  proxy.init({ obj: { n: 2 } });
  assertEquals(proxy.n, 2);
  proxy.initFun((n) => ({ n: n + 10 }));
  assertEquals((await scoped(() => proxy._getObj())).n, 10);
});

Deno.test('Proxy setName "" gives no setters: set and setObj are forwarded', () => {
  const real = {
    set: (x: number) => x * 2,
    setObj: "forwarded",
  };
  const proxy = new Proxy<typeof real, "">({ obj: real, setName: "" });
  assertEquals(proxy.set(21), 42);
  assertEquals(proxy.setObj, "forwarded");
});

Deno.test("Proxy _set, _setObj and _setFun exist whatever the setName", async () => {
  for (const setName of ["set", "init", ""] as const) {
    await using proxy = new Proxy<{ n: number }, string>({ setName });
    proxy._setObj({ n: 1 });
    assertEquals(proxy.n, 1);
    proxy._set({ obj: { n: 2 } });
    assertEquals(proxy.n, 2);
    proxy._setFun(() => ({ n: 3 }));
    assertEquals((await scoped(() => proxy._getObj())).n, 3);
  }
});

Deno.test("Proxy.set() throws ProxyError when given both obj and fun, or neither", () => {
  const proxy = new Proxy<number>();
  assertThrows(
    () => proxy.set({ obj: 1, fun: () => 2 }),
    ProxyError,
    "Cannot set proxy the proxy as both 'obj' and 'fun' are given: give exactly one",
  );
  assertThrows(
    () => proxy.set({}),
    ProxyError,
    "Cannot set proxy the proxy as neither 'obj' nor 'fun' is given: give exactly one",
  );
  assertThrows(
    () => proxy.setObj(undefined as unknown as number),
    ProxyError,
    "neither 'obj' nor 'fun' is given",
  );
  assertThrows(
    () => new Proxy<number>({ obj: 1, fun: () => 2 }),
    ProxyError,
    "Cannot create proxy the proxy as both 'obj' and 'fun' are given",
  );
});

Deno.test("Proxy validates its options eagerly with TypeError and RangeError", () => {
  assertThrows(
    () => new Proxy<number>({ scope: "request" as Scope }),
    TypeError,
    `Cannot create proxy as 'scope' must be one of "auto", "shared", "thread", "async": current value is "request"`,
  );
  assertThrows(
    () => new Proxy<number>({ maxSize: -1 }),
    RangeError,
    "Cannot create proxy as 'maxSize' must be a non-negative integer: current value is -1",
  );
  assertThrows(
    () => new Proxy<number>().setFun(42 as unknown as () => number),
    TypeError,
    "Cannot set proxy function as 'fun' must be a function: current value is 42",
  );
  assertThrows(
    () => (Proxy as unknown as () => void)(),
    TypeError,
    "Cannot call Proxy as a function: use `new Proxy()`",
  );
});

// ---- unset

Deno.test("Proxy with nothing set throws ProxyError saying how to set it, never recursing", () => {
  const db = new Proxy<{ query(): string }>({ name: "db" });
  const message =
    "Cannot use 'query' of proxy \"db\" as it has neither an object nor a function yet: call `db.setObj(obj)` or `db.setFun(fun)` first";
  assertThrows(() => db.query(), ProxyError, message);
  assertThrows(() => String(db), ProxyError, "neither an object nor");
  assertThrows(() => Object.keys(db), ProxyError, "neither an object nor");
  assertThrows(() => "query" in db, ProxyError, "neither an object nor");
  assertFalse(db._hasObj());
  const unnamed = new Proxy<{ a: number }, "">({ setName: "" });
  assertThrows(
    () => unnamed.a,
    ProxyError,
    "Cannot use 'a' of the proxy as it has neither an object nor a function yet: call `proxy._setObj(obj)` or `proxy._setFun(fun)` first",
  );
});

Deno.test("Proxy with nothing set rejects _getObj() and _obj() with ProxyError", async () => {
  const db = new Proxy<number>({ name: "db" });
  await assertRejects(() => db._getObj(), ProxyError, "`db.setObj(obj)`");
  await assertRejects(() => db._obj((n) => n), ProxyError, "`db.setFun(fun)`");
});

Deno.test("Proxy that cannot give its object now is not thenable, so it can be awaited", async () => {
  const db = new Proxy<{ query(): string }>();
  assertStrictEquals(await Promise.resolve(db), db);
  const thenable = new Proxy<{ then(): void }>({
    obj: { then: () => {} },
  });
  assertEquals(typeof thenable.then, "function");
});

// ---- pools behind fun

Deno.test("Proxy with a fun and default maxSize 10 makes a pool but does not call fun before use", async () => {
  let calls = 0;
  await using db = new Proxy<{ n: number }>({
    fun: (n) => {
      calls++;
      return { n };
    },
  });
  const pool = db._pool;
  if (pool === undefined) throw new Error("no pool");
  await pool.fill();
  assertEquals(calls, 0);
  assertEquals(pool.stats().maxSize, 10);
  assertEquals(pool.stats().timeout, 30_000);
  assertEquals(pool.stats().minSize, 0);
  assertEquals(pool.nobjs, 0);
  assertEquals((await scoped(() => db._getObj())).n, 0);
  assertEquals(calls, 1);
});

Deno.test("Proxy passes pool options through to its pool", async () => {
  await using db = new Proxy<object>({
    fun: () => ({}),
    maxSize: 3,
    minSize: 1,
    maxUse: 7,
    timeout: 500,
  });
  await db._pool?.fill();
  const stats = db._pool?.stats();
  assertEquals(
    [stats?.maxSize, stats?.minSize, stats?.maxUse, stats?.timeout],
    [3, 1, 7, 500],
  );
});

Deno.test("Proxy._setPool() sets pool options before the pool exists, then throws ProxyError", async () => {
  await using db = new Proxy<object>({ name: "db" });
  db._setPool({ maxSize: 3 });
  db.setFun(() => ({}));
  assertEquals(db._pool?.stats().maxSize, 3);
  assertThrows(
    () => db._setPool({ maxSize: 4 }),
    ProxyError,
    'Cannot set the pool options of proxy "db" as its pool already exists',
  );
});

Deno.test("Proxy replacing its fun or object shuts the previous pool down and closes its objects", async () => {
  const closed: number[] = [];
  await using db = new Proxy<{ n: number }>({
    fun: (n) => ({ n }),
    closer: (obj) => {
      closed.push(obj.n);
    },
    scope: Scope.THREAD,
  });
  const first = db._pool;
  assertEquals((await db._getObj()).n, 0); // held by the isolate
  db.setFun((n) => ({ n: 100 + n }));
  assert(first?.stats().shutdown);
  assert(db._pool !== first);
  assertEquals((await db._getObj()).n, 100);
  const second = db._pool;
  db.setObj({ n: -1 });
  assert(second?.stats().shutdown);
  assertEquals(db._pool, undefined);
  assertEquals(db.n, -1);
  await db._shutdown();
  assertEquals(closed.toSorted(), [0, 100]);
});

Deno.test("Proxy keeps its state when set() gets a bad pool option", async () => {
  await using db = new Proxy<{ n: number }>({ fun: (n) => ({ n }) });
  const pool = db._pool;
  assertThrows(
    () => db.set({ fun: (n) => ({ n }), maxUse: -1 }),
    RangeError,
    "'maxUse' must be a non-negative integer",
  );
  assertStrictEquals(db._pool, pool);
  assertFalse(pool?.stats().shutdown);
});

Deno.test("Proxy with maxSize null has no pool and calls fun for each new scope", async () => {
  let calls = 0;
  await using db = new Proxy<{ n: number }>({
    fun: (n) => {
      calls++;
      return { n };
    },
    maxSize: null,
  });
  assertEquals(db._pool, undefined);
  // A synchronous fun needs no pool: a touch makes the scope's object.
  const seen = await Promise.all(
    [0, 1, 2].map(() => scoped(() => [db.n, db.n])),
  );
  assertEquals(seen.map(([a, b]) => a === b), [true, true, true]);
  assertEquals(new Set(seen.map(([a]) => a)).size, 3);
  assertEquals(calls, 3);
});

Deno.test("Proxy with maxSize null and an async fun needs _getObj() first", async () => {
  await using db = new Proxy<{ n: number }>({
    fun: (n) => Promise.resolve({ n }),
    maxSize: null,
    name: "db",
  });
  await scoped(async () => {
    assertThrows(() => db.n, ProxyError, "call `await db._getObj()` first");
    assertEquals((await db._getObj()).n, 0); // the touch's call, awaited
    assertEquals(db.n, 0);
  });
});

Deno.test("Proxy with scope SHARED and a fun calls it once, lazily, with no pool", async () => {
  let calls = 0;
  await using db = new Proxy<{ n: number }>({
    fun: (n) => ({ n: n + ++calls }),
    scope: Scope.SHARED,
  });
  assertEquals(db._pool, undefined);
  assertEquals(calls, 0);
  const seen = await Promise.all([0, 1, 2].map(() => scoped(() => db.n)));
  assertEquals(seen, [1, 1, 1]);
  assertEquals(db.n, 1);
  assertEquals(calls, 1);
});

Deno.test("Proxy with scope SHARED and an async fun needs one _getObj() first", async () => {
  let calls = 0;
  await using db = new Proxy<{ n: number }>({
    fun: (n) => Promise.resolve({ n: n + ++calls }),
    scope: Scope.SHARED,
    name: "db",
  });
  assertThrows(() => db.n, ProxyError, "call `await db._getObj()` first");
  const [a, b] = await Promise.all([db._getObj(), db._getObj()]);
  assertStrictEquals(a, b);
  assertEquals(db.n, 1);
  assertEquals(calls, 1);
});

Deno.test("Proxy with a failing SHARED fun retries on the next _getObj()", async () => {
  let calls = 0;
  await using db = new Proxy<{ n: number }>({
    fun: () => {
      if (++calls === 1) return Promise.reject(new Error("boom"));
      return { n: calls };
    },
    scope: Scope.SHARED,
  });
  await assertRejects(() => db._getObj(), Error, "boom");
  assertEquals(db.n, 2);
});

Deno.test("Proxy with a pool never takes an idle object synchronously: touching first always throws", async () => {
  await using db = new Proxy<{ n: number }>({
    fun: (n) => ({ n }),
    maxSize: 5,
    minSize: 2,
    name: "db",
  });
  await db._pool?.fill();
  assertEquals(db._pool?.navail, 2); // objects are there...
  await scoped(() => {
    // ...and still not taken by a touch
    assertThrows(
      () => db.n,
      ProxyError,
      "Cannot use 'n' of proxy \"db\" as no object is bound in this scope: call `await db._getObj()` first in this `scoped()` call (a pooled or async object is never taken synchronously, so this holds at any load)",
    );
    assertFalse(db._hasObj());
  });
  assertEquals(db._pool?.navail, 2);
});

Deno.test("Proxy._obj() returns the object to its pool even when fn throws", async () => {
  await using db = new Proxy<{ n: number }>({ fun: (n) => ({ n }) });
  const pool = db._pool;
  assertEquals(await db._obj((c) => c.n), 0);
  await assertRejects(
    () =>
      db._obj(() => {
        throw new Error("query failed");
      }),
    Error,
    "query failed",
  );
  assertEquals(pool?.nusing, 0);
  assertEquals(pool?.navail, 1);
  assertFalse(db._hasObj()); // _obj binds nothing
});

Deno.test("Proxy._obj() uses the object bound in the scope and leaves it bound", async () => {
  await using db = new Proxy<{ n: number }>({ fun: (n) => ({ n }) });
  await scoped(async () => {
    const bound = await db._getObj();
    await db._obj((c) => assertStrictEquals(c, bound));
    assert(db._hasObj());
    assertEquals(db._pool?.nusing, 1);
  });
  assertEquals(db._pool?.nusing, 0);
});

Deno.test("Proxy._obj() with a shared object runs fn with it", async () => {
  const real = { n: 7 };
  const db = new Proxy<{ n: number }>({ obj: real });
  assertStrictEquals(await db._obj((c) => c), real);
});

Deno.test("Proxy._getObj() honours the timeout of a full pool", async () => {
  await using db = new Proxy<object>({ fun: () => ({}), maxSize: 1 });
  const held = await db._pool?.get();
  await scoped(async () => {
    await assertRejects(
      () => db._getObj({ timeout: 0 }),
      Error,
      "'timeout' is 0",
    );
    assertFalse(db._hasObj());
  });
  await db._pool?.ret(held as object);
});

Deno.test("Proxy is disposed by await using: its pool shuts down", async () => {
  let pool;
  {
    await using db = new Proxy<object>({ fun: () => ({}) });
    await scoped(() => db._getObj());
    pool = db._pool;
  }
  assert(pool?.stats().shutdown);
  assertEquals(pool?.nobjs, 0);
});

Deno.test("Proxy._shutdown() is idempotent and later _getObj() rejects", async () => {
  const db = new Proxy<object>({ fun: () => ({}) });
  await scoped(() => db._getObj());
  await db._shutdown();
  await db._shutdown();
  await assertRejects(() => scoped(() => db._getObj()), Error, "shut down");
});

Deno.test("ProxyError is a PPPError subclass with its name", () => {
  const db = new Proxy<{ a: number }>();
  const error = assertThrows(() => db.a, ProxyError);
  assertInstanceOf(error, ProxyError);
  assertEquals(error.name, "ProxyError");
});

// ---- cached bound methods and bindings

class Named {
  #name: string;
  constructor(name: string) {
    this.#name = name;
  }
  name(): string {
    return this.#name;
  }
}

Deno.test("Proxy returns one bound method for repeated reads, and binds it to a new object after setObj", () => {
  const first = new Named("first");
  const proxy = new Proxy<Named>({ obj: first });
  const before = proxy.name;
  assertStrictEquals(proxy.name, before); // cached, not bound anew
  assertEquals(before(), "first");
  // Same function (Named.prototype.name), another object.
  proxy.setObj(new Named("second"));
  const after = proxy.name;
  assertEquals(after(), "second");
  assertEquals(proxy.name(), "second");
  assert(after !== before);
  assertEquals(before(), "first"); // a method read earlier stays bound
  proxy.setObj(first);
  assertEquals(proxy.name(), "first");
});

Deno.test("Proxy binds a method replaced on the object, and leaves constructor unbound", () => {
  const obj = {
    f(): string {
      return "old";
    },
  };
  const proxy = new Proxy<typeof obj>({ obj });
  assertEquals(proxy.f(), "old");
  obj.f = () => "new";
  assertEquals(proxy.f(), "new");
  const counter = new Proxy<Counter>({ obj: new Counter() });
  counter.inc();
  assertStrictEquals(counter.constructor, Counter);
});

Deno.test("ASYNC: concurrent scopes calling the same method each reach their own object", async () => {
  await using db = new Proxy<Named>({ fun: (n) => new Named(`conn ${n}`) });
  const seen: string[][] = [[], []];
  let release!: () => void;
  const bothBound = new Promise<void>((resolve) => release = resolve);
  let bound = 0;
  await Promise.all([0, 1].map((i) =>
    scoped(async () => {
      const own = (await db._getObj()).name();
      if (++bound === 2) release();
      await bothBound;
      // Interleave: each call follows one made in the other scope.
      for (let k = 0; k < 3; k++) {
        seen[i].push(db.name());
        await Promise.resolve();
      }
      assertEquals(seen[i], [own, own, own]);
    })
  ));
  assertEquals(new Set([...seen[0], ...seen[1]]).size, 2);
});

Deno.test("ASYNC: a member access after _retObj() or set() in the same scope finds no object", async () => {
  await using db = new Proxy<Named>({ fun: (n) => new Named(`conn ${n}`) });
  await scoped(async () => {
    await db._getObj();
    assertEquals(db.name(), "conn 0");
    await db._retObj();
    assertThrows(() => db.name(), ProxyError, "no object is bound");
    await db._getObj();
    assertEquals(db.name(), "conn 0"); // back from the pool
    db.setFun((n) => new Named(`new ${n}`));
    assertThrows(() => db.name(), ProxyError, "no object is bound");
    await db._getObj();
    assertEquals(db.name(), "new 0");
  });
});

Deno.test("THREAD: a member access after _shutdown() finds no object", async () => {
  const db = new Proxy<Named>({
    fun: (n) => new Named(`conn ${n}`),
    scope: Scope.THREAD,
  });
  await db._getObj();
  assertEquals(db.name(), "conn 0");
  await db._shutdown();
  assertThrows(() => db.name(), ProxyError, "no object is bound");
});

Deno.test("Proxy forwards members of T named like a control but not one", () => {
  const obj = { _id: 7, _get: () => "got", set: 1, setObj: 2 };
  const proxy = new Proxy<typeof obj, "init">({ obj, setName: "init" });
  assertEquals(proxy._id, 7);
  assertEquals(proxy._get(), "got");
  assertEquals(proxy.set, 1);
  assertEquals(proxy.setObj, 2);
  assertEquals(typeof proxy.initObj, "function");
  const bare = new Proxy<typeof obj, "">({ obj, setName: "" });
  assertEquals([bare.set, bare.setObj, bare._id], [1, 2, 7]);
  assertEquals(typeof bare._setObj, "function");
});

Deno.test("Proxy answers control members and `then` the same whatever was read before", async () => {
  const proxy = new Proxy<{ then?: unknown; add(x: number): number }>({
    fun: () => ({ add: (x: number) => x + 1 }),
  });
  await scoped(async () => {
    await proxy._getObj();
    for (let i = 0; i < 3; i++) {
      assertEquals(proxy.add(1), 2);
      assertEquals(typeof proxy._getObj, "function");
      assertEquals(typeof proxy._getObj, "function"); // twice in a row
      assertEquals(proxy.then, undefined); // forwarded: the object has none
      assertEquals(typeof proxy.setObj, "function");
      assertEquals(proxy.add(2), 3);
    }
    assertEquals(proxy.then, undefined); // the last read in the scope
  });
  // outside any scope: `then` is still undefined (the proxy can be
  // awaited), while a plain member read throws
  assertEquals(proxy.then, undefined);
  assertStrictEquals(await Promise.resolve(proxy), proxy);
  assertThrows(() => proxy.add(1), ProxyError, "outside a scope");
  assertEquals(typeof proxy._shutdown, "function");
  await proxy._shutdown();
});

Deno.test("Proxy._retObj({ discard: true }) closes this scope's object; the next _getObj() gets another", async () => {
  const closed: number[] = [];
  await using db = new Proxy<{ n: number }>({
    fun: (n) => ({ n }),
    closer: (obj) => {
      closed.push(obj.n);
    },
  });
  await scoped(async () => {
    assertEquals((await db._getObj()).n, 0);
    await db._retObj({ discard: true });
    assertEquals(closed, [0]);
    assertEquals((await db._getObj()).n, 1);
  });
  assertEquals(db._pool?.stats().ndiscards, 1);
  assertEquals([db._pool?.nusing, db._pool?.navail], [0, 1]);
});

Deno.test("Proxy refuses unknown option names in new Proxy, set, _setPool and _getObj", async () => {
  assertThrows(
    () => new Proxy<object>({ fun: () => ({}), maxsize: 2 } as never),
    TypeError,
    "Cannot create proxy as 'maxsize' is not an option: did you mean 'maxSize'?",
  );
  await using db = new Proxy<object>({ name: "db" });
  assertThrows(
    () => db.set({ fun: () => ({}), scpoe: "async" } as never),
    TypeError,
    "Cannot set proxy as 'scpoe' is not an option: did you mean 'scope'?",
  );
  assertThrows(
    () => db._setPool({ timout: 5 } as never),
    TypeError,
    "Cannot set pool options as 'timout' is not an option: did you mean 'timeout'?",
  );
  db.setFun(() => ({}));
  await scoped(async () => {
    await assertRejects(
      () => db._getObj({ timout: 5 } as never),
      TypeError,
      "Cannot get an object as 'timout' is not an option: did you mean 'timeout'?",
    );
  });
});
