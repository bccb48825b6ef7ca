// The serve.ts app as a fleet: one process, several isolates, each with its
// own small pool, all behind a transaction pooler such as PgBouncer.
//
//   DATABASE_URL=postgres://app@127.0.0.1:6432/app \
//     DENO_JOBS=4 deno serve --parallel -A --host 127.0.0.1 --port 8000 examples/fleet.ts
//
// `deno serve --parallel` runs DENO_JOBS isolates (one per CPU by default),
// evaluates this module once in each, and hands each incoming connection to
// one of them. Each isolate sets up its own `db` (examples/db.ts, the npm:pg
// recipe) with at most PPP_MAX_SIZE connections (default 5), so the pooler
// sees at most DENO_JOBS × PPP_MAX_SIZE clients; a request waits at most
// PPP_TIMEOUT ms (default 5000) for one. Besides serve.ts's routes:
//
//   POST /hits     one transaction: bumps a counter, answers which isolate
//   GET  /hits     the counter's total
//   GET  /isolate  this isolate's id (no connection)
//
// On SIGINT or SIGTERM each isolate shuts its pool down; the process exits
// once all have, or 4 s after the signal at most (Deno Deploy kills an
// isolate 5 s after it).
import { scoped, TimeoutError } from "../mod.ts";
import { db, postgresOptions, TABLE } from "./db.ts";
import { handle } from "./serve.ts";

/** This isolate, in answers and logs. */
const ISOLATE = crypto.randomUUID().slice(0, 8);

/** The counter of POST /hits: SLOTS rows, so that requests seldom wait on one row lock. */
const HITS = "ppp_fleet_hits";
const SLOTS = 16;

const url = Deno.env.get("DATABASE_URL");
if (url === undefined) {
  throw new Error("fleet.ts: set DATABASE_URL=postgres://… (the pooler's URL)");
}
db.set({
  ...postgresOptions(url, {
    maxSize: Number(Deno.env.get("PPP_MAX_SIZE") ?? 5),
    timeout: Number(Deno.env.get("PPP_TIMEOUT") ?? 5_000),
  }),
  name: `db@${ISOLATE}`,
  // Behind a pooler: close a connection idle for a minute, before the
  // pooler's own idle timeout cuts it, and renew every connection within
  // half an hour (less up to 3 min of jitter, so they do not expire together).
  maxAvailDelay: 60_000,
  maxLifetime: 30 * 60_000,
});

// Every isolate runs this at start: the transaction-level advisory lock
// makes them take turns (concurrent CREATE TABLE IF NOT EXISTS can fail),
// and is released at COMMIT, on whatever server connection the pooler gave.
await db._obj(async (conn) => {
  await conn.query("BEGIN");
  await conn.query("SELECT pg_advisory_xact_lock(hashtext($1))", [HITS]);
  await conn.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
    id SERIAL PRIMARY KEY,
    body TEXT NOT NULL
  )`);
  await conn.query(`CREATE TABLE IF NOT EXISTS ${HITS} (
    slot INT PRIMARY KEY,
    n BIGINT NOT NULL DEFAULT 0
  )`);
  await conn.query(
    `INSERT INTO ${HITS} (slot) SELECT generate_series(0, $1::int - 1)
     ON CONFLICT DO NOTHING`,
    [SLOTS],
  );
  await conn.query("COMMIT");
}); // on a throw, the recipe's retter rolls back

/**
 * POST /hits: bumps one counter row inside BEGIN … COMMIT on this
 * request's connection, and checks the transaction stayed on one server
 * connection (what a transaction pooler promises).
 */
async function hit(): Promise<Response> {
  const slot = Math.floor(Math.random() * SLOTS);
  const txOf = "pg_backend_pid() AS pid, txid_current()::text AS tx";
  await db.query("BEGIN");
  const [row] = await db.query<{ n: string; pid: number; tx: string }>(
    `UPDATE ${HITS} SET n = n + 1 WHERE slot = $1 RETURNING n, ${txOf}`,
    [slot],
  );
  const [again] = await db.query<{ pid: number; tx: string }>(
    `SELECT ${txOf}`,
  );
  await db.query("COMMIT");
  if (again.pid !== row.pid || again.tx !== row.tx) {
    return Response.json({ error: "one transaction, two server connections" }, {
      status: 500,
    });
  }
  return Response.json({ isolate: ISOLATE, slot, n: Number(row.n) });
}

/** GET /hits: the counter's total. */
async function hits(): Promise<Response> {
  const [row] = await db.query<{ n: string }>(
    `SELECT COALESCE(SUM(n), 0)::text AS n FROM ${HITS}`,
  );
  return Response.json({ hits: Number(row.n) });
}

/** Runs `fn` in its own scope with its own connection, as serve.ts's handle(). */
function inScope(fn: () => Promise<Response>): Promise<Response> {
  return scoped(async () => {
    try {
      await db._getObj();
      return await fn();
    } catch (error) {
      const status = error instanceof TimeoutError ? 503 : 500;
      const message = error instanceof Error ? error.message : String(error);
      return Response.json({ error: message }, { status });
    }
  });
}

let served = 0;

// Shutdown: every isolate of the process gets the signal. The first to
// call Deno.exit() ends them all, so each one says on a BroadcastChannel
// that it is up ("hello", answered once by each peer) and when its pool is
// shut down ("stopped"); the process exits when every isolate it heard of
// has stopped.
const channel = new BroadcastChannel("ppp-fleet");
const peers = new Set<string>();
const allStopped = Promise.withResolvers<void>();
let stopping: Promise<void> | undefined;
channel.onmessage = (
  { data }: MessageEvent<{ kind: string; from: string }>,
) => {
  if (data.kind === "hello" && !peers.has(data.from)) {
    peers.add(data.from);
    channel.postMessage({ kind: "hello", from: ISOLATE });
  } else if (data.kind === "stopped") {
    peers.delete(data.from);
    if (peers.size === 0) allStopped.resolve();
  }
};
channel.postMessage({ kind: "hello", from: ISOLATE });

function stop(): Promise<void> {
  stopping ??= (async () => {
    const t0 = performance.now();
    setTimeout(() => Deno.exit(0), 4_000); // whatever is still pending
    await db._shutdown({ grace: 2_000 }); // lent clients get 2 s to come back
    const st = db._pool?.stats();
    console.log(
      `fleet: isolate ${ISOLATE} stopped in ${
        (performance.now() - t0).toFixed(0)
      } ms; served ${served}, created ${st?.ncreated}, createErrors ${st?.ncreateErrors}, badResets ${st?.badResets}, timeouts ${st?.ntimeouts}`,
    );
    channel.postMessage({ kind: "stopped", from: ISOLATE });
    if (peers.size === 0) allStopped.resolve();
    await allStopped.promise;
    Deno.exit(0);
  })();
  return stopping;
}
Deno.addSignalListener("SIGINT", stop);
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);

export default {
  fetch(req: Request): Promise<Response> {
    served++;
    const { pathname } = new URL(req.url);
    if (pathname === "/hits") {
      if (req.method === "POST") return inScope(hit);
      if (req.method === "GET") return inScope(hits);
    }
    if (pathname === "/isolate") return Promise.resolve(new Response(ISOLATE));
    return handle(req);
  },
} satisfies Deno.ServeDefaultExport;
