// The npm:pg recipe of examples/db.ts (`postgresOptions`: a client marked
// broken on "error", reset by ROLLBACK on return, checked when idle, closed
// by `end()`) behind a Proxy, as a service uses it, against a real
// PostgreSQL: a restart under load, a transaction a handler left open, a
// discarded client. The server comes from `.ci/run` or is started here (see
// _pg_testing.ts); locally the test is skipped loudly without one.
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { type Db, postgresOptions } from "./examples/db.ts";
import type { Pool } from "./pool.ts";
import { Proxy, type ProxyPoolOptions } from "./proxy.ts";
import { scoped } from "./scope.ts";
import {
  admin,
  load,
  type Outage,
  outage,
  pgCtl,
  recovery,
  type Server,
  serverConns,
  skipWithoutPg,
  startServer,
  stopServer,
  timed,
  until,
} from "./_pg_testing.ts";

const FILE = "pg_service_test.ts";
const APP = `ppp_service_${Deno.pid}`;

interface Service {
  db: Proxy<Db>;
  pool: Pool<Db>;
  /** How long each `closer` (npm:pg's `end()`) took, in ms. */
  closeMs: number[];
}

/**
 * A proxy on the recipe, its connections named `app` in pg_stat_activity,
 * its closer timed; `extra` adds pool options to the recipe's.
 */
function service(
  s: Server,
  app: string,
  maxSize: number,
  timeout: number,
  extra: ProxyPoolOptions<Db> = {},
): Service {
  const url = new URL(s.url);
  url.searchParams.set("application_name", app);
  const recipe = postgresOptions(url.href, { maxSize, timeout });
  const close = recipe.closer!;
  const closeMs: number[] = [];
  const db = new Proxy<Db>({
    ...recipe,
    ...extra,
    closer: async (conn) => {
      const t = performance.now();
      try {
        await close(conn);
      } finally {
        closeMs.push(performance.now() - t);
      }
    },
  });
  return { db, pool: db._pool!, closeMs };
}

/** The server process behind this scope's connection. */
async function backendPid(db: Proxy<Db>): Promise<number> {
  const [row] = await db.query<{ pid: number }>(
    "SELECT pg_backend_pid() AS pid",
  );
  return row.pid;
}

async function backendAlive(s: Server, pid: number): Promise<boolean> {
  return await admin(s, async (c) => {
    const r = await c.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1",
      [pid],
    );
    return r.rows[0].n > 0;
  });
}

const ms = (x: number) => `${x.toFixed(0)} ms`;

Deno.test({
  name: "The npm:pg recipe behind a Proxy, as a service uses it",
  ignore: skipWithoutPg(FILE),
  async fn(t) {
    const s = await startServer(FILE);
    try {
      await t.step(
        "restart under load: back within 2 s, ≥ 95 % success after, never over maxSize",
        async () => {
          const maxSize = 10;
          const timeout = 1_000;
          // The default back-off (at most 1 s between attempts) leaves
          // the recipe a second to connect within the 2 s bound.
          const { db, pool, closeMs } = service(
            s,
            `${APP}_restart`,
            maxSize,
            timeout,
          );
          let maxObjs = 0;
          let maxTotal = 0;
          const sample = () => {
            maxObjs = Math.max(maxObjs, pool.nobjs);
            maxTotal = Math.max(maxTotal, pool.nobjs + pool.ncreating);
          };
          const sampler = setInterval(sample, 5);
          const t0 = performance.now();
          const traffic = load(
            50,
            () =>
              timed(() =>
                scoped(async () => {
                  await db._getObj();
                  await db.query("SELECT 1");
                })
              ),
            sample,
          );
          const { done } = traffic;
          let phases: Outage;
          try {
            // 1 s of traffic, 1 s of outage, 5 s
            phases = await outage(
              () => pgCtl(s, "stop", "fast"),
              () => pgCtl(s, "start"),
              { lead: 1_000, gap: 1_000, tail: 5_000 },
            );
          } finally {
            await traffic.stop();
            clearInterval(sampler);
          }
          sample();
          const { tStop, tDown, tStart, tUp } = phases;
          const st = pool.stats();
          const conns = await serverConns(s, `${APP}_restart`);

          const oks = (from: number, to: number) =>
            done.filter((d) => d.ok && d.end >= from && d.end < to).length;
          const { firstOkDelay, lateRate, late } = recovery(
            done,
            phases!,
            5_000,
          );
          const outageFails = done.filter((d) =>
            !d.ok && d.end >= tStop && d.end < tUp
          );
          const kinds = new Map<string, number>();
          for (const d of done.filter((d) => !d.ok)) {
            const e = d.err as Error;
            const cause = e.cause instanceof Error
              ? ` <- ${e.cause.message}`
              : "";
            const k = `${e.name}: ${e.message.replace(/\d+/g, "N")}${cause}`;
            kinds.set(k, (kinds.get(k) ?? 0) + 1);
          }
          const sorted = [...closeMs].sort((a, b) => a - b);
          console.log(
            `  stop ${ms(tDown - tStop)}, down ${ms(tStart - tDown)}, start ${
              ms(tUp - tStart)
            }; first success ${ms(firstOkDelay)} after up; ${
              (100 * lateRate).toFixed(1)
            } % of ${late} ok in 2–5 s; ${outageFails.length} failed in the outage; ${
              (oks(t0, tStop) / ((tStop - t0) / 1_000)).toFixed(0)
            } req/s before, ${
              (oks(tUp + 2_000, tUp + 5_000) / 3).toFixed(0)
            } after\n  max nobjs ${maxObjs} (+creating ${maxTotal}) of ${maxSize}; server conns after ${conns}; created ${st.ncreated}, createErrors ${st.ncreateErrors}, checks ${st.nchecks}/${st.badChecks} bad, badResets ${st.badResets}, timeouts ${st.ntimeouts}; end() median ${
              (sorted[sorted.length >> 1] ?? NaN).toFixed(2)
            } max ${
              (sorted[sorted.length - 1] ?? NaN).toFixed(2)
            } ms (${sorted.length})\n  errors: ${
              JSON.stringify(Object.fromEntries(kinds))
            }`,
          );
          assert(outageFails.length > 0, "requests should fail while down");
          assert(
            firstOkDelay <= 2_000,
            `first success ${ms(firstOkDelay)} after the server was back`,
          );
          assert(late >= 100, `only ${late} requests in 2–5 s`);
          assert(lateRate >= 0.95, `success rate ${lateRate} in 2–5 s`);
          assert(maxObjs <= maxSize, `nobjs reached ${maxObjs}`);
          assert(maxTotal <= maxSize, `nobjs + ncreating reached ${maxTotal}`);
          assert(conns <= maxSize, `${conns} server connections`);
          assertEquals(pool.nusing, 0);
          await db._shutdown();
          await until(
            "no connection from the app after shutdown",
            async () => await serverConns(s, `${APP}_restart`) === 0,
            5_000,
          );
        },
      );

      await t.step(
        "a transaction a handler left open is never committed by a later request",
        async () => {
          const table = `ppp_service_tx_${Deno.pid}`;
          await admin(s, (c) => c.query(`CREATE TABLE ${table} (body text)`));
          // maxSize 1: every later request gets the client left in BEGIN
          const { db, pool } = service(s, `${APP}_tx`, 1, 5_000);
          try {
            const pids = new Set<number>();
            let thrown: unknown;
            try {
              await scoped(async () => {
                await db._getObj();
                pids.add(await backendPid(db));
                await db.query("BEGIN");
                await db.query(`INSERT INTO ${table} VALUES ('marker')`);
                throw new Error("the handler fails mid-transaction");
              });
            } catch (err) {
              thrown = err;
            }
            assert(thrown instanceof Error, "the handler should throw");
            for (let i = 0; i < 5; i++) {
              await scoped(async () => {
                await db._getObj();
                pids.add(await backendPid(db));
                await db.query("BEGIN");
                await db.query(`INSERT INTO ${table} VALUES ($1)`, [
                  `other ${i}`,
                ]);
                await db.query("COMMIT");
              });
            }
            const { rows } = await admin(
              s,
              (c) => c.query(`SELECT body FROM ${table} ORDER BY body`),
            );
            const st = pool.stats();
            console.log(
              `  rows: ${
                rows.map((r) => r.body).join(", ")
              }; backends used ${pids.size}; created ${st.ncreated}, badResets ${st.badResets}`,
            );
            assertEquals(
              rows.map((r) => r.body),
              ["other 0", "other 1", "other 2", "other 3", "other 4"],
            );
            // the same client served them all: the reset made it reusable
            assertEquals(pids.size, 1);
            assertEquals(st.ncreated, 1);
          } finally {
            await db._shutdown();
            await admin(s, (c) => c.query(`DROP TABLE ${table}`));
          }
        },
      );

      await t.step(
        "a discarded client leaves pg_stat_activity; the next _getObj() gets another",
        async () => {
          // maxSize 1: the next _getObj() is served only if the slot is free
          const { db, pool, closeMs } = service(s, `${APP}_discard`, 1, 5_000);
          try {
            const [first, second, waited] = await scoped(async () => {
              await db._getObj();
              const first = await backendPid(db);
              await db._retObj({ discard: true });
              const waited = await until(
                `backend ${first} to leave pg_stat_activity`,
                async () => !await backendAlive(s, first),
                5_000,
              );
              await db._getObj();
              return [first, await backendPid(db), waited];
            });
            const st = pool.stats();
            console.log(
              `  discarded backend ${first} gone from pg_stat_activity after ${
                ms(waited)
              }; next backend ${second}; ndiscards ${st.ndiscards}, closes ${closeMs.length}, created ${st.ncreated}`,
            );
            assertNotEquals(second, first);
            assertEquals(st.ndiscards, 1);
            assertEquals(closeMs.length, 1);
            assertEquals(st.ncreated, 2);
          } finally {
            await db._shutdown();
          }
        },
      );
    } finally {
      await stopServer(s);
    }
  },
});
