// `deno task demo`: the example app under load, then the pool's stats.
//
// By default the app runs on a pool of `node:sqlite` connections to one WAL
// database file in a temp dir: nothing to install. With
// DATABASE_URL=postgres://… it uses PostgreSQL through npm:pg instead.
// DEMO_REQUESTS (3000), DEMO_CONCURRENCY (100), DEMO_POOL (8) and, for
// SQLite, DEMO_LATENCY (1 ms per query, standing in for a server's
// round-trip so that requests overlap; 0 turns it off) tune it.
import { db, dropTable, usePostgres, useSqlite } from "./db.ts";
import { startServer } from "./serve.ts";

/** Options of {@linkcode drive}. */
export interface DriveOptions {
  /** Requests to send in all. */
  requests: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Called after each response. */
  onProgress?: (done: number, failed: number) => void;
}

/** What {@linkcode drive} saw. */
export interface DriveResult {
  requests: number;
  failed: number;
  /** Responses by HTTP status. */
  statuses: Record<number, number>;
  /** Notes created (POST answered 201). */
  created: number;
  /** Notes read back with the body they were stored with. */
  verified: number;
  seconds: number;
  /** Response time percentiles, in milliseconds. */
  latencyP50: number;
  latencyP99: number;
}

/**
 * Sends `requests` requests to the app at `base`, `concurrency` at a time:
 * one in three creates a note, one reads back a note created earlier and
 * checks its body, one counts the notes.
 */
export async function drive(
  base: string,
  { requests, concurrency, onProgress }: DriveOptions,
): Promise<DriveResult> {
  const statuses: Record<number, number> = {};
  const latencies: number[] = [];
  const notes: { id: number; body: string }[] = [];
  let next = 0;
  let done = 0;
  let failed = 0;
  let created = 0;
  let verified = 0;
  const t0 = performance.now();

  async function one(i: number): Promise<void> {
    const t = performance.now();
    let res: Response;
    let check: ((body: unknown) => boolean) | undefined;
    if (i % 3 === 0 || (i % 3 === 1 && notes.length === 0)) {
      const body = `note ${i}`;
      res = await fetch(`${base}/notes`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ body }),
      });
      check = (answer) => {
        const id = (answer as { id?: unknown }).id;
        if (typeof id !== "number") return false;
        notes.push({ id, body });
        created++;
        return true;
      };
    } else if (i % 3 === 1) {
      const note = notes[i % notes.length];
      res = await fetch(`${base}/notes/${note.id}`);
      check = (answer) => {
        const ok = (answer as { body?: unknown }).body === note.body;
        if (ok) verified++;
        return ok;
      };
    } else {
      res = await fetch(`${base}/notes/count`);
      check = (answer) =>
        typeof (answer as { count?: unknown }).count === "number";
    }
    const answer = await res.json().catch(() => undefined);
    latencies.push(performance.now() - t);
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    if (!res.ok || !check(answer)) failed++;
    done++;
    onProgress?.(done, failed);
  }

  async function worker(): Promise<void> {
    while (next < requests) await one(next++);
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return {
    requests: done,
    failed,
    statuses,
    created,
    verified,
    seconds: (performance.now() - t0) / 1_000,
    latencyP50: pct(0.5),
    latencyP99: pct(0.99),
  };
}

function ms(value: number | null): string {
  return value === null ? "-" : `${value.toFixed(2)} ms`;
}

function envInt(name: string, fallback: number): number {
  const value = Number(Deno.env.get(name) ?? fallback);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer: got ${value}`);
  }
  return value;
}

async function main(): Promise<number> {
  const requests = envInt("DEMO_REQUESTS", 3_000);
  const concurrency = envInt("DEMO_CONCURRENCY", 100);
  const maxSize = envInt("DEMO_POOL", 8);
  const url = Deno.env.get("DATABASE_URL");
  const dir = url === undefined
    ? await Deno.makeTempDir({ prefix: "ppp-demo-" })
    : undefined;
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    if (url === undefined) {
      useSqlite(`${dir}/demo.db`, {
        maxSize,
        timeout: 10_000,
        latency: Number(Deno.env.get("DEMO_LATENCY") ?? 1),
      });
    } else {
      await usePostgres(url, { maxSize, timeout: 10_000 });
    }
    const backend = url === undefined
      ? `SQLite (node:sqlite, WAL, ${
        Deno.env.get("DEMO_LATENCY") ?? 1
      } ms simulated round-trip per query) in ${dir}`
      : `PostgreSQL (npm:pg) at ${new URL(url).host}`;
    server = startServer({ port: 0 });
    const base = `http://127.0.0.1:${server.addr.port}`;
    console.log(`ProxyPatternPool demo: ${backend}`);
    console.log(
      `Serving on ${base}; sending ${requests} requests, ${concurrency} at a time, over a pool of ${maxSize} connections`,
    );

    const tty = Deno.stdout.isTerminal();
    const encoder = new TextEncoder();
    const t0 = performance.now();
    let lastLine = 0;
    const progress = (done: number, failed: number) => {
      const now = performance.now();
      const last = done === requests;
      if (!last && now - lastLine < (tty ? 100 : 1_000)) return;
      lastLine = now;
      const pool = db._pool;
      const rate = done / ((now - t0) / 1_000);
      const line = `  ${
        String(done).padStart(String(requests).length)
      }/${requests} requests, ${failed} failed, ${
        rate.toFixed(0)
      } req/s; pool: ${pool?.nusing ?? 0} in use, ${
        pool?.nwaiting ?? 0
      } waiting`;
      if (tty) {
        Deno.stdout.writeSync(
          encoder.encode(`\r\x1b[2K${line}${last ? "\n" : ""}`),
        );
      } else {
        console.log(line);
      }
    };
    const result = await drive(base, {
      requests,
      concurrency,
      onProgress: progress,
    });
    await server.shutdown();
    server = undefined;

    const s = db._pool?.stats();
    if (s === undefined) throw new Error("the demo's proxy has no pool");
    const rows: [string, string][] = [
      ["requests", `${result.requests} in ${result.seconds.toFixed(2)} s`],
      ["throughput", `${(result.requests / result.seconds).toFixed(0)} req/s`],
      ["failed", String(result.failed)],
      [
        "statuses",
        Object.entries(result.statuses).map(([k, v]) => `${k}: ${v}`).join(
          ", ",
        ),
      ],
      ["notes created / read back", `${result.created} / ${result.verified}`],
      [
        "latency p50 / p99",
        `${ms(result.latencyP50)} / ${ms(result.latencyP99)}`,
      ],
      ["pool maxSize", String(s.maxSize)],
      ["connections created", String(s.ncreated)],
      ["hand-outs", String(s.nuses)],
      ["reused", String(s.nuses - s.ncreated)],
      ["waits (queued gets)", String(s.nwaits)],
      ["timeouts", String(s.ntimeouts)],
      [
        "wait p50 / p99 / max",
        `${ms(s.waitP50)} / ${ms(s.waitP99)} / ${ms(s.waitMax)}`,
      ],
      ["in use / available now", `${s.nusing} / ${s.navail}`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log("\nPool statistics");
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
    return result.failed === 0 && s.nusing === 0 ? 0 : 1;
  } finally {
    await server?.shutdown();
    if (url !== undefined && db._pool !== undefined) {
      await dropTable().catch((e) => console.error(`drop table: ${e}`));
    }
    await db._shutdown();
    if (dir !== undefined) await Deno.remove(dir, { recursive: true });
    console.log(
      "Cleaned up: server shut, pool shut down" +
        (dir ? ", temp dir removed" : ", demo table dropped"),
    );
  }
}

if (import.meta.main) Deno.exit(await main());
