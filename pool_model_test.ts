// A model-based randomized test of Pool with fast-check.
//
// Each run draws a pool configuration and a sequence of steps (get, ret,
// double ret, foreign ret, abort, time passing, hooks switching between
// working, failing and hanging, health and check flips, fill, shutdown in the
// middle), runs them against a real Pool, and after every step compares the
// pool with a small model kept from what the hooks and callers saw:
//
// - never more than maxSize objects alive or being created (counted by the
//   hooks themselves, not by the pool's counters);
// - nobjs, ncreating, nusing and nbadReturns equal the model's;
// - no caller that gave up (timeout, abort) holds an object, no timeout
//   fires early or late, an abort rejects at once with the signal's reason;
// - every object is closed exactly once by the end, shutdown completes, no
//   request is left pending or served after shutdown, no pool timer is left;
// - no unhandled rejection.
//
// Time is a fake clock: the test swaps `setTimeout`, `clearTimeout` and
// `performance.now` while a run executes (and `Math.random`, seeded, so the
// pool's jitter replays), then advances time timer by timer. Between two
// events it waits for `setImmediate`: a macrotask, so every microtask of the
// pool has run (a MessageChannel message is not enough in Deno: it arrives
// among the microtasks); no real sleeps anywhere.
//
// Replay a failure: fast-check prints `seed` and `path`; run
//   PPP_SEED=<seed> PPP_PATH=<path> deno test -A pool_model_test.ts
// PPP_RUNS sets the number of runs (default 5000).
import fc from "fast-check";
import { assert, assertEquals, assertFalse } from "@std/assert";
import { delay } from "@std/async/delay";
import { Pool } from "./pool.ts";
import { PoolError, TimeoutError } from "./errors.ts";
import {
  FakeClock,
  Ledger,
  nextTurn,
  prng,
  type Res,
  waitFor,
} from "./_testing.ts";

// ---- what a run is made of ----

type Mode = "ok" | "fail" | "hang" | "bad";
type Hook =
  | "fun"
  | "opener"
  | "getter"
  | "retter"
  | "closer"
  | "check"
  | "health";

interface Config {
  maxSize: number;
  minSize: number;
  maxUse: number;
  timeout: number | undefined;
  kill: number;
  lifetime: number;
  health: boolean;
  check: boolean;
  checkSkip: number;
  hooks: boolean;
  seed: number;
}

type Op =
  | { k: "get"; timeout: number | undefined; signal: boolean }
  | { k: "ret"; i: number }
  | { k: "ret2"; i: number }
  | { k: "retForeign" }
  | { k: "abort"; i: number }
  | { k: "tick"; ms: number }
  | { k: "mode"; hook: Hook; mode: Mode }
  | { k: "fill" }
  | { k: "shutdown"; grace: number };

const HANG = 30; // fake ms a hanging hook takes
const CHECK_TIMEOUT = 15;
const HK_DELAY = 10;

const configArb: fc.Arbitrary<Config> = fc
  .record({
    maxSize: fc.integer({ min: 1, max: 4 }),
    minFrac: fc.integer({ min: 0, max: 4 }),
    maxUse: fc.constantFrom(0, 0, 1, 2),
    timeout: fc.constantFrom(undefined, 5, 20),
    kill: fc.constantFrom(0, 0, 25),
    lifetime: fc.constantFrom(0, 0, 50),
    health: fc.boolean(),
    check: fc.boolean(),
    checkSkip: fc.constantFrom(0, 5),
    hooks: fc.boolean(),
    seed: fc.integer(),
  })
  .map(({ minFrac, ...c }) => ({
    ...c,
    minSize: Math.min(minFrac, c.maxSize) % (c.maxSize + 1),
  }));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      k: fc.constant("get" as const),
      timeout: fc.constantFrom(undefined, 0, 5, 20, Infinity),
      signal: fc.boolean(),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant("ret" as const),
      i: fc.nat(7),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("ret2" as const),
      i: fc.nat(7),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ k: "retForeign" as const }) },
  {
    weight: 4,
    arbitrary: fc.record({ k: fc.constant("abort" as const), i: fc.nat(7) }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant("tick" as const),
      ms: fc.constantFrom(1, 5, 10, 30),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant("mode" as const),
      hook: fc.constantFrom<Hook>(
        "fun",
        "opener",
        "getter",
        "retter",
        "closer",
        "check",
        "health",
      ),
      mode: fc.constantFrom<Mode>("ok", "ok", "fail", "hang", "bad"),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ k: "fill" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("shutdown" as const),
      grace: fc.constantFrom(0, 10),
    }),
  },
);

// ---- the model ----

interface Obj {
  n: number;
  ref: { n: number };
  closes: number;
  closerDone: boolean;
  /** Counted by the pool as an object (opener passed). */
  counted: boolean;
}

interface Req {
  id: number;
  deadline: number;
  ctrl: AbortController | undefined;
  reason: unknown;
  state: "pending" | "ok" | "rejected";
  obj: Obj | undefined;
  err: unknown;
  returned: boolean;
  afterShutdown: boolean;
  settledAt: number;
  /** Joined the pool's queue of waiters when it called get(). */
  queued: boolean;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** What the runs exercised, summed over runs (printed at the end). */
const seen: Record<string, number> = {};

/** Runs one configuration and sequence; throws on the first violation. */
async function runModel(cfg: Config, ops: Op[]): Promise<void> {
  const clock = new FakeClock();
  const settle = nextTurn;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    unhandled.push(e.reason);
  };
  const random = Math.random;
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  const restore = clock.install();
  Math.random = prng(cfg.seed); // the pool's jitter replays
  try {
    await new Run(cfg, clock, settle).go(ops, unhandled);
  } finally {
    restore();
    Math.random = random;
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
}

class Run {
  modes: Record<Hook, Mode> = {
    fun: "ok",
    opener: "ok",
    getter: "ok",
    retter: "ok",
    closer: "ok",
    check: "ok",
    health: "ok",
  };
  objs: Obj[] = [];
  byRef = new Map<object, Obj>();
  reqs: Req[] = [];
  funInFlight = 0;
  openerInFlight = 0;
  failedOpenCloses = 0; // closers in flight for objects whose opener failed
  alive = 0; // fun called and closer not done (nor fun failed)
  badReturns = 0;
  shutdownAt: number | undefined = undefined;
  shutdownDone = false;
  others: Promise<unknown>[] = []; // ret() and fill() promises
  violations: string[] = [];
  pool: Pool<{ n: number }>;
  log: string[] = [];

  constructor(
    readonly cfg: Config,
    readonly clock: FakeClock,
    readonly settle: () => Promise<void>,
  ) {
    const wait = <R>(value: () => R): Promise<R> =>
      new Promise((resolve) =>
        clock.setTimeout(() => resolve(value()), HANG, true)
      );
    // runs a hook body according to its mode
    const act = (hook: Hook, ok: () => void): void | Promise<void> => {
      const mode = this.modes[hook];
      if (mode === "fail") throw new Error(`${hook} failed`);
      if (mode === "hang") return wait(ok);
      ok();
    };
    const verdict = (hook: "check" | "health"): boolean | Promise<boolean> => {
      const mode = this.modes[hook];
      if (mode === "fail") throw new Error(`${hook} failed`);
      if (mode === "hang") return wait(() => true);
      return mode !== "bad";
    };
    const max = cfg.maxSize;
    this.pool = new Pool<{ n: number }>({
      maxSize: max,
      minSize: cfg.minSize,
      maxUse: cfg.maxUse,
      timeout: cfg.timeout,
      maxUsingDelayKill: cfg.kill,
      maxLifetime: cfg.lifetime,
      hkDelay: cfg.health || cfg.kill > 0 || cfg.lifetime > 0
        ? HK_DELAY
        : undefined,
      checkSkip: cfg.checkSkip,
      checkTimeout: CHECK_TIMEOUT,
      backoffBase: 5,
      backoffMax: 20,
      fun: (n) => {
        this.alive++;
        if (this.alive > max) {
          this.violations.push(`${this.alive} objects alive > maxSize ${max}`);
        }
        this.funInFlight++;
        const make = () => {
          this.funInFlight--;
          const ref = { n };
          const obj: Obj = {
            n,
            ref,
            closes: 0,
            closerDone: false,
            counted: false,
          };
          this.objs.push(obj);
          this.byRef.set(ref, obj);
          if (!cfg.hooks) obj.counted = true;
          return ref;
        };
        const mode = this.modes.fun;
        if (mode === "fail" || mode === "bad") {
          this.funInFlight--;
          this.alive--;
          throw new Error(`fun ${n} failed`);
        }
        if (mode === "hang") return wait(make);
        return make();
      },
      closer: (ref) => {
        const obj = this.byRef.get(ref)!;
        obj.closes++;
        if (obj.closes > 1) {
          this.violations.push(`object ${obj.n} closed ${obj.closes} times`);
        }
        const openFailed = !obj.counted;
        if (openFailed) this.failedOpenCloses++;
        const done = () => {
          obj.closerDone = true;
          this.alive--;
          if (openFailed) this.failedOpenCloses--;
        };
        const mode = this.modes.closer;
        if (mode === "hang") return wait(done);
        done();
        if (mode === "fail") throw new Error("closer failed");
      },
      ...(cfg.hooks
        ? {
          opener: (ref: { n: number }) => {
            this.openerInFlight++;
            const obj = this.byRef.get(ref)!;
            const mode = this.modes.opener;
            const ok = () => {
              this.openerInFlight--;
              obj.counted = true;
            };
            if (mode === "fail" || mode === "bad") {
              this.openerInFlight--;
              throw new Error("opener failed");
            }
            if (mode === "hang") return wait(ok);
            ok();
          },
          getter: () => act("getter", () => {}),
          retter: () => act("retter", () => {}),
        }
        : {}),
      ...(cfg.check ? { check: () => verdict("check") } : {}),
      ...(cfg.health ? { health: () => verdict("health") } : {}),
    });
  }

  held(): Req[] {
    return this.reqs.filter((r) =>
      r.state === "ok" && !r.returned && r.obj!.closes === 0
    );
  }

  get(timeout: number | undefined, signal: boolean): void {
    const ctrl = signal ? new AbortController() : undefined;
    const t = timeout ?? this.cfg.timeout;
    const r: Req = {
      id: this.reqs.length,
      deadline: t !== undefined && t > 0 && t !== Infinity
        ? this.clock.now + t
        : Infinity,
      ctrl,
      reason: undefined,
      state: "pending",
      obj: undefined,
      err: undefined,
      returned: false,
      afterShutdown: this.shutdownAt !== undefined,
      settledAt: NaN,
      queued: false,
    };
    this.reqs.push(r);
    const navail = this.pool.navail;
    const simple = navail > 0 && this.pool.nwaiting === 0 &&
      !this.cfg.hooks && !this.cfg.check && this.cfg.lifetime === 0;
    const waiting = this.pool.nwaiting;
    this.pool.get({ timeout, signal: ctrl?.signal }).then(
      (ref) => {
        // first come, first served: no older waiter still waits (without
        // getter or check, a waiter is served the moment it is chosen)
        if (r.queued && !this.cfg.hooks && !this.cfg.check) {
          const older = this.reqs.find((o) =>
            o.queued && o.id < r.id && o.state === "pending"
          );
          if (older !== undefined) {
            this.violations.push(`req ${r.id} served before req ${older.id}`);
          }
        }
        r.state = "ok";
        r.settledAt = this.clock.now;
        r.obj = this.byRef.get(ref);
        if (r.obj === undefined) this.violations.push(`req ${r.id}: foreign`);
        if (this.shutdownAt !== undefined) {
          this.violations.push(`req ${r.id} served after shutdown began`);
        }
      },
      (err) => {
        r.state = "rejected";
        r.settledAt = this.clock.now;
        r.err = err;
      },
    );
    r.queued = this.pool.nwaiting > waiting;
    // model: with an idle object and nothing in the way, no wait at all
    if (simple && this.shutdownAt === undefined) {
      this.expectAfterSettle.push(() => {
        if (r.state !== "ok") {
          this.violations.push(`req ${r.id}: not served from an idle object`);
        }
      });
    }
    if (r.afterShutdown) {
      this.expectAfterSettle.push(() => {
        if (!(r.state === "rejected" && r.err instanceof PoolError)) {
          this.violations.push(`req ${r.id} after shutdown: ${r.state}`);
        }
      });
    }
  }

  expectAfterSettle: (() => void)[] = [];

  // Returns an object. The pool tracks objects by identity, so a second
  // return after the object went to another caller returns it for that
  // caller: the model does the same (that caller's later return is bad).
  ret(obj: Obj | undefined): void {
    const ref = obj === undefined ? { n: -1 } : obj.ref;
    const holder = this.held().find((r) => r.obj === obj);
    if (holder === undefined) this.badReturns++;
    else holder.returned = true;
    this.track(this.pool.ret(ref));
  }

  track(p: Promise<unknown>): void {
    this.others.push(p);
    p.catch((err) => this.violations.push(`ret/fill rejected: ${err}`));
  }

  async step(op: Op): Promise<void> {
    this.log.push(JSON.stringify(op));
    switch (op.k) {
      case "get":
        this.get(op.timeout, op.signal);
        break;
      case "ret":
      case "ret2": {
        const held = this.held();
        if (held.length > 0) {
          const obj = held[op.i % held.length].obj!;
          this.ret(obj);
          if (op.k === "ret2") {
            await this.settle();
            this.ret(obj);
          }
        }
        break;
      }
      case "retForeign":
        this.ret(undefined);
        break;
      case "abort": {
        const live = this.reqs.filter((r) =>
          r.ctrl !== undefined && r.reason === undefined
        );
        if (live.length > 0) {
          const r = live[op.i % live.length];
          const wasPending = r.state === "pending";
          r.reason = new Error(`abort ${r.id}`);
          r.ctrl!.abort(r.reason);
          if (wasPending) {
            this.expectAfterSettle.push(() => {
              if (r.state !== "rejected" || r.err !== r.reason) {
                this.violations.push(
                  `req ${r.id}: aborted but ${r.state} ${describe(r.err)}`,
                );
              }
            });
          }
        }
        break;
      }
      case "tick":
        await this.clock.advance(op.ms, this.settle);
        break;
      case "mode":
        this.modes[op.hook] = op.mode;
        break;
      case "fill":
        this.track(this.pool.fill());
        break;
      case "shutdown":
        if (this.shutdownAt === undefined) {
          this.shutdownAt = this.clock.now;
          const pending = this.reqs.filter((r) => r.state === "pending");
          this.pool.shutdown({ grace: op.grace }).then(() => {
            this.shutdownDone = true;
          });
          this.expectAfterSettle.push(() => {
            for (const r of pending) {
              if (
                r.state === "rejected" && !(r.err instanceof PoolError) &&
                r.settledAt >= this.shutdownAt!
              ) {
                this.violations.push(
                  `req ${r.id} at shutdown: ${describe(r.err)}`,
                );
              }
            }
          });
        }
        break;
    }
    await this.settle();
    this.checkInvariants();
  }

  checkInvariants(): void {
    for (const f of this.expectAfterSettle) f();
    this.expectAfterSettle = [];
    const p = this.pool;
    const v = this.violations;
    const counted = this.objs.filter((o) => o.counted && !o.closerDone).length;
    if (p.nobjs !== counted) v.push(`nobjs ${p.nobjs}, model ${counted}`);
    const creating = this.funInFlight + this.openerInFlight +
      this.failedOpenCloses;
    if (p.ncreating !== creating) {
      v.push(`ncreating ${p.ncreating}, model ${creating}`);
    }
    if (p.nobjs + p.ncreating > this.cfg.maxSize) {
      v.push(`nobjs ${p.nobjs} + ncreating ${p.ncreating} > maxSize`);
    }
    const held = this.held().length;
    if (p.nusing !== held) v.push(`nusing ${p.nusing}, model ${held}`);
    if (p.navail + p.nusing > p.nobjs) {
      v.push(`navail ${p.navail} + nusing ${p.nusing} > nobjs ${p.nobjs}`);
    }
    const pending = this.reqs.filter((r) => r.state === "pending");
    if (p.nwaiting > pending.length) {
      v.push(`nwaiting ${p.nwaiting} > pending ${pending.length}`);
    }
    const bad = p.stats().nbadReturns;
    if (bad !== this.badReturns) {
      v.push(`nbadReturns ${bad}, model ${this.badReturns}`);
    }
    for (const r of pending) {
      if (r.deadline <= this.clock.now) {
        v.push(`req ${r.id} still pending after its timeout`);
      }
    }
    for (const r of this.reqs) {
      if (r.state !== "rejected") continue;
      const e = r.err;
      if (e instanceof TimeoutError) {
        if (r.deadline !== Infinity && r.settledAt !== r.deadline) {
          v.push(
            `req ${r.id}: TimeoutError at ${r.settledAt}, deadline ${r.deadline}`,
          );
        }
      } else if (
        !(e instanceof PoolError) && e !== r.reason &&
        !/^(fun \d+|opener) failed$/.test((e as Error)?.message)
      ) {
        v.push(`req ${r.id}: unexpected ${describe(e)}`);
      }
    }
    if (v.length > 0) {
      throw new Error(
        `${
          v.join("; ")
        }\n  at t=${this.clock.now} after ${this.log.length} steps`,
      );
    }
  }

  midway = false;

  async go(ops: Op[], unhandled: unknown[]): Promise<void> {
    await this.settle();
    this.checkInvariants();
    for (const op of ops) await this.step(op);
    this.midway = this.shutdownAt !== undefined;
    if (this.shutdownAt === undefined) {
      // heal: every hook works again; the pool gets back to minSize
      for (const h of Object.keys(this.modes) as Hook[]) this.modes[h] = "ok";
      for (let i = 0; i < 20; i++) await this.step({ k: "tick", ms: 10 });
      const p = this.pool;
      if (p.nobjs + p.ncreating < this.cfg.minSize) {
        throw new Error(
          `not back to minSize ${this.cfg.minSize}: nobjs ${p.nobjs}, ncreating ${p.ncreating}`,
        );
      }
      await this.step({ k: "shutdown", grace: 0 });
    }
    for (let i = 0; i < 40 && !this.shutdownDone; i++) {
      await this.step({ k: "tick", ms: 10 });
    }
    await this.step({ k: "tick", ms: 100 });
    const v = this.violations;
    if (!this.shutdownDone) v.push("shutdown never completed");
    await Promise.all(this.others);
    for (const o of this.objs) {
      if (o.closes !== 1 || !o.closerDone) {
        v.push(`object ${o.n} closed ${o.closes} times (done ${o.closerDone})`);
      }
    }
    for (const r of this.reqs) {
      if (r.state === "pending") v.push(`req ${r.id} never settled`);
    }
    const p = this.pool;
    if (p.nobjs + p.ncreating + p.navail + p.nusing + p.nwaiting !== 0) {
      v.push(`not empty after shutdown: ${p}`);
    }
    if (this.clock.poolTimers() !== 0) {
      v.push(`${this.clock.poolTimers()} pool timers left after shutdown`);
    }
    if (this.alive !== 0) v.push(`${this.alive} objects never closed`);
    if (unhandled.length > 0) {
      v.push(`unhandled rejections: ${unhandled.map(describe).join(", ")}`);
    }
    if (v.length > 0) throw new Error(v.join("; "));
    const st = p.stats();
    const count = (k: string, n: number) => seen[k] = (seen[k] ?? 0) + n;
    count("gets", this.reqs.length);
    count("served", this.reqs.filter((r) => r.state === "ok").length);
    count("timeouts", st.ntimeouts);
    count("aborts", st.naborts);
    count("kills", st.nkilled);
    count("badReturns", st.nbadReturns);
    count("createErrors", st.ncreateErrors);
    count("hookErrors", st.hookErrors);
    count("badChecks", st.badChecks);
    count("badHealth", st.badHealth);
    count("expired", st.nexpired);
    count("wornOut", st.nwornout);
    count("shutdownMidway", this.midway ? 1 : 0);
    count(
      "refusedAtShutdown",
      this.reqs.filter((r) => r.err instanceof PoolError).length,
    );
  }
}

const env = (name: string): string | undefined => Deno.env.get(name);

// Found by the model test: with checkSkip 0 and a check that fails on every
// object, each failure closed the object, created a replacement and checked
// it again, all in microtasks: the event loop never ran again (a hung
// process, a server hammered with connections).
Deno.test("Pool agrees with its model under random sequences of faults", async () => {
  const seed = env("PPP_SEED");
  const path = env("PPP_PATH");
  const numRuns = Number(env("PPP_RUNS") ?? 5000);
  const t0 = performance.now();
  let runs = 0;
  let steps = 0;
  await fc.assert(
    fc.asyncProperty(
      configArb,
      fc.array(opArb, { minLength: 1, maxLength: 60, size: "max" }),
      async (cfg, ops) => {
        runs++;
        if (env("PPP_DEBUG")) {
          console.log(runs, JSON.stringify(cfg), JSON.stringify(ops));
        }
        steps += ops.length;
        await runModel(cfg, ops);
      },
    ),
    {
      numRuns,
      ...(seed !== undefined ? { seed: Number(seed) } : {}),
      ...(path !== undefined ? { path } : {}),
    },
  );
  console.log(
    `  ${runs} runs, ${steps} random steps, in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s${seed !== undefined ? ` (seed ${seed})` : ""}\n  exercised: ${
      JSON.stringify(seen)
    }`,
  );
  assert(runs > 0);
});

Deno.test("Pool keeps every invariant under many concurrent callers with random delays and faults", async () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    await stress(seed);
  }
});

// Real timers and random delays, many callers at once: the invariants the
// model checks under a fake clock, checked again on the real event loop.
async function stress(seed: number): Promise<void> {
  const rand = prng(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const ledger = new Ledger();
  const maxSize = 1 + pick(5);
  const lent = new Set<Res>();
  const fault = (p: number) => rand() < p;
  const pool = new Pool<Res>({
    fun: async (n) => {
      ledger.begin();
      await delay(pick(3));
      if (fault(0.1)) {
        ledger.abort();
        throw new Error(`fun ${n} failed`);
      }
      return ledger.make(n);
    },
    opener: async () => {
      await delay(pick(2));
      if (fault(0.05)) throw new Error("opener failed");
    },
    getter: async () => {
      if (fault(0.5)) await delay(pick(2));
      if (fault(0.05)) throw new Error("getter failed");
    },
    retter: async () => {
      if (fault(0.5)) await delay(pick(2));
      if (fault(0.05)) throw new Error("retter failed");
    },
    closer: async (r) => {
      if (fault(0.5)) await delay(pick(2));
      ledger.close(r);
      if (fault(0.05)) throw new Error("closer failed");
    },
    maxSize,
    minSize: pick(maxSize + 1),
    maxUse: pick(4),
    backoffBase: 1,
    backoffMax: 3,
  });
  const outcomes = { served: 0, timeouts: 0, aborts: 0, createErrors: 0 };
  const callers = Array.from({ length: 150 }, async (_, i) => {
    await delay(pick(3));
    const controller = new AbortController();
    if (fault(0.1)) setTimeout(() => controller.abort(), pick(4));
    try {
      const obj = await pool.get({
        timeout: fault(0.3) ? 1 + pick(5) : undefined,
        signal: controller.signal,
      });
      assert(obj.open, `caller ${i} got a closed object`);
      assertFalse(lent.has(obj), `caller ${i} got an object already lent`);
      lent.add(obj);
      outcomes.served++;
      await delay(pick(3));
      lent.delete(obj);
      await pool.ret(obj);
    } catch (err) {
      if (err instanceof TimeoutError) outcomes.timeouts++;
      else if (err instanceof DOMException && err.name === "AbortError") {
        outcomes.aborts++;
      } else if (err instanceof Error && /failed/.test(err.message)) {
        outcomes.createErrors++;
      } else throw err;
    }
  });
  await Promise.all(callers);
  const total = outcomes.served + outcomes.timeouts + outcomes.aborts +
    outcomes.createErrors;
  assertEquals(total, 150, `seed ${seed}`);
  assert(ledger.maxAlive <= maxSize, `seed ${seed}: ${ledger.maxAlive}`);
  await pool.fill();
  await waitFor(() => pool.ncreating === 0, "creations to settle");
  // objects created = available + in use + closed
  assertEquals(pool.nusing, 0, `seed ${seed}`);
  assertEquals(
    ledger.created.length,
    pool.navail + ledger.closes.size,
    `seed ${seed}`,
  );
  await pool.shutdown();
  assertEquals(ledger.doubleCloses(), [], `seed ${seed}`);
  assertEquals(ledger.closes.size, ledger.created.length, `seed ${seed}`);
  assertEquals(ledger.alive, 0, `seed ${seed}`);
}
