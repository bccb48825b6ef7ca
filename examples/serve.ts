// A Deno.serve app whose handlers use the module-level `db` proxy.
//
//   deno run -A examples/serve.ts            # SQLite file in a temp dir
//   DATABASE_URL=postgres://… deno run -A examples/serve.ts
//
// The pattern: every request runs in `scoped()`, and awaits
// `db._getObj()` before anything touches `db`. A pooled connection is
// never taken synchronously by a member access, so this is the one rule,
// whatever the load; the connection goes back to the pool when the
// handler settles, even when it throws.
import { scoped, TimeoutError } from "../mod.ts";
import { db, useDatabaseFromEnv } from "./db.ts";
import { countNotes, createNote, readNote } from "./handlers.ts";

const NOTE = new URLPattern({ pathname: "/notes/:id(\\d+)" });

async function route(req: Request): Promise<Response> {
  const { pathname } = new URL(req.url);
  if (req.method === "POST" && pathname === "/notes") {
    return await createNote(req);
  }
  if (req.method === "GET" && pathname === "/notes/count") {
    return await countNotes();
  }
  const match = req.method === "GET" ? NOTE.exec(req.url) : null;
  if (match !== null) return await readNote(Number(match.pathname.groups.id));
  return new Response("not found\n", { status: 404 });
}

/** Serves one request in its own scope, with its own connection. */
export function handle(req: Request): Promise<Response> {
  if (new URL(req.url).pathname === "/health") {
    return Promise.resolve(new Response("ok\n")); // no connection needed
  }
  return scoped(async () => {
    try {
      await db._getObj(); // first: bind this request's connection
    } catch (error) {
      // No connection (a full pool, or a database that refuses): 503, so
      // that clients back off.
      return failure(error, 503);
    }
    try {
      return await route(req);
    } catch (error) {
      return failure(error, error instanceof TimeoutError ? 503 : 500);
    }
  });
}

function failure(error: unknown, status: number): Response {
  const message = error instanceof Error ? error.message : String(error);
  return Response.json({ error: message }, { status });
}

/** Options of {@linkcode startServer}. */
export interface StartOptions {
  /** Port to listen on; `0` picks a free one. */
  port?: number;
  /** Address to listen on. */
  hostname?: string;
}

/**
 * Starts the app (once `db` is set up); `server.addr.port` tells the port,
 * `await server.shutdown()` stops it.
 */
export function startServer(
  { port = 0, hostname = "127.0.0.1" }: StartOptions = {},
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ port, hostname, onListen: () => {} }, handle);
}

if (import.meta.main) {
  const database = await useDatabaseFromEnv({ maxSize: 10, timeout: 5_000 });
  const server = startServer({ port: Number(Deno.env.get("PORT") ?? 8000) });
  console.log(
    `Serving on http://127.0.0.1:${server.addr.port}/ with ${database.label}; Ctrl-C to stop`,
  );
  Deno.addSignalListener("SIGINT", async () => {
    await server.shutdown();
    await database.close();
    Deno.exit(0);
  });
}
