/**
 * The example app over PostgreSQL under `wrk`: `examples/serve.ts` (its
 * module-level `db` Proxy on our pool of `npm:pg` clients, the recipe of
 * `postgresOptions()` in examples/db.ts, maxSize 10) against the same app
 * on `npm:pg`'s own `pg.Pool` (max 10, `bench/pg_pool_app.ts`). Both run
 * as subprocesses on fixed ports (18081: ppp, 18082: pg.Pool) on the same
 * database; for each route (GET /notes/:id, GET /notes/count) and each
 * number of wrk connections, the two alternate, the first of each pair
 * swapped from run to run, each run a warm-up then a measured
 * `wrk --latency`. Prints one line per run, then a markdown table of the
 * medians (req/s, p99) and of the ratios ppp / pg.Pool, then the checks
 * (non-2xx answers, socket errors, server connections seen during the
 * runs). Not published; not part of the library.
 *
 *   bash .ci/postgres.sh start     # prints export PPP_PG_URL=… etc.
 *   DATABASE_URL=postgres://… deno run -A bench/pg_app_compare.ts
 *   bash .ci/postgres.sh stop "$PPP_PG_DATA"
 *
 * `DATABASE_URL` falls back to `PPP_PG_URL`. The table `ppp_demo_notes` is
 * created if missing and topped up to 1000 rows (never emptied); the read
 * route reads its lowest id. Options: `--runs=3` (per variant and cell),
 * `--duration=10` and `--warmup=2` (seconds), `--connections=50,200`,
 * `--routes=read,count`, `--threads=1` (of wrk). With the defaults it
 * takes about 5 minutes: 2 routes × 2 connection counts × 3 runs × 2
 * variants × 12 s.
 *
 * @module
 */
// @ts-types="npm:@types/pg@^8"
import pg from "pg";

const VARIANTS = [
  { name: "ppp", script: "../examples/serve.ts", port: 18081 },
  { name: "pg.Pool", script: "./pg_pool_app.ts", port: 18082 },
] as const;
type Variant = (typeof VARIANTS)[number];
type VariantName = Variant["name"];

const SEED_ROWS = 1000;

// ---------------------------------------------------------------------------
// Options

interface Options {
  runs: number;
  duration: number;
  warmup: number;
  connections: number[];
  routes: ("read" | "count")[];
  threads: number;
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    runs: 3,
    duration: 10,
    warmup: 2,
    connections: [50, 200],
    routes: ["read", "count"],
    threads: 1,
  };
  const int = (key: string, value: string, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`--${key} wants an integer >= ${min}, got ${value}`);
    }
    return n;
  };
  for (const arg of args) {
    const match = /^--(\w+)=(.*)$/.exec(arg);
    if (match === null) throw new Error(`unknown argument ${arg}`);
    const [, key, value] = match;
    switch (key) {
      case "runs":
        options.runs = int(key, value, 1);
        break;
      case "duration":
        options.duration = int(key, value, 1);
        break;
      case "warmup":
        options.warmup = int(key, value, 0);
        break;
      case "threads":
        options.threads = int(key, value, 1);
        break;
      case "connections":
        options.connections = value.split(",").map((v) => int(key, v, 1));
        break;
      case "routes":
        options.routes = value.split(",").map((v) => {
          if (v !== "read" && v !== "count") {
            throw new Error(`--routes wants read and/or count, got ${v}`);
          }
          return v;
        });
        break;
      default:
        throw new Error(`unknown option --${key}`);
    }
  }
  for (const c of options.connections) {
    if (c < options.threads) {
      throw new Error(`wrk needs connections >= threads (${c})`);
    }
  }
  return options;
}

// ---------------------------------------------------------------------------
// wrk

/** What we read from one `wrk --latency` run. */
interface WrkResult {
  rps: number;
  /** Latency percentiles, ms. */
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  /** connect + read + write + timeout socket errors. */
  socketErrors: number;
}

const UNIT_MS: Record<string, number> = {
  us: 1e-3,
  ms: 1,
  s: 1e3,
  m: 60e3,
  h: 3600e3,
};

function parseLatency(text: string, pct: string): number {
  const match = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m")
    .exec(text);
  if (match === null) throw new Error(`no ${pct}% line in wrk output`);
  return Number(match[1]) * UNIT_MS[match[2]];
}

/** Parses the output of `wrk --latency`; throws if a line is missing. */
export function parseWrk(text: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const requests = /^\s*(\d+) requests in /m.exec(text);
  if (rps === null || requests === null) {
    throw new Error(`cannot parse wrk output:\n${text}`);
  }
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const socket =
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
      .exec(text);
  return {
    rps: Number(rps[1]),
    p50: parseLatency(text, "50"),
    p99: parseLatency(text, "99"),
    requests: Number(requests[1]),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
    socketErrors: socket === null
      ? 0
      : socket.slice(1).reduce((sum, n) => sum + Number(n), 0),
  };
}

async function wrk(
  url: string,
  connections: number,
  seconds: number,
  threads: number,
): Promise<WrkResult> {
  const output = await new Deno.Command("wrk", {
    args: [
      `-t${threads}`,
      `-c${connections}`,
      `-d${seconds}s`,
      "--timeout",
      "10s",
      "--latency",
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    const err = new TextDecoder().decode(output.stderr);
    throw new Error(`wrk failed (${output.code}):\n${text}${err}`);
  }
  return parseWrk(text);
}

// ---------------------------------------------------------------------------
// The apps

/** `url` with `application_name` set, to tell the apps' connections apart. */
function withAppName(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set("application_name", name);
  return u.href;
}

const appName = (v: Variant) => `bench-${v.name}`;

function assertPortFree(port: number): void {
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    listener.close();
  } catch {
    throw new Error(`port ${port} is taken: stop what listens there`);
  }
}

async function waitHealthy(
  base: string,
  child: Deno.ChildProcess,
  name: string,
): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} app exited before listening`);
    try {
      const res = await fetch(`${base}/health`);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} app not healthy after 60 s`);
}

async function startApp(v: Variant, url: string): Promise<Deno.ChildProcess> {
  assertPortFree(v.port);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(v.script, import.meta.url).pathname],
    env: {
      DATABASE_URL: withAppName(url, appName(v)),
      PORT: String(v.port),
    },
    stdin: "null",
    stdout: "null", // one "Serving on …" line
    stderr: "inherit", // errors show
  }).spawn();
  await waitHealthy(`http://127.0.0.1:${v.port}`, child, v.name);
  return child;
}

/** SIGINT (both apps shut down on it), SIGKILL after 10 s. */
async function stopApp(child: Deno.ChildProcess, name: string): Promise<void> {
  try {
    child.kill("SIGINT");
  } catch {
    return; // already gone
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), 10_000);
  });
  const result = await Promise.race([child.status, killed]);
  clearTimeout(timer);
  if (result === "timeout") {
    console.error(`${name} app ignored SIGINT for 10 s: SIGKILL`);
    child.kill("SIGKILL");
    await child.status;
  } else if (!result.success) {
    console.error(`${name} app exited with ${result.code}`);
  }
}

// ---------------------------------------------------------------------------
// Measurement

/** Backends by application_name: [all, active]. */
async function connectionsByApp(
  client: pg.Client,
): Promise<Map<string, [number, number]>> {
  const { rows } = await client.query<
    { app: string; n: string; active: string }
  >(
    `SELECT application_name AS app, count(*) AS n,
       count(*) FILTER (WHERE state = 'active') AS active
     FROM pg_stat_activity
     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
     GROUP BY application_name`,
  );
  return new Map(rows.map((r) => [r.app, [Number(r.n), Number(r.active)]]));
}

interface Run extends WrkResult {
  /** Server connections of this variant, sampled mid-run: [all, active]. */
  conns: [number, number];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const fmtRps = (x: number) => x.toFixed(0);
const fmtMs = (x: number) => `${x.toFixed(2)} ms`;
const fmtRatio = (x: number) => `${x.toFixed(2)}×`;

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const url = Deno.env.get("DATABASE_URL") ?? Deno.env.get("PPP_PG_URL");
  if (url === undefined) {
    throw new Error("set DATABASE_URL (or PPP_PG_URL from .ci/postgres.sh)");
  }

  const cells = options.routes.length * options.connections.length;
  const estimate = cells * options.runs * VARIANTS.length *
    (options.warmup + options.duration);
  console.log(
    `# pg app compare: ${cells} cells × ${options.runs} runs × ${VARIANTS.length} variants, ` +
      `${options.warmup} s warm-up + ${options.duration} s each: ~${
        Math.ceil(estimate / 60)
      } min`,
  );

  // The table, topped up to SEED_ROWS rows; the read route's id.
  const admin = new pg.Client({
    connectionString: withAppName(url, "bench-harness"),
  });
  await admin.connect();
  const children = new Map<VariantName, Deno.ChildProcess>();
  try {
    await admin.query(`CREATE TABLE IF NOT EXISTS ppp_demo_notes (
      id SERIAL PRIMARY KEY,
      body TEXT NOT NULL
    )`);
    const { rows: [{ n }] } = await admin.query<{ n: string }>(
      "SELECT count(*) AS n FROM ppp_demo_notes",
    );
    if (Number(n) < SEED_ROWS) {
      await admin.query(
        `INSERT INTO ppp_demo_notes (body)
         SELECT 'note ' || i FROM generate_series(1, $1::int) AS i`,
        [SEED_ROWS - Number(n)],
      );
    }
    const { rows: [{ id }] } = await admin.query<{ id: number }>(
      "SELECT min(id) AS id FROM ppp_demo_notes",
    );
    const { rows: [{ version }] } = await admin.query<{ version: string }>(
      "SELECT version()",
    );
    console.log(
      `# ${version.split(",")[0]}; Deno ${Deno.version.deno}; ` +
        `${navigator.hardwareConcurrency} CPUs`,
    );

    const paths = { read: `/notes/${id}`, count: "/notes/count" };

    for (const v of VARIANTS) children.set(v.name, await startApp(v, url));

    // Both apps answer the same on the routes we measure.
    for (const route of options.routes) {
      const bodies: string[] = [];
      for (const v of VARIANTS) {
        const res = await fetch(`http://127.0.0.1:${v.port}${paths[route]}`);
        const body = await res.text();
        if (res.status !== 200) {
          throw new Error(`${v.name} ${paths[route]}: ${res.status} ${body}`);
        }
        bodies.push(body);
      }
      if (new Set(bodies).size !== 1) {
        throw new Error(`the apps differ on ${paths[route]}: ${bodies}`);
      }
      console.log(`# GET ${paths[route]} -> 200 ${bodies[0]} (both)`);
    }

    const results = new Map<string, Run[]>(); // `${route} ${c} ${variant}`
    const t0 = performance.now();
    console.log("");
    for (const c of options.connections) {
      for (const route of options.routes) {
        for (let run = 0; run < options.runs; run++) {
          // alternate, the first of each pair swapped from run to run
          const order = run % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
          for (const v of order) {
            const target = `http://127.0.0.1:${v.port}${paths[route]}`;
            if (options.warmup > 0) {
              await wrk(target, c, options.warmup, options.threads);
            }
            // sample the server's connections mid-run
            let conns: [number, number] = [0, 0];
            const sample = new Promise<void>((resolve) => {
              setTimeout(async () => {
                try {
                  conns = (await connectionsByApp(admin)).get(appName(v)) ??
                    [0, 0];
                } catch (error) {
                  console.error(`connection sample failed: ${error}`);
                }
                resolve();
              }, options.duration * 500);
            });
            const result = await wrk(
              target,
              c,
              options.duration,
              options.threads,
            );
            await sample;
            const key = `${route} ${c} ${v.name}`;
            const list = results.get(key) ?? [];
            list.push({ ...result, conns });
            results.set(key, list);
            console.log(
              `${route.padEnd(5)} c=${String(c).padEnd(3)} run ${run + 1} ` +
                `${v.name.padEnd(7)} ${
                  fmtRps(result.rps).padStart(6)
                } req/s  ` +
                `p50 ${fmtMs(result.p50)}  p99 ${fmtMs(result.p99)}  ` +
                `non-2xx ${result.non2xx}  socket errors ${result.socketErrors}  ` +
                `pg conns ${conns[0]} (${conns[1]} active)`,
            );
          }
        }
      }
    }
    const elapsed = (performance.now() - t0) / 1000;

    // The tables
    const [ppp, pgPool] = VARIANTS.map((v) => v.name);
    console.log(
      `\n| route | wrk conns | ${ppp} req/s | ${pgPool} req/s | req/s ${ppp}/${pgPool} | ` +
        `${ppp} p99 | ${pgPool} p99 | p99 ${ppp}/${pgPool} |`,
    );
    console.log("|---|--:|--:|--:|--:|--:|--:|--:|");
    for (const c of options.connections) {
      for (const route of options.routes) {
        const [a, b] = [ppp, pgPool].map((name) =>
          results.get(`${route} ${c} ${name}`) ?? []
        );
        const rps = [a, b].map((runs) => median(runs.map((r) => r.rps)));
        const p99 = [a, b].map((runs) => median(runs.map((r) => r.p99)));
        console.log(
          `| GET ${paths[route]} | ${c} | ${fmtRps(rps[0])} | ${
            fmtRps(rps[1])
          } | ${fmtRatio(rps[0] / rps[1])} | ${fmtMs(p99[0])} | ${
            fmtMs(p99[1])
          } | ${fmtRatio(p99[0] / p99[1])} |`,
        );
      }
    }
    console.log(
      `\nMedians of ${options.runs} runs of ${options.duration} s ` +
        `(after ${options.warmup} s warm-up each), wrk -t${options.threads}; ` +
        `req/s ratio > 1 and p99 ratio < 1 favour ${ppp}.`,
    );

    console.log(
      `\n| variant | requests | non-2xx | socket errors | pg conns mid-run (max) |`,
    );
    console.log("|---|--:|--:|--:|--:|");
    for (const name of [ppp, pgPool]) {
      const runs = [...results.entries()]
        .filter(([key]) => key.endsWith(` ${name}`))
        .flatMap(([, list]) => list);
      const sum = (f: (r: Run) => number) => runs.reduce((s, r) => s + f(r), 0);
      console.log(
        `| ${name} | ${sum((r) => r.requests)} | ${sum((r) => r.non2xx)} | ${
          sum((r) => r.socketErrors)
        } | ${Math.max(...runs.map((r) => r.conns[0]))} |`,
      );
    }
    console.log(`\n# measured in ${elapsed.toFixed(0)} s`);
  } finally {
    for (const [name, child] of children) await stopApp(child, name);
    await admin.end();
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.stack : error);
    Deno.exit(1);
  }
}
