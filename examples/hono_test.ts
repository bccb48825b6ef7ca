// The Hono app in-process: SQLite in a temp dir, served on port 0 (or
// called through `app.fetch`). Everything is shut down at the end.
import { assert, assertEquals } from "@std/assert";
import type { Hono } from "hono";
import { type Db, db, useSqlite } from "./db.ts";
import { createNote } from "./handlers.ts";
import { createApp, startServer } from "./hono.ts";

/** Sets `db` up on SQLite in a temp dir, runs `fn`, shuts `db` down. */
async function withDb(
  options: { maxSize: number; timeout?: number; latency?: number },
  fn: () => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ppp-hono-test-" });
  try {
    useSqlite(`${dir}/test.db`, options);
    await fn();
  } finally {
    await db._shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Serves `app` on port 0 while `fn` runs. */
async function serving(
  app: Hono,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const server = startServer({ port: 0, app });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

function stats() {
  const stats = db._pool?.stats();
  if (stats === undefined) throw new Error("db has no pool");
  return stats;
}

Deno.test("hono example: 50 concurrent requests over a pool of 4, each in flight on its own connection, all back at the end", async () => {
  const maxSize = 4;
  await withDb({ maxSize, timeout: 10_000, latency: 10 }, async () => {
    // A route behind the scope middleware (registered after it, under
    // /notes) that sees the connection the middleware bound, then does
    // the real work of POST /notes with it.
    const inFlight = new Set<Db>();
    const seen = new Set<Db>();
    let peak = 0;
    let shared = 0;
    const app = createApp();
    app.post("/notes/tracked", async (c) => {
      const conn = await db._getObj(); // already bound: no wait, same one
      if (inFlight.has(conn)) shared++;
      inFlight.add(conn);
      seen.add(conn);
      peak = Math.max(peak, inFlight.size);
      try {
        return await createNote(c.req.raw);
      } finally {
        inFlight.delete(conn);
      }
    });
    await serving(app, async (base) => {
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`${base}/notes/tracked`, {
            method: "POST",
            body: JSON.stringify({ body: `note ${i}` }),
          })),
      );
      const answers = await Promise.all(
        responses.map(async (res) => [res.status, await res.json()]),
      );
      const failed = answers.filter(([status]) => status !== 201);
      assertEquals(failed, [], JSON.stringify(failed));
      const ids = answers.map(([, { id }]) => id).sort((a, b) => a - b);
      assertEquals(ids, Array.from({ length: 50 }, (_, i) => i + 1));
      assertEquals(shared, 0, "two requests in flight shared a connection");
      assertEquals(peak, maxSize, "requests did not overlap up to maxSize");
      assert(seen.size <= maxSize, `saw ${seen.size} connections`);
      const count = await fetch(`${base}/notes/count`);
      assertEquals(await count.json(), { count: 50 });
      const read = await fetch(`${base}/notes/7`);
      assertEquals(await read.json(), { id: 7, body: "note 6" });
    });
    const s = stats();
    assert(s.ncreated <= maxSize, `created ${s.ncreated}`);
    assertEquals(s.ncreated, seen.size);
    assertEquals(s.nuses, 52);
    assertEquals([s.nusing, s.nwaiting, s.ntimeouts], [0, 0, 0]);
  });
});

Deno.test("hono example: a handler that throws answers 500 and its connection still goes back", async () => {
  await withDb({ maxSize: 2, timeout: 5_000, latency: 1 }, async () => {
    const app = createApp();
    app.get("/notes/boom", () => {
      const backend = db.backend; // bound: usable synchronously
      throw new Error(`boom on ${backend}`);
    });
    app.get("/notes/boom-later", async () => {
      await db.query("SELECT 1");
      throw new Error("boom later");
    });
    await serving(app, async (base) => {
      // More throwing requests than connections: a leaked connection
      // would starve the later ones (503 after the timeout, or a hang).
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const path = i % 2 === 0 ? "boom" : "boom-later";
          const res = await fetch(`${base}/notes/${path}`);
          return [res.status, await res.json()];
        }),
      );
      for (const [i, answer] of answers.entries()) {
        const error = i % 2 === 0 ? "boom on sqlite" : "boom later";
        assertEquals(answer, [500, { error }]);
      }
      assertEquals([stats().nusing, stats().nwaiting], [0, 0]);
      const count = await fetch(`${base}/notes/count`);
      assertEquals(await count.json(), { count: 0 });
    });
    const s = stats();
    assert(s.ncreated <= 2, `created ${s.ncreated}`);
    assertEquals(s.nuses, 21);
    assertEquals([s.nusing, s.nwaiting, s.ntimeouts], [0, 0, 0]);
  });
});

Deno.test("hono example: 503 when no connection comes in time, /health needs none", async () => {
  await withDb({ maxSize: 1, timeout: 0 }, async () => {
    const app = createApp();
    const held = await db._pool?.get();
    try {
      const res = await app.fetch(new Request("http://app/notes/count"));
      assertEquals(res.status, 503);
      const { error } = await res.json();
      assert(String(error).includes("'timeout' is 0"), error);
      const health = await app.fetch(new Request("http://app/health"));
      assertEquals([health.status, await health.text()], [200, "ok\n"]);
    } finally {
      if (held !== undefined) await db._pool?.ret(held);
    }
    const res = await app.fetch(new Request("http://app/notes/count"));
    assertEquals(await res.json(), { count: 0 });
    assertEquals([stats().nusing, stats().ntimeouts], [0, 1]);
  });
});

Deno.test("hono example through app.fetch: 201, 200, 404 for an unknown note or route, 400 for a bad body", async () => {
  await withDb({ maxSize: 2 }, async () => {
    const app = createApp();
    const call = async (path: string, init?: RequestInit) => {
      const res = await app.fetch(new Request(`http://app${path}`, init));
      const type = res.headers.get("content-type") ?? "";
      return [
        res.status,
        type.includes("json") ? await res.json() : await res.text(),
      ];
    };
    const post = { method: "POST", body: JSON.stringify({ body: "hello" }) };
    assertEquals(await call("/notes", post), [201, { id: 1 }]);
    assertEquals(await call("/notes/1"), [200, { id: 1, body: "hello" }]);
    assertEquals(await call("/notes/9"), [404, { error: "no note 9" }]);
    assertEquals(await call("/notes", { method: "POST", body: "[]" }), [
      400,
      { error: "expected a JSON object with a string 'body'" },
    ]);
    assertEquals(await call("/notes/abc"), [404, "not found\n"]);
    assertEquals(await call("/elsewhere"), [404, "not found\n"]);
    assertEquals(await call("/notes/count"), [200, { count: 1 }]);
    const s = stats();
    // /notes/abc went through the middleware too (it matches /notes/*)
    // before finding no route: 6 uses, none left out.
    assertEquals([s.nuses, s.nusing], [6, 0]);
  });
});

Deno.test("hono example: 503 when the database refuses connections", async () => {
  db.set({
    fun: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432")),
    maxSize: 2,
    timeout: 1_000,
  });
  try {
    const res = await createApp().fetch(new Request("http://app/notes/1"));
    assertEquals(res.status, 503);
    const { error } = await res.json();
    assert(String(error).includes("ECONNREFUSED"), error);
  } finally {
    await db._shutdown();
  }
});
