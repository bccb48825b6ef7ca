// The example app of examples/serve.ts rewritten on `npm:pg`'s own
// `pg.Pool` (max 10) instead of our `db` Proxy: the baseline of
// bench/pg_app_compare.ts. Same routes, same SQL, same JSON answers, same
// statuses; like the ppp app, each request (but /health) checks one client
// out of the pool before routing (`pool.connect()`) and gives it back when
// the handler settles (`release()`). Not published; not part of the library.
//
//   DATABASE_URL=postgres://… PORT=18082 deno run -A bench/pg_pool_app.ts
//
// Ctrl-C (SIGINT) shuts the server and the pool down.
// @ts-types="npm:@types/pg@^8"
import pg from "pg";

/** The demo table of examples/db.ts (`TABLE` there). */
const TABLE = "ppp_demo_notes";

const NOTE = new URLPattern({ pathname: "/notes/:id(\\d+)" });

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}

// The handlers of examples/handlers.ts, on a checked-out client.

async function createNote(
  client: pg.PoolClient,
  req: Request,
): Promise<Response> {
  const input = await req.json().catch(() => undefined);
  if (typeof input?.body !== "string") {
    return json({ error: "expected a JSON object with a string 'body'" }, 400);
  }
  const { rows: [row] } = await client.query<{ id: number }>(
    `INSERT INTO ${TABLE} (body) VALUES ($1) RETURNING id`,
    [input.body],
  );
  return json({ id: Number(row.id) }, 201);
}

async function readNote(client: pg.PoolClient, id: number): Promise<Response> {
  const { rows: [row] } = await client.query<{ id: number; body: string }>(
    `SELECT id, body FROM ${TABLE} WHERE id = $1`,
    [id],
  );
  if (row === undefined) return json({ error: `no note ${id}` }, 404);
  return json({ id: Number(row.id), body: row.body });
}

async function countNotes(client: pg.PoolClient): Promise<Response> {
  const { rows: [row] } = await client.query<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM ${TABLE}`,
  );
  return json({ count: Number(row.n) });
}

async function route(client: pg.PoolClient, req: Request): Promise<Response> {
  const { pathname } = new URL(req.url);
  if (req.method === "POST" && pathname === "/notes") {
    return await createNote(client, req);
  }
  if (req.method === "GET" && pathname === "/notes/count") {
    return await countNotes(client);
  }
  const match = req.method === "GET" ? NOTE.exec(req.url) : null;
  if (match !== null) {
    return await readNote(client, Number(match.pathname.groups.id));
  }
  return new Response("not found\n", { status: 404 });
}

/** The request handler: one client per request, as in examples/serve.ts. */
export function makeHandler(
  pool: pg.Pool,
): (req: Request) => Promise<Response> {
  return async (req) => {
    if (new URL(req.url).pathname === "/health") {
      return new Response("ok\n"); // no connection needed
    }
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect(); // first: this request's client
      const response = await route(client, req);
      client.release();
      return response;
    } catch (error) {
      // A client that failed a query is discarded (pg's idiom); none was
      // checked out if connect() itself failed.
      client?.release(error instanceof Error ? error : true);
      const message = error instanceof Error ? error.message : String(error);
      // pg.Pool's wait for a client timed out: 503, as a full ppp pool.
      const status = /timeout exceeded when trying to connect/.test(message)
        ? 503
        : 500;
      return json({ error: message }, status);
    }
  };
}

if (import.meta.main) {
  const url = Deno.env.get("DATABASE_URL");
  if (url === undefined) {
    console.error("pg_pool_app.ts: set DATABASE_URL");
    Deno.exit(2);
  }
  // As examples/serve.ts: at most 10 clients, 5 s wait for one; idle
  // clients are kept (0), as our pool keeps them (maxAvailDelay 0).
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 0,
  });
  // An idle client whose connection dies emits "error" on the pool;
  // without a listener the process would crash. The pool drops it.
  pool.on("error", () => {});
  await pool.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
    id SERIAL PRIMARY KEY,
    body TEXT NOT NULL
  )`);
  const server = Deno.serve({
    port: Number(Deno.env.get("PORT") ?? 8000),
    hostname: "127.0.0.1",
    onListen: () => {},
  }, makeHandler(pool));
  console.log(
    `Serving on http://127.0.0.1:${server.addr.port}/ with PostgreSQL on pg.Pool; Ctrl-C to stop`,
  );
  Deno.addSignalListener("SIGINT", async () => {
    await server.shutdown();
    await pool.end();
    Deno.exit(0);
  });
}
