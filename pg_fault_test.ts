// Network faults between the npm:pg recipe of examples/db.ts
// (`postgresOptions`, behind a Proxy, used from `scoped` request handlers as
// in pg_service_test.ts) and a real PostgreSQL, injected by the FaultProxy of
// _fault_proxy.ts: new connections blackholed, every connection stalled, a
// shutdown while creations hang. Each step prints its timings; every
// contract it checks is listed at the end of the step, all of them, so a
// broken one does not hide the others. The server comes from `.ci/run` or is
// started here (see _pg_testing.ts); locally the test is skipped loudly
// without one, and under CI=true it must run.
import { assert } from "@std/assert";
import { delay } from "@std/async/delay";
// @ts-types="npm:@types/pg@^8"
import pg from "pg";
import { type Db, postgresOptions } from "./examples/db.ts";
import { PoolError, TimeoutError } from "./errors.ts";
import type { Pool } from "./pool.ts";
import { Proxy, type ProxyPoolOptions } from "./proxy.ts";
import { scoped } from "./scope.ts";
import { LATE, within } from "./_bounded.ts";
import { FaultProxy } from "./_fault_proxy.ts";
import {
  admin,
  type Load as PgLoad,
  load,
  type Server,
  serverConns,
  skipWithoutPg,
  startServer,
  stopServer,
  until,
} from "./_pg_testing.ts";

const FILE = "pg_fault_test.ts";
const APP = `ppp_fault_${Deno.pid}`;

/** Concurrent request handlers, as in pg_service_test.ts. */
const WORKERS = 50;
const MAX_SIZE = 10;
/**
 * How long a handler waits for its query before it gives up and discards
 * the client: a client with a query it abandoned cannot be trusted with the
 * next request (its reply would come to whoever runs the next query). Over
 * loopback `SELECT 1` takes well under a millisecond, even at 50 handlers,
 * so only a fault makes a query take 500 ms.
 */
const REQ_MS = 500;
/**
 * How late a timer of the pool may fire here (one event loop shared by 50
 * handlers, npm:pg and the FaultProxy): a deadline "within N ms" is checked
 * against N + SLACK.
 */
const SLACK = 150;

const ms = (x: number) => `${x.toFixed(0)} ms`;

// ---- npm:pg clients, counted on the prototype ----

/** One npm:pg client that connected (or tried to) through the FaultProxy. */
interface ClientRecord {
  /** When connect() was called, and when it settled (NaN: still pending). */
  start: number;
  settled: number;
  connected: boolean;
  /** How many times `end()` was called on it. */
  ends: number;
}

type Method = (this: pg.Client, ...args: unknown[]) => unknown;

/**
 * Every npm:pg client that connects to `port` (the FaultProxy; the admin
 * connections of _pg_testing.ts go straight to the server and are not
 * counted): when its connect() started and settled, and how often `end()`
 * was called on it. The recipe's `fun` makes its client inside, out of our
 * reach, and ends it itself when the connect fails, so we count on the
 * prototype, for the length of one step.
 */
class ClientLedger implements Disposable {
  readonly clients = new Map<pg.Client, ClientRecord>();
  readonly #restore: () => void;

  constructor(port: number) {
    const proto = pg.Client.prototype as unknown as {
      connect: Method;
      end: Method;
    };
    const { connect, end } = proto;
    const clients = this.clients;
    proto.connect = function (...args) {
      const result = connect.apply(this, args);
      if (Number(this.port) === port && result instanceof Promise) {
        const rec: ClientRecord = {
          start: performance.now(),
          settled: NaN,
          connected: false,
          ends: 0,
        };
        clients.set(this, rec);
        result.then(
          () => {
            rec.settled = performance.now();
            rec.connected = true;
          },
          () => {
            rec.settled = performance.now();
          },
        );
      }
      return result;
    };
    proto.end = function (...args) {
      const rec = clients.get(this);
      if (rec !== undefined) rec.ends++;
      return end.apply(this, args);
    };
    this.#restore = () => {
      proto.connect = connect;
      proto.end = end;
    };
  }

  /** Connects in flight: called, not settled (the abandoned ones too). */
  get connecting(): number {
    let n = 0;
    for (const rec of this.clients.values()) if (isNaN(rec.settled)) n++;
    return n;
  }

  /**
   * Clients whose `end()` was called other than once, among the settled
   * ones (`pending` lists the clients whose connect still hangs).
   */
  endings(): { clients: number; pending: number; wrong: string[] } {
    const wrong: string[] = [];
    let pending = 0;
    let i = 0;
    for (const rec of this.clients.values()) {
      i++;
      if (isNaN(rec.settled)) {
        pending++;
        if (rec.ends > 0) {
          wrong.push(`client ${i} (connecting) ended ${rec.ends}×`);
        }
      } else if (rec.ends !== 1) {
        wrong.push(
          `client ${i} (${
            rec.connected ? "connected" : "connect failed"
          }) ended ${rec.ends}×`,
        );
      }
    }
    return { clients: this.clients.size, pending, wrong };
  }

  [Symbol.dispose](): void {
    this.#restore();
  }
}

// ---- the service ----

/** An object `fun` returned: when, and the calls of `closer` on it. */
interface Made {
  made: number;
  closes: number;
  /** When `closer` was first called on it (NaN: never). */
  closed: number;
}

interface Service {
  db: Proxy<Db>;
  pool: Pool<Db>;
  /** Every object the recipe's `fun` returned, on time or late. */
  objects: Map<Db, Made>;
  /** Calls of `fun` not settled yet, those the pool gave up on included. */
  funPending: () => number;
}

/**
 * A proxy on the recipe, through the FaultProxy `fp`, its connections named
 * `app` in pg_stat_activity; `fun` and `closer` are the recipe's, counted;
 * `extra` adds pool options to the recipe's.
 */
function service(
  s: Server,
  fp: FaultProxy,
  app: string,
  timeout: number,
  extra: ProxyPoolOptions<Db> = {},
): Service {
  const url = new URL(s.url);
  url.hostname = fp.hostname;
  url.port = String(fp.port);
  url.searchParams.set("application_name", app);
  // pg gives up a connect (and closes its socket) before the pool would
  // give the creation up, as the recipe's default (5 s under 10 s) does
  const connectTimeout = Math.min(5_000, (extra.createTimeout ?? 10_000) * 0.8);
  const recipe = postgresOptions(url.href, {
    maxSize: MAX_SIZE,
    timeout,
    connectTimeout,
  });
  const fun = recipe.fun!;
  const close = recipe.closer!;
  const objects = new Map<Db, Made>();
  let pending = 0;
  const db = new Proxy<Db>({
    ...recipe,
    ...extra,
    fun: async (n, context) => {
      pending++;
      try {
        const obj = await fun(n, context);
        objects.set(obj, { made: performance.now(), closes: 0, closed: NaN });
        return obj;
      } finally {
        pending--;
      }
    },
    closer: async (conn) => {
      const o = objects.get(conn)!;
      if (o.closes++ === 0) o.closed = performance.now();
      await close(conn);
    },
  });
  return { db, pool: db._pool!, objects, funPending: () => pending };
}

// ---- load ----

/** One request: where it failed, if it did, and which client served it. */
interface Done {
  start: number;
  end: number;
  ok: boolean;
  phase: "get" | "query";
  obj?: Db;
  err?: unknown;
}

/** A handler gave up on its query after REQ_MS and discarded the client. */
class RequestTimeout extends Error {
  override name = "RequestTimeout";
}

/**
 * One request as a handler runs it: a client for its scope, `SELECT 1`
 * within REQ_MS, else the client is discarded (see REQ_MS).
 */
async function request(db: Proxy<Db>): Promise<Done> {
  const start = performance.now();
  let phase: Done["phase"] = "get";
  let obj: Db | undefined;
  try {
    await scoped(async () => {
      obj = await db._getObj();
      phase = "query";
      if (await within(db.query("SELECT 1"), REQ_MS) === LATE) {
        await db._retObj({ discard: true });
        throw new RequestTimeout(`no reply to SELECT 1 within ${REQ_MS} ms`);
      }
    });
    return { start, end: performance.now(), ok: true, phase, obj };
  } catch (err) {
    return { start, end: performance.now(), ok: false, phase, obj, err };
  }
}

/** A fault proxy in front of server `s`, passing traffic for now. */
function proxyTo(s: Server): Promise<FaultProxy> {
  return FaultProxy.start({
    hostname: "127.0.0.1",
    port: Number(new URL(s.url).port),
  });
}

/** WORKERS handlers, each running requests back to back until stopped. */
class Load {
  readonly #load: PgLoad<Done>;

  constructor(db: Proxy<Db>, sample: () => void) {
    this.#load = load(WORKERS, () => request(db), sample);
  }

  get done(): Done[] {
    return this.#load.done;
  }

  /** Stops starting requests; resolves when every handler is done. */
  stop(): Promise<void> {
    return this.#load.stop();
  }

  failures(from: number, to = Infinity): Done[] {
    return this.done.filter((d) => !d.ok && d.end >= from && d.end < to);
  }

  /** The first success that ended at or after `t`. */
  firstOkAfter(t: number): Done | undefined {
    return this.done.find((d) => d.ok && d.end >= t);
  }
}

// ---- gauges, reports, verdicts ----

/**
 * Maxima sampled every 5 ms and after every request: objects and
 * creations of the pool, and connects in flight three ways (calls of `fun`
 * pending, npm:pg connects pending, connections open at the FaultProxy
 * while `holding`, when every open one is held: accepted, never answered).
 */
class Gauges implements Disposable {
  maxObjs = 0;
  maxCreating = 0;
  maxFunPending = 0;
  maxConnecting = 0;
  /** While `holding` (the blackhole): held connections, npm:pg connects. */
  maxHeld = 0;
  maxHeldConnecting = 0;
  holding = false;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    readonly svc: Service,
    readonly fp: FaultProxy,
    readonly ledger: ClientLedger,
  ) {
    this.#timer = setInterval(() => this.sample(), 5);
  }

  readonly sample = (): void => {
    const { pool, funPending } = this.svc;
    this.maxObjs = Math.max(this.maxObjs, pool.nobjs);
    this.maxCreating = Math.max(this.maxCreating, pool.ncreating);
    this.maxFunPending = Math.max(this.maxFunPending, funPending());
    this.maxConnecting = Math.max(this.maxConnecting, this.ledger.connecting);
    if (this.holding) {
      this.maxHeld = Math.max(this.maxHeld, this.fp.open);
      this.maxHeldConnecting = Math.max(
        this.maxHeldConnecting,
        this.ledger.connecting,
      );
    }
  };

  [Symbol.dispose](): void {
    clearInterval(this.#timer);
  }
}

/** An error as one line, numbers normalized as in pg_service_test.ts. */
function kind(err: unknown): string {
  const e = err as Error;
  const cause = e.cause instanceof Error ? ` <- ${e.cause.message}` : "";
  return `${e.name}: ${e.message}${cause}`.replace(/\d+/g, "N");
}

function histogram(fails: Done[]): string {
  const kinds = new Map<string, number>();
  for (const d of fails) {
    const k = `${d.phase}: ${kind(d.err)}`;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(kinds));
}

/** Every contract a step checks; reported all at once at its end. */
class Verdict {
  readonly broken: string[] = [];
  check(ok: boolean, what: string): void {
    if (!ok) this.broken.push(what);
  }
  assert(): void {
    assert(
      this.broken.length === 0,
      `${this.broken.length} contract(s) broken:\n  - ${
        this.broken.join("\n  - ")
      }`,
    );
  }
}

/** Whether a get() failed the way a caller of a pool whose creations hang may fail. */
function creationTimeout(err: unknown): boolean {
  // npm:pg's own connect timeout (the recipe's connectTimeout, below the
  // pool's createTimeout): given to the oldest waiter as is, or the cause
  // of the TimeoutError of a caller whose own deadline came first
  if (err instanceof Error && err.message === "timeout expired") return true;
  if (!(err instanceof TimeoutError)) return false;
  if (/creating objects failed \(last: timeout expired\)/.test(err.message)) {
    return true;
  }
  // a caller's own deadline, while creations hang or after they timed out
  if (/creations are (pending|timing out)/.test(err.message)) return true;
  // the TimeoutError of a creation, given to the oldest waiter
  return /within createTimeout/.test(err.message);
}

/** A get() timing out, or failing on npm:pg's connect timeout. */
function creationTimeoutOrWait(err: unknown): boolean {
  return err instanceof TimeoutError || creationTimeout(err);
}

/**
 * The end of every step: the pool is shut down, then every client that
 * arrived must have been closed exactly once (`closer` and npm:pg's
 * `end()`); then the FaultProxy is reset, which fails the connects it held
 * (the pool gave up on them, npm:pg never does), and every client, those
 * included, must have been ended exactly once; then nothing of ours is
 * left: no connect, no call of `fun`, no server connection, no proxy.
 */
async function finish(
  s: Server,
  app: string,
  svc: Service,
  fp: FaultProxy,
  ledger: ClientLedger,
  v: Verdict,
): Promise<{ shutdownMs: number; report: string }> {
  const t = performance.now();
  await svc.db._shutdown();
  const shutdownMs = performance.now() - t;
  const closes = [...svc.objects.values()];
  const notClosedOnce = closes.filter((o) => o.closes !== 1).length;
  v.check(
    notClosedOnce === 0,
    `${notClosedOnce} of ${closes.length} objects made were not closed exactly once by the pool (closer calls: ${
      closes.map((o) => o.closes).join(",")
    })`,
  );
  const before = ledger.endings();
  v.check(
    before.wrong.length === 0,
    `after shutdown: ${before.wrong.join("; ")}`,
  );
  fp.reset();
  await until(
    "every connect through the FaultProxy to settle after its reset",
    () => ledger.connecting === 0 && svc.funPending() === 0,
    5_000,
  );
  const after = ledger.endings();
  v.check(
    after.wrong.length === 0,
    `after the FaultProxy's reset: ${after.wrong.join("; ")}`,
  );
  await fp.close();
  await until(
    `no server connection from ${app}`,
    async () => await serverConns(s, app) === 0,
    5_000,
  );
  return {
    shutdownMs,
    report: `clients ${after.clients}, objects made ${closes.length}, ${
      closes.filter((o) => o.closes === 1).length
    } closed once by the pool; connects still hung after shutdown ${before.pending}, ended once after the reset ${
      after.clients - after.wrong.length
    } of ${after.clients}`,
  };
}

/**
 * Frees everything a step made, whatever happened to it: after finish() it
 * does nothing more; if the step threw before, the next steps start clean.
 */
async function abandon(svc: Service, fp: FaultProxy): Promise<void> {
  await svc.db._shutdown();
  fp.reset();
  await fp.close();
}

Deno.test({
  name: "The npm:pg recipe behind a Proxy, through a faulty network",
  ignore: skipWithoutPg(FILE),
  async fn(t) {
    const s = await startServer(FILE);
    try {
      await t.step(
        "blackhole of new connections: callers fail in time, ≤ maxCreating connects, back ≤ 2 s after",
        async () => {
          const app = `${APP}_blackhole`;
          // Callers wait 1 000 ms, less than createTimeout (1 500 ms): they
          // fail on their own deadline while creations hang ("creations are
          // pending"), and a creation that times out fails the oldest
          // waiter with its own TimeoutError. createTimeout is half the
          // 3 s blackhole: the first creations time out in it, the next
          // (one at a time, after a back-off of at most 100 ms) times out
          // just after it lifts (≤ 1.6 + 1.5 s), and the one after that,
          // ≤ 400 ms of back-off later, finds the server: back well within
          // 2 s. maxCreating is the default, 2.
          const TIMEOUT = 1_000;
          const CREATE_TIMEOUT = 1_500;
          const HOLE = 3_000;
          const fp = await proxyTo(s);
          using ledger = new ClientLedger(fp.port);
          const svc = service(s, fp, app, TIMEOUT, {
            createTimeout: CREATE_TIMEOUT,
          });
          const { pool } = svc;
          const maxCreating = pool.stats().maxCreating;
          try {
            const v = new Verdict();
            using g = new Gauges(svc, fp, ledger);
            const load = new Load(svc.db, g.sample);
            let tHole = NaN, tLift = NaN, warmConns = NaN, warmed = NaN;
            try {
              await delay(1_000);
              warmed = load.done.filter((d) => d.ok).length;
              warmConns = fp.open;
              // kill every connection, so that the pool must make new ones
              // during the blackhole; from then on every open connection at
              // the proxy is one it holds
              tHole = performance.now();
              fp.reset();
              fp.blackhole();
              g.holding = true;
              await delay(HOLE);
              g.sample();
              g.holding = false;
              tLift = performance.now();
              fp.pass();
              await delay(2_500);
            } finally {
              await load.stop();
            }
            const inHole = load.done.filter((d) =>
              d.start >= tHole && d.start < tLift
            );
            const holeFails = load.failures(tHole, tLift + REQ_MS);
            const firstFail = holeFails[0];
            const firstTimeout = holeFails.find((d) =>
              d.err instanceof TimeoutError
            );
            const getFails = inHole.filter((d) => !d.ok && d.phase === "get");
            const slowest = Math.max(
              0,
              ...getFails.map((d) => d.end - d.start),
            );
            const wrongKind = getFails.filter((d) => !creationTimeout(d.err));
            // a query may fail in the blackhole only on a client the reset
            // killed, made before it
            const newClientFails = inHole.filter((d) =>
              !d.ok && d.phase === "query" &&
              !((svc.objects.get(d.obj!)?.made ?? Infinity) < tHole)
            );
            const back = load.firstOkAfter(tLift);
            const recovery = (back?.end ?? Infinity) - tLift;
            const st = pool.stats();
            const end = await finish(s, app, svc, fp, ledger, v);
            console.log(
              `  warm-up ${warmed} ok, ${warmConns} connections; blackhole ${
                ms(tLift - tHole)
              }: first failure after ${
                ms((firstFail?.end ?? NaN) - tHole)
              }, first TimeoutError after ${
                ms((firstTimeout?.end ?? NaN) - tHole)
              }, ${getFails.length} get() failures, slowest ${
                ms(slowest)
              } (timeout ${TIMEOUT}); recovery ${
                ms(recovery)
              } after the lift\n  max nobjs ${g.maxObjs} of ${MAX_SIZE}; connects in flight max: in the blackhole ${g.maxHeld} held at the proxy (npm:pg ${g.maxHeldConnecting}), overall npm:pg ${g.maxConnecting}, fun ${g.maxFunPending}, pool.ncreating ${g.maxCreating} (maxCreating ${maxCreating}); created ${st.ncreated}, createErrors ${st.ncreateErrors} (createTimeouts ${st.ncreateTimeouts}), timeouts ${st.ntimeouts}, badResets ${st.badResets}, checks ${st.nchecks}/${st.badChecks} bad; shutdown ${
                ms(end.shutdownMs)
              }\n  ${end.report}\n  errors: ${histogram(holeFails)}`,
            );
            v.check(getFails.length > 0, "no caller failed in the blackhole");
            v.check(
              slowest <= TIMEOUT + SLACK,
              `a caller failed after ${
                ms(slowest)
              } (timeout ${TIMEOUT} + ${SLACK})`,
            );
            v.check(
              wrongKind.length === 0,
              `${wrongKind.length} get() failures were not creation timeouts: ${
                histogram(wrongKind)
              }`,
            );
            v.check(
              newClientFails.length === 0,
              `${newClientFails.length} queries failed on clients made in the blackhole: ${
                histogram(newClientFails)
              }`,
            );
            v.check(
              g.maxHeld <= maxCreating,
              `${g.maxHeld} connects in flight at the proxy in the blackhole (maxCreating ${maxCreating}); npm:pg connects pending then ${g.maxHeldConnecting}, pool.ncreating ${g.maxCreating}: the pool gives up on a creation at createTimeout and starts another while the connect it gave up on still hangs`,
            );
            v.check(
              g.maxCreating <= maxCreating,
              `pool.ncreating reached ${g.maxCreating}`,
            );
            v.check(
              recovery <= 2_000,
              `first success ${ms(recovery)} after the blackhole lifted`,
            );
            v.check(g.maxObjs <= MAX_SIZE, `nobjs reached ${g.maxObjs}`);
            v.assert();
          } finally {
            await abandon(svc, fp);
          }
        },
      );

      await t.step(
        "stall of every connection: requests time out, stalled clients discarded, new ones serve after",
        async () => {
          const app = `${APP}_stall`;
          // The handler gives up on a query after REQ_MS (500 ms) and
          // discards the client; a stalled idle client checked on borrow
          // (idle ≥ checkSkip) fails its check after checkTimeout 500 ms; a
          // retter's ROLLBACK on a stalled client would be bounded by
          // hookTimeout 500 ms; and npm:pg's `end()` on a stalled socket by
          // closeTimeout 1 000 ms. So every stalled client is out within
          // about 1 s of the 2 s stall, before it lifts. New connections
          // are held while stalled: createTimeout 1 500 ms gives up on them.
          const TIMEOUT = 1_000;
          const STALL = 2_000;
          const fp = await proxyTo(s);
          using ledger = new ClientLedger(fp.port);
          const svc = service(s, fp, app, TIMEOUT, {
            createTimeout: 1_500,
            checkTimeout: 500,
            hookTimeout: 500,
            closeTimeout: 1_000,
          });
          const { pool } = svc;
          const maxCreating = pool.stats().maxCreating;
          try {
            const v = new Verdict();
            using g = new Gauges(svc, fp, ledger);
            const load = new Load(svc.db, g.sample);
            let tStall = NaN, tPass = NaN;
            let stalled: Db[] = [];
            try {
              await delay(1_000);
              tStall = performance.now();
              fp.stall();
              stalled = [...svc.objects.entries()]
                .filter(([, o]) => o.closes === 0).map(([obj]) => obj);
              await delay(STALL);
              tPass = performance.now();
              fp.pass();
              await delay(3_000);
            } finally {
              await load.stop();
            }
            const fails = load.failures(tStall, tPass + REQ_MS);
            const inStall = load.done.filter((d) =>
              d.start >= tStall && d.start < tPass
            );
            // the requests in flight when the stall began time out too
            const reqTimeouts = fails.filter((d) =>
              d.err instanceof RequestTimeout
            );
            const getTimeouts = inStall.filter((d) =>
              d.phase === "get" && d.err instanceof TimeoutError
            );
            const wrongKind = fails.filter((d) =>
              !(d.err instanceof RequestTimeout) &&
              !(d.phase === "get" && creationTimeoutOrWait(d.err))
            );
            const closedBy = stalled.map((obj) => svc.objects.get(obj)!.closed);
            const notOut = closedBy.filter((c) => !(c < tPass)).length;
            const lastOut = Math.max(...closedBy) - tStall;
            const reused = load.done.filter((d) =>
              d.ok && d.start >= tStall && stalled.includes(d.obj!)
            );
            const back = load.firstOkAfter(tPass);
            const recovery = (back?.end ?? Infinity) - tPass;
            const st = pool.stats();
            const end = await finish(s, app, svc, fp, ledger, v);
            console.log(
              `  stall ${ms(tPass - tStall)}: first failure after ${
                ms((fails[0]?.end ?? NaN) - tStall)
              }, ${reqTimeouts.length} requests timed out, ${getTimeouts.length} get() timeouts; ${stalled.length} stalled clients, last one out ${
                ms(lastOut)
              } after the stall began; recovery ${
                ms(recovery)
              } after the stall lifted\n  max nobjs ${g.maxObjs} of ${MAX_SIZE}; connects in flight max: npm:pg ${g.maxConnecting}, fun ${g.maxFunPending}, pool.ncreating ${g.maxCreating} (maxCreating ${maxCreating}); created ${st.ncreated}, createErrors ${st.ncreateErrors} (createTimeouts ${st.ncreateTimeouts}), discards ${st.ndiscards}, checks ${st.nchecks}/${st.badChecks} bad, badResets ${st.badResets}, closeTimeouts ${st.ncloseTimeouts}, timeouts ${st.ntimeouts}; shutdown ${
                ms(end.shutdownMs)
              }\n  ${end.report}\n  errors: ${histogram(fails)}`,
            );
            v.check(
              stalled.length > 0,
              "no client was open when the stall began",
            );
            v.check(
              reqTimeouts.length > 0,
              "no request timed out in the stall",
            );
            v.check(
              wrongKind.length === 0,
              `${wrongKind.length} failures in the stall were neither request nor get() timeouts: ${
                histogram(wrongKind)
              }`,
            );
            v.check(
              notOut === 0,
              `${notOut} of ${stalled.length} stalled clients were not closed before the stall lifted`,
            );
            v.check(
              reused.length === 0,
              `${reused.length} requests begun in the stall were served by a stalled client`,
            );
            v.check(
              recovery <= 3_000,
              `first success ${ms(recovery)} after the stall lifted`,
            );
            v.check(g.maxObjs <= MAX_SIZE, `nobjs reached ${g.maxObjs}`);
            v.check(
              g.maxCreating <= maxCreating,
              `pool.ncreating reached ${g.maxCreating}`,
            );
            v.assert();
          } finally {
            await abandon(svc, fp);
          }
        },
      );

      await t.step(
        "shutdown({ grace: 1 s }) in a blackhole with creations in flight: bounded, callers rejected at once",
        async () => {
          const app = `${APP}_shutdown`;
          // Callers wait up to 5 s, so they are still queued when shutdown
          // comes ~0.5 s into the blackhole; createTimeout (10 s) and
          // closeTimeout (5 s) are the defaults, so the creations held by
          // the blackhole are still in flight when shutdown must stop
          // waiting for them, at grace + closeTimeout = 6 s.
          const TIMEOUT = 5_000;
          const GRACE = 1_000;
          const CLOSE_TIMEOUT = 5_000;
          const fp = await proxyTo(s);
          using ledger = new ClientLedger(fp.port);
          // the defaults, spelled out: the bound below depends on them
          const svc = service(s, fp, app, TIMEOUT, {
            createTimeout: 10_000,
            closeTimeout: CLOSE_TIMEOUT,
          });
          const { pool } = svc;
          const maxCreating = pool.stats().maxCreating;
          try {
            const v = new Verdict();
            using g = new Gauges(svc, fp, ledger);
            const load = new Load(svc.db, g.sample);
            let tHole = NaN, tShut = NaN, shutMs = NaN, killed = NaN;
            let inFlight = NaN, queued = NaN;
            try {
              await delay(1_000);
              // half the clients die (their backends terminated) and their
              // replacements are blackholed; the other half go on serving
              tHole = performance.now();
              fp.blackhole();
              killed = await admin(s, async (c) => {
                const r = await c.query(
                  `SELECT count(pg_terminate_backend(pid))::int AS n FROM
                   (SELECT pid FROM pg_stat_activity
                     WHERE application_name = $1 LIMIT 5) AS t`,
                  [app],
                );
                return r.rows[0].n as number;
              });
              await until(
                `${maxCreating} creations in flight`,
                () => pool.ncreating === maxCreating && pool.nwaiting > 0,
                3_000,
              );
              await delay(200);
              inFlight = pool.ncreating;
              queued = pool.nwaiting;
              tShut = performance.now();
              const stopping = load.stop();
              await svc.db._shutdown({ grace: GRACE });
              shutMs = performance.now() - tShut;
              await stopping;
            } finally {
              await load.stop();
            }
            // every request pending when shutdown began settled at once:
            // rejected if it waited, done if it held a client
            const pendingAtShut = load.done.filter((d) =>
              d.start < tShut && d.end >= tShut
            );
            const lastSettled = Math.max(
              0,
              ...pendingAtShut.map((d) => d.end - tShut),
            );
            const refused = pendingAtShut.filter((d) =>
              !d.ok && d.err instanceof PoolError &&
              !(d.err instanceof TimeoutError)
            );
            const holeFails = load.failures(tHole, tShut);
            await until(
              "the given-up creations to drop",
              () => pool.ncreating === 0,
              500,
            );
            const st = pool.stats();
            const end = await finish(s, app, svc, fp, ledger, v);
            console.log(
              `  ${killed} backends killed in the blackhole; first failure after ${
                ms((holeFails[0]?.end ?? NaN) - tHole)
              }; shutdown ${
                ms(tShut - tHole)
              } into it with ${inFlight} creations in flight and ${queued} callers queued: took ${
                ms(shutMs)
              } (grace ${GRACE} + closeTimeout ${CLOSE_TIMEOUT}); ${pendingAtShut.length} requests pending at shutdown, ${refused.length} refused, all settled within ${
                ms(lastSettled)
              }\n  max nobjs ${g.maxObjs} of ${MAX_SIZE}; connects in flight max: npm:pg ${g.maxConnecting}, fun ${g.maxFunPending}, pool.ncreating ${g.maxCreating} (maxCreating ${maxCreating}); after shutdown nobjs ${st.nobjs}, ncreating ${st.ncreating}; created ${st.ncreated}, createErrors ${st.ncreateErrors}, badResets ${st.badResets}; recovery n/a\n  ${end.report}\n  errors before shutdown: ${
                histogram(holeFails)
              }; at shutdown: ${histogram(pendingAtShut.filter((d) => !d.ok))}`,
            );
            v.check(killed > 0, "no backend was terminated");
            v.check(
              shutMs <= GRACE + CLOSE_TIMEOUT + 300,
              `shutdown took ${
                ms(shutMs)
              } (grace ${GRACE} + closeTimeout ${CLOSE_TIMEOUT} + 300)`,
            );
            v.check(refused.length > 0, "no queued caller was refused");
            v.check(
              lastSettled <= 200,
              `a request pending at shutdown settled ${
                ms(lastSettled)
              } after it began`,
            );
            v.check(st.nobjs === 0, `${st.nobjs} objects left after shutdown`);
            v.check(g.maxObjs <= MAX_SIZE, `nobjs reached ${g.maxObjs}`);
            v.check(
              g.maxCreating <= maxCreating,
              `pool.ncreating reached ${g.maxCreating}`,
            );
            v.assert();
          } finally {
            await abandon(svc, fp);
          }
        },
      );
    } finally {
      await stopServer(s);
    }
  },
});
