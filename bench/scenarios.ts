/**
 * Compares our {@linkcode Pool} with `npm:generic-pool`, `npm:tarn` and a
 * minimal correct pool (the "floor") in one process: interleaved rounds in
 * rotating order after a warm-up, medians of ops/s and of per-round ratios.
 *
 * Run with `deno task bench` (which passes `--v8-flags=--expose-gc` for S4).
 * Options: `--rounds=N` (default 9), `--quick` (fewer, smaller rounds),
 * `--only=S1,S2,...`.
 *
 * Not named `*_bench.ts` on purpose: `deno bench` runs `pool_bench.ts`.
 *
 * @module
 */
import { Pool, Proxy } from "./mod.ts";
import * as genericPool from "generic-pool";
import { Pool as TarnPool } from "tarn";

// ---------------------------------------------------------------------------
// The floor: the least a correct async pool must do.

/** A caller of {@linkcode FloorPool.prototype.acquire} waiting in line. */
class FloorWaiter<T> {
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  prev: FloorWaiter<T> | undefined = undefined;
  next: FloorWaiter<T> | undefined = undefined;
  constructor(
    readonly resolve: (obj: T) => void,
    readonly reject: (err: Error) => void,
  ) {}
}

/**
 * A minimal correct async pool: a stack of free objects, FIFO waiters with
 * direct handoff and a per-acquire timeout that withdraws the waiter from
 * the queue, a max bound, and a `Set` of lent objects that refuses double
 * returns. No stats, hooks, timestamps or housekeeping.
 */
export class FloorPool<T> {
  readonly #create: () => T;
  readonly #max: number;
  #size = 0;
  readonly #free: T[] = [];
  readonly #lent = new Set<T>();
  #head: FloorWaiter<T> | undefined = undefined;
  #tail: FloorWaiter<T> | undefined = undefined;

  constructor(create: () => T, max: number) {
    this.#create = create;
    this.#max = max;
  }

  /** Borrows an object, waiting at most `timeout` ms if given. */
  acquire(timeout?: number): Promise<T> {
    if (this.#head === undefined) {
      if (this.#free.length > 0) {
        const obj = this.#free.pop()!;
        this.#lent.add(obj);
        return Promise.resolve(obj);
      }
      if (this.#size < this.#max) {
        this.#size++;
        const obj = this.#create();
        this.#lent.add(obj);
        return Promise.resolve(obj);
      }
    }
    return new Promise<T>((resolve, reject) => {
      const w = new FloorWaiter<T>(resolve, reject);
      w.prev = this.#tail;
      if (this.#tail === undefined) this.#head = w;
      else this.#tail.next = w;
      this.#tail = w;
      if (timeout !== undefined) {
        w.timer = setTimeout(() => {
          this.#unlink(w);
          reject(new Error(`no object within ${timeout} ms`));
        }, timeout);
      }
    });
  }

  /** Gives an object back; false (and nothing else) if it was not lent. */
  release(obj: T): boolean {
    if (!this.#lent.has(obj)) return false;
    const w = this.#head;
    if (w === undefined) {
      this.#lent.delete(obj);
      this.#free.push(obj);
    } else {
      this.#unlink(w);
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.resolve(obj); // stays in #lent: handed straight to the next caller
    }
    return true;
  }

  #unlink(w: FloorWaiter<T>): void {
    if (w.prev === undefined) this.#head = w.next;
    else w.prev.next = w.next;
    if (w.next === undefined) this.#tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = undefined;
  }
}

// ---------------------------------------------------------------------------
// The contenders, each with its own copy of every scenario loop so that no
// call site is shared between implementations (shared sites would turn
// polymorphic and slow every contender down alike, hiding differences).

type Obj = { id: number };
let nextId = 0;
const make = (): Obj => ({ id: nextId++ });

interface Contender {
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

function gc(): void {
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

const ours: Contender = {
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

const floor: Contender = {
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

const generic: Contender = {
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

const tarn: Contender = {
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
interface S5Round {
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
function s5(calls: number, chunks = 10): S5Round {
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

// ---------------------------------------------------------------------------
// Runner.

const CONTENDERS = [ours, floor, generic, tarn];

function median(xs: number[]): number {
  const s = xs.toSorted((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmtOps(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`;
}

interface Options {
  rounds: number;
  n: number;
  s3n: number;
  s4n: number;
  s5n: number;
  only: Set<string>;
}

function parseArgs(args: string[]): Options {
  const quick = args.includes("--quick");
  const get = (k: string) =>
    args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  return {
    rounds: Number(get("rounds") ?? (quick ? 3 : 9)),
    n: quick ? 50_000 : 200_000,
    s3n: 2_000,
    s4n: quick ? 200_000 : 1_000_000,
    s5n: quick ? 1_000_000 : 5_000_000,
    only: new Set((get("only") ?? "S1,S2,S3,S4,S5").split(",")),
  };
}

// Runs `fn` for every contender, `rounds` times, rotating the order each
// round; returns each contender's per-round values (indexed by round).
async function interleave(
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

function throughputTable(
  title: string,
  n: number,
  ms: Map<Contender, number[]>,
): string[] {
  const ops = new Map(
    [...ms].map(([c, xs]) => [c, xs.map((x) => n / x * 1000)]),
  );
  const f = ops.get(floor)!;
  const g = ops.get(generic)!;
  const lines = [
    `| ${title} | ops/s (median) | × floor (median of rounds) | × generic-pool |`,
    "| --- | ---: | ---: | ---: |",
  ];
  for (const c of CONTENDERS) {
    const xs = ops.get(c)!;
    const vsFloor = median(xs.map((x, r) => x / f[r]));
    const vsGeneric = median(xs.map((x, r) => x / g[r]));
    lines.push(
      `| ${c.name} | ${fmtOps(median(xs))} | ${vsFloor.toFixed(2)} | ${
        vsGeneric.toFixed(2)
      } |`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const o = parseArgs(Deno.args);
  const out: string[] = [];
  const say = (s: string) => {
    out.push(s);
    console.log(s);
  };
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
    console.warn(
      "warning: run with --v8-flags=--expose-gc for S4 and steadier numbers",
    );
  }
  console.log(
    `deno ${Deno.version.deno}, v8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} cores; ${o.rounds} rounds, order rotating`,
  );
  // warm-up: every loop of every contender, a quarter of the size
  for (const c of CONTENDERS) {
    if (o.only.has("S1")) await c.s1(o.n / 4);
    if (o.only.has("S2")) await c.s2(o.n / 4, 100);
    if (o.only.has("S3")) await c.s3(o.s3n / 4);
  }
  if (o.only.has("S1")) {
    const ms = await interleave(o.rounds, (c) => c.s1(o.n));
    say("");
    for (
      const l of throughputTable(
        `S1 (1 caller, ${o.n} get+ret, maxSize 10)`,
        o.n,
        ms,
      )
    ) say(l);
  }
  if (o.only.has("S2")) {
    const ms = await interleave(o.rounds, (c) => c.s2(o.n, 100));
    say("");
    for (
      const l of throughputTable(
        `S2 (100 workers, ${o.n} ops, maxSize 10)`,
        o.n,
        ms,
      )
    ) say(l);
  }
  if (o.only.has("S3")) {
    const ms = await interleave(o.rounds, (c) => c.s3(o.s3n));
    const f = ms.get(floor)!;
    say("");
    say(
      `| S3 (maxSize 2 held, ${o.s3n} gets with 1 ms timeout, then both handed out) | ms (median) | × floor's time (median of rounds) |`,
    );
    say("| --- | ---: | ---: |");
    for (const c of CONTENDERS) {
      const xs = ms.get(c)!;
      say(
        `| ${c.name} | ${median(xs).toFixed(2)} | ${
          median(xs.map((x, r) => x / f[r])).toFixed(2)
        } |`,
      );
    }
  }
  if (o.only.has("S4")) {
    const rounds = Math.min(o.rounds, 3);
    const d = await interleave(rounds, (c) => c.s4(o.s4n));
    say("");
    say(
      `| S4 (heap after − before ${o.s4n} round trips, after gc) | KiB (median of ${rounds}) | KiB (max) |`,
    );
    say("| --- | ---: | ---: |");
    for (const c of CONTENDERS) {
      const xs = d.get(c)!;
      say(
        `| ${c.name} | ${(median(xs) / 1024).toFixed(1)} | ${
          (Math.max(...xs) / 1024).toFixed(1)
        } |`,
      );
    }
  }
  if (o.only.has("S5")) {
    s5(o.s5n / 10); // warm-up
    const rounds: S5Round[] = [];
    for (let r = 0; r < o.rounds; r++) {
      gc();
      rounds.push(s5(o.s5n));
    }
    const ns = (k: keyof S5Round) => median(rounds.map((r) => r[k]));
    const over = (k: keyof S5Round) =>
      median(rounds.map((r) => r[k] - r.direct));
    say("");
    say(
      `| S5 (method call \`add(1)\` on a class with a #private field, ${o.s5n} calls a round in 10 alternating stretches) | ns/call (median) | ns over direct (median of rounds) |`,
    );
    say("| --- | ---: | ---: |");
    say(`| direct | ${ns("direct").toFixed(1)} | 0 |`);
    say(
      `| minimal JS Proxy (trap returns the cached bound method: V8's share) | ${
        ns("minimal").toFixed(1)
      } | ${over("minimal").toFixed(1)} |`,
    );
    say(
      `| our Proxy, module-level (set up once) | ${ns("module").toFixed(1)} | ${
        over("module").toFixed(1)
      } |`,
    );
    say(
      `| our Proxy, new proxy and object each round | ${
        ns("fresh").toFixed(1)
      } | ${over("fresh").toFixed(1)} |`,
    );
  }
}

if (import.meta.main) await main();
