// Test helpers for the tests through PgBouncer (pg_fleet_test.ts): where
// the pooler comes from, stopping and starting it on its port, its admin
// console. The pooler comes from `.ci/run` (PPP_BOUNCER_* variables, see
// .ci/pgbouncer.sh) in front of the server of PPP_PG_*; without them a test
// starts one itself, in front of the server _pg_testing.ts gave it, if
// PgBouncer is installed. Locally a test is skipped loudly when no pooler
// can be had; under CI=true it must run. Not published.
// @ts-types="npm:@types/pg@^8"
import type pg from "pg";
import {
  CI,
  run,
  type Server,
  skipWithoutPg,
  startOrFail,
  startScript,
  withClient,
} from "./_pg_testing.ts";

/** A PgBouncer in front of a test's PostgreSQL. */
export interface Bouncer {
  /** `postgres://user@127.0.0.1:port/postgres`: any database name passes through. */
  url: string;
  port: number;
  /** Its config, pid file and log (for `bouncerCtl`). */
  dir: string;
  /** True when this test started the pooler and must stop it. */
  ours: boolean;
}

const BIN = Deno.env.get("PPP_BOUNCER_BIN") ?? "/usr/sbin/pgbouncer";
const SCRIPT = new URL("./.ci/pgbouncer.sh", import.meta.url).pathname;

function fromEnv(): Bouncer | undefined {
  const url = Deno.env.get("PPP_BOUNCER_URL");
  if (url === undefined) return undefined;
  return {
    url,
    port: Number(new URL(url).port),
    dir: Deno.env.get("PPP_BOUNCER_DIR") ?? "",
    ours: false,
  };
}

function installed(): boolean {
  try {
    return Deno.statSync(BIN).isFile;
  } catch {
    return false;
  }
}

/**
 * Whether the test file `file` must be skipped: no PostgreSQL or no
 * PgBouncer can be had and we are not in CI. Says so loudly when it is.
 */
export function skipWithoutBouncer(file: string): boolean {
  if (skipWithoutPg(file)) return true;
  if (CI || fromEnv() !== undefined || installed()) return false;
  console.warn(
    `\n!!! ${file} SKIPPED: no PgBouncer (set PPP_BOUNCER_URL, or install ` +
      "Debian's pgbouncer, or run .ci/run). Under CI=true this test fails.\n",
  );
  return true;
}

async function start(s: Server): Promise<Bouncer> {
  const env = fromEnv();
  if (env !== undefined) {
    if (s.ours) {
      throw new Error(
        "PPP_BOUNCER_URL is set but PPP_PG_URL is not: the pooler would not " +
          "stand in front of this test's server",
      );
    }
    return env;
  }
  const vars = await startScript(SCRIPT, "PPP_BOUNCER_", [
    `PPP_PG_URL=${s.url}`,
    `PPP_PG_PORT=${new URL(s.url).port}`,
    `PPP_PG_USER=${s.user}`,
  ]);
  return {
    url: vars.PPP_BOUNCER_URL,
    port: Number(vars.PPP_BOUNCER_PORT),
    dir: vars.PPP_BOUNCER_DIR,
    ours: true,
  };
}

/**
 * The pooler from the environment, or one started for the test file
 * `file` in front of the server `s`; fails with a clear message when none
 * can be had.
 */
export function startBouncer(file: string, s: Server): Promise<Bouncer> {
  return startOrFail("PgBouncer", file, () => start(s));
}

/** Stops the pooler if the test started it. */
export async function stopBouncer(b: Bouncer): Promise<void> {
  if (b.ours) await run("bash", [SCRIPT, "stop", b.dir]);
}

/**
 * `"down"` stops the pooler at once (its clients' and servers' connections
 * are cut) and returns when the process is gone; `"up"` starts it again
 * on the same port and returns when the port accepts connections.
 */
export async function bouncerCtl(
  b: Bouncer,
  action: "down" | "up",
): Promise<void> {
  if (b.dir === "") {
    throw new Error(
      "PPP_BOUNCER_DIR is not set: cannot stop or start PgBouncer",
    );
  }
  await run("bash", [SCRIPT, action, b.dir]);
}

/** The URL of database `name` through the pooler. */
export function bouncerUrl(b: Bouncer, name: string): string {
  const url = new URL(b.url);
  url.pathname = `/${name}`;
  return url.href;
}

/**
 * Runs `fn` on one short-lived connection to the pooler's admin console
 * (the `pgbouncer` database: simple queries only, `SHOW …`).
 */
export function bouncerAdmin<R>(
  b: Bouncer,
  fn: (c: pg.Client) => Promise<R>,
): Promise<R> {
  return withClient({ connectionString: bouncerUrl(b, "pgbouncer") }, fn);
}

/** One row of `SHOW POOLS`: a (database, user) pair's connections. */
export interface BouncerPool {
  /** Client connections, linked to a server or waiting for one. */
  clients: number;
  /** Of which waiting for a server connection. */
  waiting: number;
  /** Server connections, in any state (active, idle, used, tested, login). */
  servers: number;
}

/**
 * What the pooler holds for `database`: `SHOW CLIENTS` counted, and the
 * `SHOW POOLS` rows of that database summed over users.
 */
export async function bouncerConns(
  b: Bouncer,
  database: string,
): Promise<BouncerPool & { listed: number }> {
  return await bouncerAdmin(b, async (c) => {
    const clients = await c.query("SHOW CLIENTS");
    const pools = await c.query("SHOW POOLS");
    const sum = { clients: 0, waiting: 0, servers: 0 };
    for (const r of pools.rows.filter((r) => r.database === database)) {
      sum.clients += Number(r.cl_active) + Number(r.cl_waiting);
      sum.waiting += Number(r.cl_waiting);
      sum.servers += Number(r.sv_active) + Number(r.sv_idle) +
        Number(r.sv_used) + Number(r.sv_tested) + Number(r.sv_login);
    }
    const listed = clients.rows.filter((r) => r.database === database).length;
    return { ...sum, listed };
  });
}
