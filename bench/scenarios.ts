/**
 * The scenarios of `deno task bench` (run by `bench/main.ts`, which only
 * parses options and prints the tables): one loop per scenario for each
 * contender, and the measurements they return. Not published.
 *
 * The scenarios, as named in the printed tables:
 * - S1: one caller, `n` sequential get + ret on a pool of maxSize 10 that
 *   was filled first (every object made before the clock starts); ms.
 * - S2: 100 workers, each doing get / `await null` / ret until `n` ops are
 *   done in all, on the same filled pool of maxSize 10: most gets wait, so
 *   this measures the waiter queue and the direct handoff on ret; ms.
 * - S3: maxSize 2 with both objects held, `n` gets with a 1 ms timeout that
 *   must all time out, then both objects given back and handed out again
 *   (the cost of timeouts, and that they leave the pool intact); ms.
 * - S4: heap in use after − before `n` S1-style round trips, each side
 *   after gc (needs `--v8-flags=--expose-gc`); bytes.
 * - S5: a method call (`add(1)` on a class with a `#private` field) direct,
 *   through the least a JS Proxy can do, and through our {@linkcode Proxy}
 *   set up once or fresh each round; ns per call.
 *
 * The contenders of S1..S4: our {@linkcode Pool}, the floor (the minimal
 * correct pool of `bench/floor.ts`), `npm:generic-pool` and `npm:tarn`.
 *
 * @module
 */
import { Pool, Proxy } from "../mod.ts";
import * as genericPool from "generic-pool";
import { Pool as TarnPool } from "tarn";
import { FloorPool } from "./floor.ts";

// ---------------------------------------------------------------------------
// The contenders, each with its own copy of every scenario loop so that no
// call site is shared between implementations (shared sites would turn
// polymorphic and slow every contender down alike, hiding differences).

type Obj = { id: number };
let nextId = 0;
const make = (): Obj => ({ id: nextId++ });

export interface Contender {
  name: string;
  /** S1: one caller, `n` sequential get+ret; returns ms. */
  s1(n: number): Promise<number>;
  /** S2: `workers` callers doing get / await null / ret, `n` in all; ms. */
  s2(n: number, workers: number): Promise<number>;
  /** S3: maxSize 2 held, `n` gets with 1 ms timeout, then both handed out; ms. */
  s3(n: number): Promise<number>;
  /** S4: heap delta in bytes across `n` round trips. */
  s4(n: number): Promise<number>;
}

const MAX = 10;

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`bench sanity check failed: ${what}`);
}

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function heap(): number {
  gc();
  gc();
  return Deno.memoryUsage().heapUsed;
}

// Verifies the S3 outcome: every timed-out get rejected, both objects are
// handed out again, and they are the two originals.
function checkS3(
  results: PromiseSettledResult<unknown>[],
  held: unknown[],
  again: unknown[],
): void {
  check(results.every((r) => r.status === "rejected"), "S3 gets must time out");
  check(
    again.length === 2 && again[0] !== again[1] &&
      again.every((o) => held.includes(o)),
    "S3 pool must hand out both objects afterwards",
  );
}

export const ours: Contender = {
  name: "ours (Pool)",
  async s1(n) {
    const pool = new Pool<Obj>({ fun: make, maxSize: MAX });
    await prefill(pool);
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const o = await pool.get();
      pool.ret(o);
    }
    const ms = performance.now() - t;
    await pool.shutdown();
    return ms;
  },
  async s2(n, workers) {
    const pool = new Pool<Obj>({ fun: make, maxSize: MAX });
    await prefill(pool);
    let left = n;
    const worker = async () => {
      while (left > 0) {
        left--;
        const o = await pool.get();
        await null;
        pool.ret(o);
      }
    };
    const t = performance.now();
    const ws = [];
    for (let i = 0; i < workers; i++) ws.push(worker());
    await Promise.all(ws);
    const ms = performance.now() - t;
    await pool.shutdown();
    return ms;
  },
  async s3(n) {
    const pool = new Pool<Obj>({ fun: make, maxSize: 2, minSize: 0 });
    const held = [await pool.get(), await pool.get()];
    const t = performance.now();
    const ps = [];
    for (let i = 0; i < n; i++) ps.push(pool.get({ timeout: 1 }));
    const results = await Promise.allSettled(ps);
    for (const o of held) await pool.ret(o);
    const again = [await pool.get(), await pool.get()];
    const ms = performance.now() - t;
    checkS3(results, held, again);
    check(pool.nwaiting === 0 && pool.nobjs === 2, "S3 ours intact");
    await pool.shutdown();
    return ms;
  },
  async s4(n) {
    const pool = new Pool<Obj>({ fun: make, maxSize: MAX });
    await prefill(pool);
    for (let i = 0; i < 10_000; i++) pool.ret(await pool.get());
    const before = heap();
    for (let i = 0; i < n; i++) {
      const o = await pool.get();
      pool.ret(o);
    }
    const after = heap();
    await pool.shutdown();
    return after - before;
  },
};

async function prefill(pool: Pool<Obj>): Promise<void> {
  const objs = [];
  for (let i = 0; i < MAX; i++) objs.push(await pool.get());
  for (const o of objs) await pool.ret(o);
  check(pool.navail === MAX, "prefill");
}

export const floor: Contender = {
  name: "floor",
  async s1(n) {
    const pool = new FloorPool<Obj>(make, MAX);
    await prefillFloor(pool);
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const o = await pool.acquire();
      pool.release(o);
    }
    return performance.now() - t;
  },
  async s2(n, workers) {
    const pool = new FloorPool<Obj>(make, MAX);
    await prefillFloor(pool);
    let left = n;
    const worker = async () => {
      while (left > 0) {
        left--;
        const o = await pool.acquire();
        await null;
        pool.release(o);
      }
    };
    const t = performance.now();
    const ws = [];
    for (let i = 0; i < workers; i++) ws.push(worker());
    await Promise.all(ws);
    return performance.now() - t;
  },
  async s3(n) {
    const pool = new FloorPool<Obj>(make, 2);
    const held = [await pool.acquire(), await pool.acquire()];
    const t = performance.now();
    const ps = [];
    for (let i = 0; i < n; i++) ps.push(pool.acquire(1));
    const results = await Promise.allSettled(ps);
    for (const o of held) pool.release(o);
    const again = [await pool.acquire(), await pool.acquire()];
    const ms = performance.now() - t;
    checkS3(results, held, again);
    return ms;
  },
  async s4(n) {
    const pool = new FloorPool<Obj>(make, MAX);
    await prefillFloor(pool);
    for (let i = 0; i < 10_000; i++) pool.release(await pool.acquire());
    const before = heap();
    for (let i = 0; i < n; i++) {
      const o = await pool.acquire();
      pool.release(o);
    }
    return heap() - before;
  },
};

async function prefillFloor(pool: FloorPool<Obj>): Promise<void> {
  const objs = [];
  for (let i = 0; i < MAX; i++) objs.push(await pool.acquire());
  for (const o of objs) check(pool.release(o), "prefill floor");
  check(!pool.release(objs[0]), "floor refuses double returns");
}

type GenericPool = genericPool.Pool<Obj>;

function newGeneric(max: number, acquireTimeoutMillis?: number): GenericPool {
  return genericPool.createPool<Obj>({
    create: () => Promise.resolve(make()),
    destroy: () => Promise.resolve(),
  }, { max, min: 0, acquireTimeoutMillis });
}

async function prefillGeneric(pool: GenericPool): Promise<void> {
  const objs = [];
  for (let i = 0; i < MAX; i++) objs.push(await pool.acquire());
  for (const o of objs) await pool.release(o);
  check(pool.available === MAX, "prefill generic-pool");
}

async function closeGeneric(pool: GenericPool): Promise<void> {
  await pool.drain();
  await pool.clear();
}

export const generic: Contender = {
  name: "generic-pool",
  async s1(n) {
    const pool = newGeneric(MAX);
    await prefillGeneric(pool);
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const o = await pool.acquire();
      pool.release(o);
    }
    const ms = performance.now() - t;
    await closeGeneric(pool);
    return ms;
  },
  async s2(n, workers) {
    const pool = newGeneric(MAX);
    await prefillGeneric(pool);
    let left = n;
    const worker = async () => {
      while (left > 0) {
        left--;
        const o = await pool.acquire();
        await null;
        pool.release(o);
      }
    };
    const t = performance.now();
    const ws = [];
    for (let i = 0; i < workers; i++) ws.push(worker());
    await Promise.all(ws);
    const ms = performance.now() - t;
    await closeGeneric(pool);
    return ms;
  },
  async s3(n) {
    const pool = newGeneric(2, 1);
    const held = [await pool.acquire(), await pool.acquire()];
    const t = performance.now();
    const ps = [];
    for (let i = 0; i < n; i++) ps.push(pool.acquire());
    const results = await Promise.allSettled(ps);
    for (const o of held) await pool.release(o);
    const again = [await pool.acquire(), await pool.acquire()];
    const ms = performance.now() - t;
    checkS3(results, held, again);
    for (const o of again) await pool.release(o);
    await closeGeneric(pool);
    return ms;
  },
  async s4(n) {
    const pool = newGeneric(MAX);
    await prefillGeneric(pool);
    for (let i = 0; i < 10_000; i++) pool.release(await pool.acquire());
    const before = heap();
    for (let i = 0; i < n; i++) {
      const o = await pool.acquire();
      pool.release(o);
    }
    const after = heap();
    await closeGeneric(pool);
    return after - before;
  },
};

function newTarn(max: number, acquireTimeoutMillis = 30_000): TarnPool<Obj> {
  return new TarnPool<Obj>({
    create: () => Promise.resolve(make()),
    destroy: () => {},
    min: 0,
    max,
    acquireTimeoutMillis,
  });
}

async function prefillTarn(pool: TarnPool<Obj>): Promise<void> {
  const objs = [];
  for (let i = 0; i < MAX; i++) objs.push(await pool.acquire().promise);
  for (const o of objs) pool.release(o);
  check(pool.numFree() === MAX, "prefill tarn");
}

export const tarn: Contender = {
  name: "tarn",
  async s1(n) {
    const pool = newTarn(MAX);
    await prefillTarn(pool);
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const o = await pool.acquire().promise;
      pool.release(o);
    }
    const ms = performance.now() - t;
    await pool.destroy();
    return ms;
  },
  async s2(n, workers) {
    const pool = newTarn(MAX);
    await prefillTarn(pool);
    let left = n;
    const worker = async () => {
      while (left > 0) {
        left--;
        const o = await pool.acquire().promise;
        await null;
        pool.release(o);
      }
    };
    const t = performance.now();
    const ws = [];
    for (let i = 0; i < workers; i++) ws.push(worker());
    await Promise.all(ws);
    const ms = performance.now() - t;
    await pool.destroy();
    return ms;
  },
  async s3(n) {
    const pool = newTarn(2, 1);
    const held = [await pool.acquire().promise, await pool.acquire().promise];
    const t = performance.now();
    const ps = [];
    for (let i = 0; i < n; i++) ps.push(pool.acquire().promise);
    const results = await Promise.allSettled(ps);
    for (const o of held) pool.release(o);
    const again = [await pool.acquire().promise, await pool.acquire().promise];
    const ms = performance.now() - t;
    checkS3(results, held, again);
    for (const o of again) pool.release(o);
    await pool.destroy();
    return ms;
  },
  async s4(n) {
    const pool = newTarn(MAX);
    await prefillTarn(pool);
    for (let i = 0; i < 10_000; i++) pool.release(await pool.acquire().promise);
    const before = heap();
    for (let i = 0; i < n; i++) {
      const o = await pool.acquire().promise;
      pool.release(o);
    }
    const after = heap();
    await pool.destroy();
    return after - before;
  },
};

// ---------------------------------------------------------------------------
// S5: a method call through our Proxy against a direct call, and against
// the least a JS Proxy can do (what V8 itself charges for a trapped call).

/** An object with a `#private` field, so the method must run bound. */
class Counter {
  #n = 0;
  add(x: number): number {
    this.#n = (this.#n + x) | 0;
    return this.#n;
  }
  get n(): number {
    return this.#n;
  }
}

const s5Obj = new Counter();
const s5Proxy = new Proxy<Counter>();
s5Proxy.setObj(s5Obj);

/**
 * The least a forwarding proxy does: a trap that looks the member up on the
 * object and returns it bound, cached. No control members, no scopes.
 */
function minimalProxy(obj: Counter): Counter {
  let lastFn: unknown = undefined;
  let lastBound: unknown = undefined;
  return new globalThis.Proxy(Object.setPrototypeOf({}, null), {
    get(_target, prop) {
      const value = (obj as unknown as Record<PropertyKey, unknown>)[prop];
      if (value === lastFn) return lastBound;
      lastFn = value;
      return lastBound = typeof value === "function" ? value.bind(obj) : value;
    },
  }) as Counter;
}
const s5Minimal = minimalProxy(s5Obj);

// One loop per kind of call: a call site that has seen other receivers or
// other bound methods stops inlining, and would slow what it measures.
// The sum stays an int32 so that no loop deoptimizes when it overflows.

function directCalls(calls: number): number {
  let sum = 0;
  for (let i = 0; i < calls; i++) sum = (sum + s5Obj.add(1)) | 0;
  return sum;
}

function minimalCalls(calls: number): number {
  let sum = 0;
  for (let i = 0; i < calls; i++) sum = (sum + s5Minimal.add(1)) | 0;
  return sum;
}

function moduleProxyCalls(calls: number): number {
  let sum = 0;
  for (let i = 0; i < calls; i++) sum = (sum + s5Proxy.add(1)) | 0;
  return sum;
}

function freshProxyCalls(proxy: Proxy<Counter>, calls: number): number {
  let sum = 0;
  for (let i = 0; i < calls; i++) sum = (sum + proxy.add(1)) | 0;
  return sum;
}

function nsPerCall(
  calls: number,
  run: (calls: number) => number,
  obj = s5Obj,
): number {
  const before = obj.n;
  const t = performance.now();
  run(calls);
  const ns = (performance.now() - t) * 1e6 / calls;
  check(obj.n === ((before + calls) | 0), "S5 calls ran");
  return ns;
}

/** ns per call of each kind in one S5 round. */
export interface S5Round {
  direct: number;
  minimal: number;
  module: number;
  fresh: number;
}

/**
 * One S5 round: the four kinds of call alternate in `chunks` short
 * stretches, so the machine's drift hits all alike; each gets the median of
 * its stretches. `module` is a proxy set up once for the whole run, as a
 * module-level `export const db = new Proxy<Client>()` is; `fresh` is a new
 * proxy to a new object for the round, as a pooled object bound per request
 * is, so its call site sees a new bound method each round
 * (V8 then stops inlining it: the worst case).
 */
export function s5(calls: number, chunks = 10): S5Round {
  const freshObj = new Counter();
  const fresh = new Proxy<Counter>();
  fresh.setObj(freshObj);
  const n = Math.ceil(calls / chunks);
  const ns: Record<keyof S5Round, number[]> = {
    direct: [],
    minimal: [],
    module: [],
    fresh: [],
  };
  for (let c = 0; c < chunks; c++) {
    ns.direct.push(nsPerCall(n, directCalls));
    ns.minimal.push(nsPerCall(n, minimalCalls));
    ns.module.push(nsPerCall(n, moduleProxyCalls));
    ns.fresh.push(nsPerCall(n, (k) => freshProxyCalls(fresh, k), freshObj));
  }
  return {
    direct: median(ns.direct),
    minimal: median(ns.minimal),
    module: median(ns.module),
    fresh: median(ns.fresh),
  };
}

/** Every contender of S1..S4, in the order of the tables. */
export const CONTENDERS: Contender[] = [ours, floor, generic, tarn];

/** The median of `xs` (the mean of the middle two if even). */
export function median(xs: number[]): number {
  const s = xs.toSorted((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Runs `fn` for every contender, `rounds` times, rotating the order each
// round; returns each contender's per-round values (indexed by round).
export async function interleave(
  rounds: number,
  fn: (c: Contender) => Promise<number>,
): Promise<Map<Contender, number[]>> {
  const out = new Map<Contender, number[]>(CONTENDERS.map((c) => [c, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < CONTENDERS.length; k++) {
      const c = CONTENDERS[(r + k) % CONTENDERS.length];
      gc();
      out.get(c)![r] = await fn(c);
    }
  }
  return out;
}
