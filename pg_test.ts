// Fault tests against a real PostgreSQL: npm:pg clients pooled behind our
// Proxy and used from `scoped` request handlers (as in a Deno.serve app),
// the server's connections read from pg_stat_activity, backends killed, the
// server stopped and started under load. The server comes from `.ci/run`
// (PPP_PG_* variables, see .ci/postgres.sh); without them the test starts
// one itself if PostgreSQL is installed. Locally the test is skipped loudly
// when no server can be had; under CI=true it must run.
import { assert, assertEquals } from "@std/assert";
// @ts-types="npm:@types/pg@^8"
import pg from "pg";
import type { Pool } from "./pool.ts";
import { Proxy, type ProxyPoolOptions } from "./proxy.ts";
import { scoped } from "./scope.ts";
import { TimeoutError } from "./errors.ts";
import {
  admin,
  load,
  pgCtl,
  type Server,
  serverConns,
  skipWithoutPg,
  startServer,
  stopServer,
  timed,
  until,
} from "./_pg_testing.ts";

const APP = `ppp_test_${Deno.pid}`;

/** One call of `fun`: when it started and ended, and whether it connected. */
interface Attempt {
  start: number;
  end: number;
  ok: boolean;
}

interface Db {
  /** The proxy handlers use: one pooled client per scope. */
  db: Proxy<pg.Client>;
  /** The pool behind it, for its counters. */
  pool: Pool<pg.Client>;
  attempts: Attempt[];
  closerHangs: () => number;
}

/**
 * A Proxy to npm:pg clients, pooled, counting and timing every call of
 * `fun`.
 */
function pgPool(
  s: Server,
  app: string,
  options: ProxyPoolOptions<pg.Client>,
): Db {
  const attempts: Attempt[] = [];
  let hangs = 0;
  const db = new Proxy<pg.Client>({
    fun: async () => {
      const a: Attempt = { start: performance.now(), end: NaN, ok: false };
      attempts.push(a);
      const c = new pg.Client({
        connectionString: s.url,
        application_name: app,
        connectionTimeoutMillis: 2_000,
      });
      // the server may kill an idle client: `check` finds out on borrow
      c.on("error", () => {});
      try {
        await c.connect();
        a.ok = true;
      } finally {
        a.end = performance.now();
      }
      return c;
    },
    check: async (c) => {
      await c.query("SELECT 1");
      return true;
    },
    closer: async (c) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hung = new Promise<"hung">((r) => {
        timer = setTimeout(() => r("hung"), 3_000);
      });
      try {
        if (await Promise.race([c.end(), hung]) === "hung") hangs++;
      } finally {
        clearTimeout(timer);
      }
    },
    ...options,
  });
  return { db, pool: db._pool!, attempts, closerHangs: () => hangs };
}

/**
 * A request handler as in a Deno.serve app: a fresh scope, this request's
 * client bound at the top (the documented pattern), then queries through
 * the proxy; the client goes back to the pool when the scope ends.
 */
function request<R>(
  { db }: Db,
  fn: (c: pg.Client) => Promise<R>,
  timeout?: number,
): Promise<R> {
  return scoped(async () => {
    await db._getObj({ timeout });
    return await fn(db);
  });
}

const skip = skipWithoutPg("pg_test.ts");

Deno.test({
  name:
    "Proxy-pooled npm:pg clients in scoped handlers survive a real PostgreSQL's faults",
  ignore: skip,
  async fn(t) {
    const s = await startServer("pg_test.ts");
    try {
      await t.step(
        "200 concurrent requests all succeed on at most maxSize connections",
        async () => {
          const app = `${APP}_load`;
          const maxSize = 8;
          const pg8 = pgPool(s, app, {
            maxSize,
            minSize: 2,
            timeout: 30_000,
          });
          const { pool, closerHangs } = pg8;
          let seen = 0;
          let sampled = 0;
          let sampling = true;
          const sampler = (async () => {
            while (sampling) {
              seen = Math.max(seen, await serverConns(s, app));
              sampled++;
            }
          })();
          const results = await Promise.allSettled(
            Array.from({ length: 200 }, (_, i) =>
              request(pg8, async (c) => {
                const r = await c.query(
                  "SELECT $1::int AS i, pg_sleep(0.005), (SELECT count(*)::int FROM pg_stat_activity WHERE application_name = $2) AS n",
                  [i, app],
                );
                assert(pool.nobjs + pool.ncreating <= maxSize);
                return r.rows[0] as { i: number; n: number };
              })),
          );
          sampling = false;
          await sampler;
          const failed = results.filter((r) => r.status === "rejected");
          assertEquals(failed, []);
          const rows = results.map((r) =>
            (r as PromiseFulfilledResult<{ i: number; n: number }>).value
          );
          assertEquals(
            rows.map((r) => r.i),
            Array.from({ length: 200 }, (_, i) => i),
          );
          const inQuery = Math.max(...rows.map((r) => r.n));
          seen = Math.max(seen, inQuery);
          console.log(
            `  200 requests: max ${inQuery} app connections seen from inside queries, ${seen} overall (${sampled} samples); maxSize ${maxSize}; created ${pool.stats().ncreated}`,
          );
          assert(seen <= maxSize, `${seen} connections > maxSize ${maxSize}`);
          assert(seen >= 2, "the load should use several connections");
          await pg8.db._shutdown();
          const waited = await until(
            "no connection from the app after shutdown",
            async () => await serverConns(s, app) === 0,
            5_000,
          );
          console.log(
            `  after shutdown: 0 connections (${waited.toFixed(0)} ms)`,
          );
          assertEquals(closerHangs(), 0);
        },
      );

      await t.step(
        "pg_terminate_backend on every idle connection: next requests all succeed",
        async () => {
          const app = `${APP}_kill`;
          const maxSize = 6;
          const pg6 = pgPool(s, app, {
            maxSize,
            minSize: 0,
            timeout: 10_000,
            checkSkip: 0, // check every borrow: the kill happens just after use
          });
          const { pool, closerHangs } = pg6;
          // open maxSize connections, all idle afterwards
          const held = await Promise.all(
            Array.from({ length: maxSize }, () => pool.get()),
          );
          await Promise.all(held.map((c) => pool.ret(c)));
          assertEquals(pool.navail, maxSize);
          assertEquals(await serverConns(s, app), maxSize);
          const killed = await admin(s, async (c) => {
            const r = await c.query(
              "SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle') k",
              [app],
            );
            return r.rows[0].n as number;
          });
          assertEquals(killed, maxSize);
          await until(
            "the killed backends to leave pg_stat_activity",
            async () => await serverConns(s, app) === 0,
            5_000,
          );
          const results = await Promise.allSettled(
            Array.from({ length: 50 }, (_, i) =>
              request(pg6, async (c) => {
                const r = await c.query("SELECT $1::int AS i", [i]);
                return r.rows[0].i as number;
              })),
          );
          assertEquals(results.filter((r) => r.status === "rejected"), []);
          const st = pool.stats();
          console.log(
            `  killed ${killed} idle backends; 50/50 requests succeeded; check on borrow: ${st.nchecks} checks, ${st.badChecks} failed; created ${st.ncreated}`,
          );
          assertEquals(st.badChecks, maxSize);
          assert(await serverConns(s, app) <= maxSize);
          await pg6.db._shutdown();
          await until(
            "no connection from the app after shutdown",
            async () => await serverConns(s, app) === 0,
            5_000,
          );
          assertEquals(closerHangs(), 0);
        },
      );

      await t.step(
        "server restart under load: clear errors while down, backoff, recovery",
        async () => {
          const app = `${APP}_restart`;
          const timeout = 1_000;
          const pg5 = pgPool(s, app, {
            maxSize: 5,
            minSize: 2,
            timeout,
            checkSkip: 0,
            checkTimeout: 1_000,
            backoffBase: 100, // the default
            backoffMax: 1_000, // so that a 3 s outage sees several attempts
          });
          const { pool, attempts, closerHangs } = pg5;
          const traffic = load(
            8,
            () =>
              timed(() => request(pg5, (c) => c.query("SELECT 1"), timeout)),
          );
          const { done } = traffic;
          const oks = () => done.filter((d) => d.ok).length;
          await until("load to run", () => oks() >= 200, 10_000);

          const tStop = performance.now();
          await pgCtl(s, "stop");
          const tDown = performance.now();
          // the outage lasts 3 s: a scenario parameter, not a wait on a race
          const outage = 3_000;
          await new Promise((r) => setTimeout(r, outage));
          const tStart = performance.now();
          const during = attempts.filter((a) =>
            a.start >= tStop && a.start < tStart
          );
          await pgCtl(s, "start");
          const tUp = performance.now();
          const recovered = await until(
            "a request started after the restart to succeed",
            () => done.some((d) => d.ok && d.start >= tUp),
            10_000,
            5,
          );
          const firstOk = done.find((d) => d.ok && d.start >= tUp)!;
          // then the pool serves steadily: 100 more successes in a row
          await until(
            "100 more requests",
            () => done.filter((d) => d.start >= firstOk.end).length >= 100,
            10_000,
          );
          await traffic.stop();

          const downErrs = done.filter((d) =>
            !d.ok && d.start >= tDown && d.end <= tStart
          );
          // requests started after the first success (not those queued
          // during the outage, which may still time out)
          const late = done.filter((d) => d.start >= firstOk.end && !d.ok);
          const kinds = new Map<string, number>();
          for (const d of done.filter((d) => !d.ok)) {
            const e = d.err as Error;
            const cause = e.cause instanceof Error
              ? ` (cause: ${e.cause.message})`
              : "";
            const k = `${e.name}: ${e.message.replace(/\d+/g, "N")}${cause}`;
            kinds.set(k, (kinds.get(k) ?? 0) + 1);
          }
          // after the first failure, attempts go one at a time, each after
          // a back-off delay: gaps between one's end and the next's start
          const firstFail = during.findIndex((a) => !a.ok);
          const spaced = during.slice(firstFail + 1).filter((a) =>
            a.start > during[firstFail].end
          );
          const burst = during.length - spaced.length;
          const gaps = spaced.map((a, i) =>
            a.start - (i === 0 ? during[firstFail].end : spaced[i - 1].end)
          );
          const recoveryMs = firstOk.end - tUp;
          const st = pool.stats();
          console.log(
            [
              `  pg_ctl stop took ${
                (tDown - tStop).toFixed(0)
              } ms; outage ${outage} ms; pg_ctl start took ${
                (tUp - tStart).toFixed(0)
              } ms`,
              `  ${downErrs.length} requests failed while down; slowest failure ${
                Math.max(...downErrs.map((d) => d.end - d.start)).toFixed(0)
              } ms (timeout ${timeout} ms)`,
              `  fun calls from stop to start: ${during.length} (${
                during.filter((a) => a.ok).length
              } connected before the server went away; first failure ${
                (during[firstFail].end - tStop).toFixed(0)
              } ms after stop began); ${burst} in the first burst, then ${spaced.length} spaced by back-off, gaps ms: ${
                gaps.map((g) => g.toFixed(0)).join(" ")
              }`,
              `  recovery: first request started after restart succeeded ${
                recoveryMs.toFixed(0)
              } ms after pg_ctl start returned (${
                recovered.toFixed(0)
              } ms of polling)`,
              `  errors: ${JSON.stringify(Object.fromEntries(kinds))}`,
              `  stats: created ${st.ncreated}, createErrors ${st.ncreateErrors}, checks ${st.nchecks}/${st.badChecks} failed, timeouts ${st.ntimeouts}`,
            ].join("\n"),
          );
          // while down, requests fail, each within its timeout (+ margin)
          assert(
            downErrs.length > 0,
            "requests should fail while the server is down",
          );
          for (const d of done.filter((d) => !d.ok)) {
            assert(
              d.end - d.start <= timeout + 1_000,
              `a failure took ${d.end - d.start} ms`,
            );
            const e = d.err as Error;
            assert(e instanceof Error && e.message.length > 0);
            if (e instanceof TimeoutError) {
              // "why did it time out?": the connection error
              assert(e.cause instanceof Error, `no cause on ${e.message}`);
            }
          }
          // attempts are spaced by the backoff, not a busy loop: once one
          // failed, the rest go one at a time (never overlapping), each
          // after a delay of at most backoffMax; a 3 s outage with
          // backoffMax 1 s therefore sees at least 2 and at most a few dozen
          // (the first burst is bounded by maxCreating, 2)
          assert(burst <= 2, `${burst} attempts in the first burst`);
          for (let i = 1; i < spaced.length; i++) {
            assert(
              spaced[i].start >= spaced[i - 1].end,
              "overlapping attempts",
            );
          }
          assert(spaced.length >= 2, `${spaced.length} spaced attempts`);
          assert(spaced.length <= 40, `${spaced.length} spaced attempts`);
          assert(gaps.every((g) => g <= 1_000 + 250), `gaps ${gaps}`);
          // back within 5 s with no manual action
          assert(recoveryMs < 5_000, `recovery took ${recoveryMs} ms`);
          assertEquals(late.length, 0, "requests after recovery must succeed");
          await pg5.db._shutdown();
          await until(
            "no connection from the app after shutdown",
            async () => await serverConns(s, app) === 0,
            5_000,
          );
          assertEquals(closerHangs(), 0);
        },
      );
    } finally {
      await stopServer(s);
    }
  },
});
