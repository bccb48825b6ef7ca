// Many isolates behind PgBouncer: examples/fleet.ts under
// `deno serve --parallel` (DENO_JOBS isolates in one process, each with its
// own pool of at most MAX_SIZE npm:pg clients), through PgBouncer in
// transaction mode (default_pool_size 5), in front of a real PostgreSQL.
// 200 HTTP clients loop on POST /hits (one BEGIN … COMMIT each) against one
// isolate, then against four; then PgBouncer is stopped and started again
// under that load; then the fleet gets SIGTERM. The servers come from
// `.ci/run` or are started here (see _pg_testing.ts, _bouncer_testing.ts);
// locally the test is skipped loudly without them.
import { assert, assertEquals } from "@std/assert";
import { delay } from "@std/async/delay";
import {
  admin,
  type Outage,
  outage,
  recovery,
  type Server,
  startServer,
  stopServer,
  until,
} from "./_pg_testing.ts";
import {
  type Bouncer,
  bouncerConns,
  bouncerCtl,
  bouncerUrl,
  skipWithoutBouncer,
  startBouncer,
  stopBouncer,
} from "./_bouncer_testing.ts";

const FILE = "pg_fleet_test.ts";
const FLEET = new URL("./examples/fleet.ts", import.meta.url).pathname;
/** The fleet's own database: PgBouncer's pool and pg_stat_activity are counted by it. */
const DB = `ppp_fleet_${Deno.pid}`;
const HITS = "ppp_fleet_hits";
const JOBS = 4;
const MAX_SIZE = 5;
/** PgBouncer's default_pool_size (.ci/pgbouncer.sh). */
const SERVER_POOL = 5;
const CLIENTS = 200;
const LOAD_MS = 3_000;

const ms = (x: number) => `${x.toFixed(0)} ms`;
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** A port from `from` up that nothing listens on (outside the ephemeral range). */
function freePort(from: number): number {
  for (let port = from; port < from + 1_000; port++) {
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // taken
    }
  }
  throw new Error(`no free port from ${from}`);
}

/** The same server, database `name`. */
function onDb(s: Server, name: string): Server {
  const url = new URL(s.url);
  url.pathname = `/${name}`;
  return { ...s, url: url.href };
}

interface Fleet {
  child: Deno.ChildProcess;
  base: string;
  jobs: number;
  /** Everything it printed, once it exited. */
  output: Promise<string>;
}

/** Starts the fleet and returns once each of its `jobs` isolates answered. */
async function startFleet(url: string, jobs: number): Promise<Fleet> {
  const port = freePort(28_000);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      "--parallel",
      "-A",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      FLEET,
    ],
    env: {
      DENO_JOBS: String(jobs),
      DATABASE_URL: url,
      PPP_MAX_SIZE: String(MAX_SIZE),
      PPP_TIMEOUT: "5000",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]).then(([out, err]) => out + err);
  let exited = false;
  child.status.then(() => exited = true);
  const base = `http://127.0.0.1:${port}`;
  const isolates = new Set<string>();
  try {
    // each probe on a new connection, which the kernel hands to any isolate
    await until(`${jobs} isolates answering on ${base}`, async () => {
      if (exited) throw new Error(`the fleet exited:\n${await output}`);
      const client = Deno.createHttpClient({});
      try {
        const res = await fetch(`${base}/isolate`, { client });
        isolates.add(await res.text());
      } catch {
        // not listening yet
      } finally {
        client.close();
      }
      return isolates.size >= jobs;
    }, 30_000);
  } catch (err) {
    if (!exited) child.kill("SIGKILL");
    await child.status;
    await output;
    throw err;
  }
  return { child, base, jobs, output };
}

/** SIGTERM, then the exit: its code, how long it took, what it printed. */
async function stopFleet(
  f: Fleet,
): Promise<{ code: number; ms: number; lines: string[] }> {
  const t = performance.now();
  f.child.kill("SIGTERM");
  const { code } = await f.child.status;
  const took = performance.now() - t;
  const lines = (await f.output).split("\n").filter((l) =>
    l.includes("fleet:")
  );
  return { code, ms: took, lines };
}

interface Done {
  start: number;
  end: number;
  ok: boolean;
  isolate?: string;
  error?: string;
}

/**
 * CLIENTS loops on their own HTTP connections, until stopped: POST /hits
 * (one transaction each), or GET /isolate (no connection).
 */
function drive(base: string, path: "/hits" | "/isolate" = "/hits") {
  const client = Deno.createHttpClient({});
  const done: Done[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      const start = performance.now();
      try {
        const res = await fetch(`${base}${path}`, {
          method: path === "/hits" ? "POST" : "GET",
          client,
        });
        const body = path === "/hits"
          ? await res.json()
          : { isolate: await res.text() };
        done.push({
          start,
          end: performance.now(),
          ok: res.status === 200,
          isolate: body.isolate,
          error: body.error,
        });
      } catch (err) {
        done.push({
          start,
          end: performance.now(),
          ok: false,
          error: `${err}`,
        });
        await delay(10);
      }
    }
  };
  const t0 = performance.now();
  const workers = Array.from({ length: CLIENTS }, worker);
  return {
    done,
    t0,
    async stop(): Promise<number> {
      running = false;
      await Promise.all(workers);
      client.close();
      return performance.now();
    },
  };
}

/** Successes per second of GET /isolate for 1 s: the fleet without a database. */
async function bareRate(f: Fleet): Promise<number> {
  const load = drive(f.base, "/isolate");
  await delay(1_000);
  const tEnd = await load.stop();
  const oks = load.done.filter((d) => d.ok).length;
  assertEquals(oks, load.done.length, kinds(load.done));
  return oks / ((tEnd - load.t0) / 1_000);
}

/** The most connections seen at each layer, sampled every 50 ms. */
function sampler(s: Server, b: Bouncer) {
  const max = { listed: 0, clients: 0, waiting: 0, servers: 0, backends: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const c = await bouncerConns(b, DB);
        max.listed = Math.max(max.listed, c.listed);
        max.clients = Math.max(max.clients, c.clients);
        max.waiting = Math.max(max.waiting, c.waiting);
        max.servers = Math.max(max.servers, c.servers);
      } catch {
        // PgBouncer is down
      }
      max.backends = Math.max(max.backends, await backends(s));
      await delay(50);
    }
  })();
  return {
    max,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** The server's connections to the fleet's database (PgBouncer's). */
async function backends(s: Server): Promise<number> {
  return await admin(s, async (c) => {
    const r = await c.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = $1 AND backend_type = 'client backend'`,
      [DB],
    );
    return r.rows[0].n as number;
  });
}

/** The counter's total, read on the server itself. */
async function hits(s: Server): Promise<number> {
  return await admin(onDb(s, DB), async (c) => {
    const r = await c.query(
      `SELECT COALESCE(SUM(n), 0)::int AS n FROM ${HITS}`,
    );
    return r.rows[0].n as number;
  });
}

/** Requests by isolate, as shares of the successes: "26/25/24/25 %". */
function spread(done: Done[]): string {
  const by = new Map<string, number>();
  for (const d of done) {
    if (d.ok) by.set(d.isolate!, (by.get(d.isolate!) ?? 0) + 1);
  }
  const oks = [...by.values()].reduce((a, b) => a + b, 0);
  return `${
    [...by.values()].map((n) => (100 * n / oks).toFixed(0)).join("/")
  } %`;
}

/** Failures by message, digits masked. */
function kinds(done: Done[]): string {
  const k = new Map<string, number>();
  for (const d of done.filter((d) => !d.ok)) {
    const key = (d.error ?? "?").replace(/\d+/g, "N");
    k.set(key, (k.get(key) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(k));
}

function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Runs the load for LOAD_MS against `f`; what it saw, and the counter's growth. */
async function steadyLoad(s: Server, b: Bouncer, f: Fleet) {
  const before = await hits(s);
  const conns = sampler(s, b);
  const load = drive(f.base);
  await delay(LOAD_MS);
  const tEnd = await load.stop();
  await conns.stop();
  const after = await hits(s);
  const { done } = load;
  const oks = done.filter((d) => d.ok).length;
  const rps = oks / ((tEnd - load.t0) / 1_000);
  const lat = done.map((d) => d.end - d.start);
  return {
    done,
    oks,
    rps,
    counted: after - before,
    max: conns.max,
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
  };
}

Deno.test({
  name: "A fleet of isolates behind PgBouncer in transaction mode",
  ignore: skipWithoutBouncer(FILE),
  async fn(t) {
    const s = await startServer(FILE);
    let b: Bouncer | undefined;
    const fleets: Fleet[] = [];
    try {
      b = await startBouncer(FILE, s);
      const bouncer = b;
      await admin(s, (c) => c.query(`CREATE DATABASE ${DB}`));
      const url = bouncerUrl(bouncer, DB);
      let rps1 = NaN, bare1 = NaN;

      await t.step(
        `one isolate: ${CLIENTS} clients for 3 s, every request succeeds`,
        async () => {
          const f = await startFleet(url, 1);
          fleets.push(f);
          const r = await steadyLoad(s, bouncer, f);
          bare1 = await bareRate(f);
          const stopped = await stopFleet(f);
          rps1 = r.rps;
          console.log(
            `  1 isolate × maxSize ${MAX_SIZE}: ${
              r.rps.toFixed(0)
            } req/s (${r.oks} of ${r.done.length} ok, p50 ${ms(r.p50)}, p99 ${
              ms(r.p99)
            }); most connections: PgBouncer clients ${r.max.listed}, PgBouncer servers ${r.max.servers}, PostgreSQL backends ${r.max.backends}; without the database (GET /isolate) ${
              bare1.toFixed(0)
            } req/s`,
          );
          assertEquals(r.oks, r.done.length, kinds(r.done));
          assertEquals(r.counted, r.oks, "counter rows vs successes");
          assert(r.max.listed <= MAX_SIZE, `${r.max.listed} clients`);
          assert(r.max.backends <= SERVER_POOL, `${r.max.backends} backends`);
          assertEquals(stopped.code, 0);
        },
      );

      const f = await startFleet(url, JOBS);
      fleets.push(f);

      await t.step(
        `${JOBS} isolates: ${CLIENTS} clients for 3 s, every request succeeds, ≤ ${
          JOBS * MAX_SIZE
        } clients at PgBouncer, ≤ ${SERVER_POOL} at PostgreSQL, one counter bump per success`,
        async () => {
          const r = await steadyLoad(s, bouncer, f);
          const bare = await bareRate(f);
          const isolates = new Set(r.done.map((d) => d.isolate)).size;
          console.log(
            `  ${JOBS} isolates × maxSize ${MAX_SIZE}: ${
              r.rps.toFixed(0)
            } req/s = ${
              (r.rps / rps1).toFixed(2)
            } × one isolate (${r.oks} of ${r.done.length} ok, p50 ${
              ms(r.p50)
            }, p99 ${ms(r.p99)}; served by ${isolates} isolates, ${
              spread(r.done)
            })\n  most connections: HTTP ${CLIENTS} → PgBouncer clients ${r.max.listed} (SHOW POOLS ${r.max.clients}, ${r.max.waiting} waiting) → PgBouncer servers ${r.max.servers} → PostgreSQL backends ${r.max.backends}; counter +${r.counted} for ${r.oks} successes\n  without the database (GET /isolate): ${
              bare.toFixed(0)
            } req/s = ${(bare / bare1).toFixed(2)} × one isolate`,
          );
          assertEquals(r.oks, r.done.length, kinds(r.done));
          // one listening socket shared by the isolates: whichever accepts
          // first gets the connection, so the spread is uneven
          assert(isolates >= 2, `served by ${isolates} isolate(s)`);
          assertEquals(r.counted, r.oks, "counter rows vs successes");
          assert(r.max.listed <= JOBS * MAX_SIZE, `${r.max.listed} clients`);
          assert(r.max.clients <= JOBS * MAX_SIZE, `${r.max.clients} clients`);
          assert(r.max.servers <= SERVER_POOL, `${r.max.servers} servers`);
          assert(r.max.backends <= SERVER_POOL, `${r.max.backends} backends`);
        },
      );

      await t.step(
        "PgBouncer restarts under load: a success ≤ 2 s after it is back, ≥ 95 % from 2 s to 4 s",
        async () => {
          const before = await hits(s);
          const conns = sampler(s, bouncer);
          const load = drive(f.base);
          let phases: Outage;
          try {
            phases = await outage(
              () => bouncerCtl(bouncer, "down"),
              () => bouncerCtl(bouncer, "up"),
              { lead: 1_000, gap: 1_000, tail: 4_000 },
            );
          } finally {
            await load.stop();
            await conns.stop();
          }
          const { tStop, tDown, tStart, tUp } = phases;
          const counted = (await hits(s)) - before;
          const { done } = load;
          const oks = done.filter((d) => d.ok).length;
          const fails = done.length - oks;
          const { firstOkDelay, lateRate, late } = recovery(
            done,
            phases!,
            4_000,
          );
          const outageFails = done.filter((d) =>
            !d.ok && d.end >= tStop && d.end < tUp + 2_000
          ).length;
          const rate = (from: number, to: number) =>
            done.filter((d) => d.ok && d.end >= from && d.end < to).length /
            ((to - from) / 1_000);
          const split = done.filter((d) =>
            d.error === "one transaction, two server connections"
          ).length;
          console.log(
            `  down ${ms(tDown - tStop)}, off ${ms(tStart - tDown)}, up ${
              ms(tUp - tStart)
            }; first success ${ms(firstOkDelay)} after up; ${
              pct(lateRate)
            } of ${late} ok in 2–4 s; ${outageFails} failed from the stop to 2 s after up; ${
              rate(load.t0, tStop).toFixed(0)
            } req/s before, ${
              rate(tUp + 2_000, tUp + 4_000).toFixed(0)
            } in 2–4 s\n  most connections: PgBouncer clients ${conns.max.listed}, servers ${conns.max.servers}, PostgreSQL backends ${conns.max.backends} (old and new PgBouncer's); counter +${counted} for ${oks} successes and ${fails} failures\n  errors: ${
              kinds(done)
            }`,
          );
          assert(
            firstOkDelay <= 2_000,
            `first success ${ms(firstOkDelay)} after PgBouncer was back`,
          );
          assert(late >= 100, `only ${late} requests in 2–4 s`);
          assert(lateRate >= 0.95, `success rate ${lateRate} in 2–4 s`);
          assertEquals(split, 0, "transactions split across connections");
          // a failed request may have committed (its COMMIT reached the
          // server, the answer did not come back); a success always did
          assert(
            counted >= oks && counted <= oks + fails,
            `counter +${counted} for ${oks} successes, ${fails} failures`,
          );
          assert(conns.max.listed <= JOBS * MAX_SIZE, `${conns.max.listed}`);
          assert(conns.max.servers <= SERVER_POOL, `${conns.max.servers}`);
        },
      );

      await t.step(
        "SIGTERM: every isolate shuts its pool down, the process exits within 5 s",
        async () => {
          const stopped = await stopFleet(f);
          const gone = await until(
            "no client of the fleet at PgBouncer",
            async () =>
              (await bouncerConns(bouncer, DB)).listed === 0,
            2_000,
          );
          console.log(
            `  exit ${stopped.code} ${
              ms(stopped.ms)
            } after SIGTERM; no client at PgBouncer ${ms(gone)} later\n${
              stopped.lines.map((l) => `  ${l.trim()}`).join("\n")
            }`,
          );
          assertEquals(stopped.code, 0);
          assert(stopped.ms < 5_000, `exited ${ms(stopped.ms)} after SIGTERM`);
          assertEquals(stopped.lines.length, JOBS, "one line per isolate");
        },
      );
    } finally {
      for (const f of fleets) {
        try {
          f.child.kill("SIGKILL");
        } catch {
          // already exited
        }
        await f.child.status;
        await f.output;
      }
      await admin(
        s,
        (c) => c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`),
      )
        .catch((err) => console.warn(`  DROP DATABASE ${DB}: ${err}`));
      if (b !== undefined) await stopBouncer(b);
      await stopServer(s);
    }
  },
});
