// `deno task demo`: the example app under load, then the pool's stats.
//
// By default the app runs on a pool of `node:sqlite` connections to one WAL
// database file in a temp dir: nothing to install. With
// DATABASE_URL=postgres://… it uses PostgreSQL through npm:pg instead.
// DEMO_REQUESTS (3000), DEMO_CONCURRENCY (100), DEMO_POOL (8) and, for
// SQLite, DEMO_LATENCY (1 ms per query, standing in for a server's
// round-trip so that requests overlap; 0 turns it off) tune it.
//
// The pool is sampled every 10 ms during the run; the demo ends with its
// stats and a chart of connections in use, callers waiting and the wait
// p99 over the run. With OTEL_DENO=true the pool (named "db") exports its
// OpenTelemetry metrics; its gauges are read only at an export, so set
// OTEL_METRIC_EXPORT_INTERVAL (say 1000): the demo then stays up one more
// interval before it shuts the pool down.
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

/** The pool as the demo saw it at one moment. */
export interface PoolSample {
  /** Milliseconds since sampling started. */
  t: number;
  /** Objects lent. */
  nusing: number;
  /** Callers queued for one. */
  nwaiting: number;
  /** 99th percentile (ms) of the pool's recent waits; `null` before any. */
  waitP99: number | null;
}

/**
 * Calls `read` now and every `every` ms, until `stop()`, which takes a last
 * sample and returns them all.
 */
export function samplePool(
  read: () => Omit<PoolSample, "t">,
  every = 10,
): { stop(): PoolSample[] } {
  const samples: PoolSample[] = [];
  const t0 = performance.now();
  const take = () => samples.push({ t: performance.now() - t0, ...read() });
  take();
  const timer = setInterval(take, every);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

/** Eighths of a cell, blank for zero. */
const BLOCKS = " ▁▂▃▄▅▆▇█";

/**
 * One row of `width` cells: the time from the first point to the last cut
 * in `width` equal slices, each cell the peak of its slice (a slice with no
 * point repeats the cell before), drawn from 0 (blank) to `top` (█).
 */
export function sparkline(
  points: readonly { t: number; v: number }[],
  width: number,
  top: number,
): string {
  if (points.length === 0) return " ".repeat(width);
  const t0 = points[0].t;
  const span = points[points.length - 1].t - t0;
  const peaks: (number | undefined)[] = Array(width).fill(undefined);
  for (const { t, v } of points) {
    const i = span > 0
      ? Math.min(width - 1, Math.floor((t - t0) / span * width))
      : 0;
    peaks[i] = Math.max(peaks[i] ?? 0, v);
  }
  let held = 0;
  return peaks.map((peak) => {
    held = peak ?? held;
    if (held <= 0 || top <= 0) return BLOCKS[0];
    // any value above zero shows, however small
    return BLOCKS[Math.max(1, Math.min(8, Math.round(held / top * 8)))];
  }).join("");
}

/** Options of {@linkcode poolChart}. */
export interface ChartOptions {
  /** The pool's limit: the top of the in-use row. */
  maxSize: number;
  /** Columns of the whole chart (60 to 80 reads well). */
  columns?: number;
}

/**
 * The run at a glance: one labelled row each for objects in use, callers
 * waiting and the wait p99, over time, with each row's min and max.
 */
export function poolChart(
  samples: readonly PoolSample[],
  { maxSize, columns = 78 }: ChartOptions,
): string[] {
  const rows = [
    { label: "in use", values: samples.map((s) => s.nusing), digits: 0 },
    { label: "waiting", values: samples.map((s) => s.nwaiting), digits: 0 },
    {
      label: "wait p99",
      values: samples.map((s) => s.waitP99 ?? 0),
      digits: 1,
      unit: " ms",
    },
  ].map((row) => ({
    ...row,
    min: row.values.length ? Math.min(...row.values) : 0,
    max: row.values.length ? Math.max(...row.values) : 0,
  }));
  const label = Math.max(...rows.map((r) => r.label.length));
  const num = (v: number, digits: number) => v.toFixed(digits);
  const minWidth = Math.max(3, ...rows.map((r) => num(r.min, r.digits).length));
  const maxWidth = Math.max(3, ...rows.map((r) => num(r.max, r.digits).length));
  const unit = Math.max(...rows.map((r) => r.unit?.length ?? 0));
  // "  label ▕cells▏ min  max unit"
  const width = Math.max(
    20,
    columns - (2 + label + 2 + 1 + 1 + minWidth + 2 + maxWidth + unit),
  );
  const seconds = samples.length ? samples[samples.length - 1].t / 1_000 : 0;
  const end = `${seconds.toFixed(2)} s`;
  const head = `The pool over the run (a cell: the peak of ${
    (seconds * 1_000 / width).toFixed(0)
  } ms)`;
  const lines = [
    `${head.padEnd(2 + label + 2 + width + 1)} ${"min".padStart(minWidth)}  ${
      "max".padStart(maxWidth)
    }`,
  ];
  for (const [i, row] of rows.entries()) {
    // in use: from 0 to the pool's limit
    const top = i === 0 ? Math.max(maxSize, row.max) : row.max;
    const cells = sparkline(
      samples.map((s, j) => ({ t: s.t, v: row.values[j] })),
      width,
      top,
    );
    lines.push(
      `  ${row.label.padEnd(label)} ▕${cells}▏ ${
        num(row.min, row.digits).padStart(minWidth)
      }  ${num(row.max, row.digits).padStart(maxWidth)}${row.unit ?? ""}`,
    );
  }
  lines.push(`${" ".repeat(2 + label + 2)}0 s${end.padStart(width - 3)}`);
  return lines;
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

/**
 * Under OTEL_DENO=true, keeps the pool open for one metrics export: its
 * gauges are read at an export, and none is made at exit.
 */
async function awaitExport(name: string): Promise<void> {
  const otel = Deno.env.get("OTEL_DENO");
  if (otel !== "true" && otel !== "1") return;
  const setting = Deno.env.get("OTEL_METRIC_EXPORT_INTERVAL");
  const interval = Number(setting ?? 60_000);
  if (!(interval > 0 && interval <= 10_000)) {
    console.log(
      `OpenTelemetry: the gauges of pool "${name}" are read only at an export, every ${
        setting ?? "60000 (the default)"
      } ms;\n  set OTEL_METRIC_EXPORT_INTERVAL=1000 to get them before the demo exits`,
    );
    return;
  }
  console.log(
    `OpenTelemetry: keeping pool "${name}" open ${interval} ms for one metrics export`,
  );
  await new Promise((resolve) => setTimeout(resolve, interval + 100));
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
    const pool = db._pool;
    if (pool === undefined) throw new Error("the demo's proxy has no pool");
    const sampler = samplePool(() => {
      const { nusing, nwaiting, waitP99 } = pool.stats();
      return { nusing, nwaiting, waitP99 };
    });
    let samples: PoolSample[] = [];
    const result = await drive(base, {
      requests,
      concurrency,
      onProgress: progress,
    }).finally(() => {
      samples = sampler.stop(); // also when the run fails
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
    console.log();
    for (const line of poolChart(samples, { maxSize: s.maxSize })) {
      console.log(line);
    }
    await awaitExport(s.name);
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
