// The example app in-process: SQLite in a temp dir, the server on port 0,
// a small load from demo.ts's driver. Everything is shut down at the end.
import { assert, assertEquals } from "@std/assert";
import { db, useSqlite } from "./db.ts";
import { drive } from "./demo.ts";
import { startServer } from "./serve.ts";

/** Sets `db` up on SQLite in a temp dir, serves, runs `fn`, cleans up. */
async function withApp(
  options: { maxSize: number; timeout?: number; latency?: number },
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ppp-serve-test-" });
  try {
    useSqlite(`${dir}/test.db`, options);
    const server = startServer({ port: 0 });
    try {
      await fn(`http://127.0.0.1:${server.addr.port}`);
    } finally {
      await server.shutdown();
    }
  } finally {
    await db._shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("serve example answers 300 concurrent requests over a pool of 4, every connection back at the end", async () => {
  await withApp({ maxSize: 4, latency: 1 }, async (base) => {
    const result = await drive(base, { requests: 300, concurrency: 30 });
    assertEquals(result.failed, 0, JSON.stringify(result.statuses));
    assertEquals(result.requests, 300);
    assertEquals(result.statuses[201], result.created);
    assert(result.created >= 100, `created ${result.created}`);
    assertEquals(result.verified, result.requests - result.created - 100);
    const count = await (await fetch(`${base}/notes/count`)).json();
    assertEquals(count, { count: result.created });
    const stats = db._pool?.stats();
    if (stats === undefined) throw new Error("db has no pool");
    assert(stats.ncreated <= 4, `created ${stats.ncreated}`);
    assertEquals(stats.nuses, 301);
    assertEquals([stats.nusing, stats.nwaiting, stats.ntimeouts], [0, 0, 0]);
  });
});

Deno.test("serve example answers 404 for an unknown note, 400 for a bad body, ok for /health", async () => {
  await withApp({ maxSize: 2 }, async (base) => {
    const missing = await fetch(`${base}/notes/999`);
    assertEquals(
      [missing.status, await missing.json()],
      [404, { error: "no note 999" }],
    );
    const bad = await fetch(`${base}/notes`, { method: "POST", body: "[]" });
    assertEquals(bad.status, 400);
    await bad.body?.cancel();
    const health = await fetch(`${base}/health`);
    assertEquals([health.status, await health.text()], [200, "ok\n"]);
    const created = await fetch(`${base}/notes`, {
      method: "POST",
      body: JSON.stringify({ body: "hello" }),
    });
    assertEquals([created.status, await created.json()], [201, { id: 1 }]);
    const read = await fetch(`${base}/notes/1`);
    assertEquals(await read.json(), { id: 1, body: "hello" });
    assertEquals(db._pool?.nusing, 0);
  });
});

Deno.test("serve example answers 503 when no connection comes within the timeout", async () => {
  await withApp({ maxSize: 1, timeout: 0 }, async (base) => {
    const held = await db._pool?.get();
    try {
      const res = await fetch(`${base}/notes/count`);
      assertEquals(res.status, 503);
      const { error } = await res.json();
      assert(String(error).includes("'timeout' is 0"), error);
    } finally {
      if (held !== undefined) await db._pool?.ret(held);
    }
    const res = await fetch(`${base}/notes/count`);
    assertEquals(await res.json(), { count: 0 });
  });
});

Deno.test("serve example answers 503 when the database refuses connections", async () => {
  db.set({
    fun: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432")),
    maxSize: 2,
    timeout: 1_000,
  });
  const server = startServer({ port: 0 });
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/notes/1`);
    assertEquals(res.status, 503);
    const { error } = await res.json();
    assert(String(error).includes("ECONNREFUSED"), error);
  } finally {
    await server.shutdown();
    await db._shutdown();
  }
});
