// The example app of serve.ts on Hono (npm:hono), served by Deno.serve,
// with the same handlers (handlers.ts) and the same `db` proxy (db.ts).
//
//   deno run -A examples/hono.ts [port]       # SQLite file in a temp dir
//   PORT=8080 deno run -A examples/hono.ts
//   DATABASE_URL=postgres://… deno run -A examples/hono.ts
//
// The pattern is serve.ts's, as a Hono middleware: the request runs in
// `scoped()`, and awaits `db._getObj()` before anything touches `db`. Hono
// runs the matched handlers (and any later middleware) inside `next()`, so
// awaiting `next()` inside the scope keeps the whole handler in it: the
// handler sees this request's connection, and the connection goes back to
// the pool when `next()` settles, before the response leaves. A handler
// that throws does not reject `next()`: Hono catches the error, answers
// with `app.onError`, and the scope ends normally, so the connection goes
// back all the same (and if `db._getObj()` itself throws, `scoped()` still
// closes the scope before the error reaches `onError`).
//
// The scope covers `next()` and nothing after: a handler must not return a
// streaming body (`c.stream()`, `streamSSE()`…) that uses `db` while it is
// sent, as the connection is back in the pool by then.
import { Hono, type MiddlewareHandler } from "hono";
import { scoped, TimeoutError } from "../mod.ts";
import { db, useDatabaseFromEnv } from "./db.ts";
import { countNotes, createNote, readNote } from "./handlers.ts";

/**
 * Runs the rest of the request (later middleware and the handler) in its
 * own scope, with its own connection bound first.
 *
 * Eager, not lazy: the connection is taken before the handler runs, so
 * serve.ts's one rule ("await `db._getObj()` first in the scope") holds
 * for every handler behind this middleware without each repeating it, a
 * full pool answers 503 before a request body is read, and handlers.ts is
 * used unchanged. The price would be a connection held by requests that
 * never touch `db`; here no route under `/notes` is one, and the one route
 * that needs no database (`/health`) is not behind this middleware at all.
 * An app mixing both kinds under one prefix would instead open the scope
 * only (`scoped(() => next())`) and have each handler that uses `db`
 * `await db._getObj()` first: lazily, only when needed.
 */
export const dbScope: MiddlewareHandler = async (c, next) => {
  return await scoped(async () => {
    try {
      await db._getObj(); // first: bind this request's connection
    } catch (error) {
      // No connection (a full pool, or a database that refuses): 503, so
      // that clients back off.
      const message = error instanceof Error ? error.message : String(error);
      return c.json({ error: message }, 503);
    }
    await next(); // the handler runs in here, in this scope
  });
};

/**
 * Builds the app (`db` must be set up before it serves a request): use
 * `app.fetch` directly, or `Deno.serve(options, app.fetch)`.
 */
export function createApp(): Hono {
  const app = new Hono();
  app.get("/health", (c) => c.text("ok\n")); // no scope, no connection
  app.use("/notes/*", dbScope); // also matches "/notes" itself
  app.post("/notes", (c) => createNote(c.req.raw));
  app.get("/notes/count", () => countNotes());
  app.get("/notes/:id{[0-9]+}", (c) => readNote(Number(c.req.param("id"))));
  app.notFound((c) => c.text("not found\n", 404));
  app.onError((error, c) => {
    // A pool that times out inside a handler answers 503; other errors 500.
    const status = error instanceof TimeoutError ? 503 : 500;
    return c.json({ error: error.message }, status);
  });
  return app;
}

/** Options of {@linkcode startServer}. */
export interface StartOptions {
  /** Port to listen on; `0` picks a free one. */
  port?: number;
  /** Address to listen on. */
  hostname?: string;
  /** The app to serve; a new {@linkcode createApp} by default. */
  app?: Hono;
}

/**
 * Serves the app (once `db` is set up); `server.addr.port` tells the port,
 * `await server.shutdown()` stops it.
 */
export function startServer(
  { port = 0, hostname = "127.0.0.1", app = createApp() }: StartOptions = {},
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ port, hostname, onListen: () => {} }, app.fetch);
}

if (import.meta.main) {
  const arg = Deno.args[0] ?? Deno.env.get("PORT") ?? "8000";
  const port = Number(arg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot serve on port '${arg}': expected 0…65535`);
  }
  const database = await useDatabaseFromEnv({ maxSize: 10, timeout: 5_000 });
  const server = startServer({ port });
  console.log(
    `Hono serving on http://127.0.0.1:${server.addr.port}/ with ${database.label}; Ctrl-C to stop`,
  );
  Deno.addSignalListener("SIGINT", async () => {
    await server.shutdown();
    await database.close();
    Deno.exit(0);
  });
}
