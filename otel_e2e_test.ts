// The pool's metrics end to end, as an application gets them: a child Deno
// runs a named pool under OTEL_DENO=true with no telemetry code of its own,
// and Deno's exporter posts OTLP/HTTP JSON to a receiver this test serves.
// What arrives must carry every semantic-convention metric of a connection
// pool, named after the pool, with values that match what the child did.
import { assert, assertEquals } from "@std/assert";

const MOD = new URL("./mod.ts", import.meta.url).href;
const CONFIG = new URL("./deno.json", import.meta.url).pathname;
const POOL = "e2e-pool";
const SERVICE = "ppp-otel-e2e";
/** The exporter's period in the child, in milliseconds. */
const INTERVAL = 200;

const NAMES = [
  "db.client.connection.count",
  "db.client.connection.idle.max",
  "db.client.connection.idle.min",
  "db.client.connection.limit",
  "db.client.connection.max",
  "db.client.connection.pending_requests",
  "db.client.connection.timeouts",
  "db.client.connection.create_time",
  "db.client.connection.wait_time",
  "db.client.connection.use_time",
];

// Two lent, one timed out, one queued, held over a few exports; then
// everything back, held over a few more (the gauges are observed only at
// an export, and none is exported at exit); then shut down.
const SCRIPT = `
import { Pool, TimeoutError } from ${JSON.stringify(MOD)};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pool = new Pool({
  fun: (n) => ({ n }),
  name: ${JSON.stringify(POOL)},
  maxSize: 2,
  minSize: 1,
});
const a = await pool.get();
const b = await pool.get();
await pool.get({ timeout: 20 }).then(
  () => { throw new Error("a third get with maxSize 2 did not time out"); },
  (e) => { if (!(e instanceof TimeoutError)) throw e; },
);
const queued = pool.get({ timeout: 5_000 });
await sleep(${3 * INTERVAL});
await pool.ret(a); // to the queued caller
await pool.ret(await queued);
await pool.ret(b);
await sleep(${3 * INTERVAL});
const { nuses, ncreated, ntimeouts, nusing, navail } = pool.stats();
await pool.shutdown();
console.log(JSON.stringify({ nuses, ncreated, ntimeouts, nusing, navail }));
`;

// The bits of OTLP/JSON (ExportMetricsServiceRequest) read here.
interface KeyValue {
  key: string;
  value: { stringValue?: string };
}
interface NumberPoint {
  attributes?: KeyValue[];
  asDouble?: number;
  asInt?: number | string;
}
interface HistogramPoint {
  attributes?: KeyValue[];
  count: number | string;
  sum?: number;
}
interface Metric {
  name: string;
  unit?: string;
  sum?: { dataPoints: NumberPoint[] };
  gauge?: { dataPoints: NumberPoint[] };
  histogram?: { dataPoints: HistogramPoint[] };
}
interface MetricsRequest {
  resourceMetrics?: {
    resource?: { attributes?: KeyValue[] };
    scopeMetrics?: { scope?: { name?: string }; metrics?: Metric[] }[];
  }[];
}

/** One data point of one export, flattened. */
interface Point {
  name: string;
  unit: string | undefined;
  scope: string | undefined;
  service: string | undefined;
  attributes: Record<string, string | undefined>;
  /** A sum or gauge's value, or a histogram's count. */
  value: number;
}

function attrs(
  list: KeyValue[] | undefined,
): Record<string, string | undefined> {
  return Object.fromEntries(
    (list ?? []).map(({ key, value }) => [key, value.stringValue]),
  );
}

function flatten(body: MetricsRequest): Point[] {
  const out: Point[] = [];
  for (const rm of body.resourceMetrics ?? []) {
    const service = attrs(rm.resource?.attributes)["service.name"];
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const common = {
          name: m.name,
          unit: m.unit,
          scope: sm.scope?.name,
          service,
        };
        for (
          const p of [...m.sum?.dataPoints ?? [], ...m.gauge?.dataPoints ?? []]
        ) {
          out.push({
            ...common,
            attributes: attrs(p.attributes),
            value: Number(p.asDouble ?? p.asInt),
          });
        }
        for (const p of m.histogram?.dataPoints ?? []) {
          out.push({
            ...common,
            attributes: attrs(p.attributes),
            value: Number(p.count),
          });
        }
      }
    }
  }
  return out;
}

/** Serves OTLP/HTTP on 127.0.0.1, port 0; keeps what /v1/metrics gets. */
function receiver(): {
  server: Deno.HttpServer<Deno.NetAddr>;
  bodies: MetricsRequest[];
  paths: string[];
} {
  const bodies: MetricsRequest[] = [];
  const paths: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const { pathname } = new URL(req.url);
      const text = await req.text();
      paths.push(`${req.method} ${pathname}`);
      if (req.method !== "POST") return new Response(null, { status: 405 });
      if (pathname === "/v1/metrics") {
        bodies.push(JSON.parse(text));
      } else if (pathname !== "/v1/traces" && pathname !== "/v1/logs") {
        return new Response(null, { status: 404 });
      }
      // an empty ExportServiceResponse: everything accepted
      return Response.json({});
    },
  );
  return { server, bodies, paths };
}

Deno.test("OTEL_DENO=true exports every connection-pool metric over OTLP/HTTP JSON, named after the pool", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ppp-otel-e2e-" });
  const { server, bodies, paths } = receiver();
  const abort = new AbortController();
  const killer = setTimeout(() => abort.abort(), 12_000);
  try {
    const file = `${dir}/named_pool.ts`;
    await Deno.writeTextFile(file, SCRIPT);
    // The parent's own OTEL_* settings must not redirect the child.
    const env = Object.fromEntries(
      Object.entries(Deno.env.toObject()).filter(([k]) =>
        !k.startsWith("OTEL_")
      ),
    );
    const endpoint = `http://127.0.0.1:${server.addr.port}`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", CONFIG, file],
      clearEnv: true,
      env: {
        ...env,
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL),
        OTEL_SERVICE_NAME: SERVICE,
        NO_COLOR: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `child failed:\n${stderr}`);
    assert(!stderr.includes("Uncaught"), stderr);
    assertEquals(JSON.parse(stdout.trim().split("\n").at(-1)!), {
      nuses: 3,
      ncreated: 2,
      ntimeouts: 1,
      nusing: 0,
      navail: 2,
    });

    // The child has exited: every export it made was answered.
    const points = bodies.flatMap(flatten);
    const received = [...new Set(points.map((p) => p.name))].sort();
    console.log(
      `  ${bodies.length} exports (${
        [...new Set(paths)].join(", ")
      }); metrics received:\n    ${received.join("\n    ")}`,
    );
    const ours = points.filter((p) =>
      p.attributes["db.client.connection.pool.name"] === POOL
    );
    const ourNames = new Set(ours.map((p) => p.name));
    for (const name of NAMES) {
      assert(ourNames.has(name), `${name} not received for pool ${POOL}`);
    }
    for (const p of ours) {
      assertEquals(p.scope, "@ppp/proxy-pattern-pool", p.name);
      assertEquals(p.service, SERVICE, p.name);
    }
    const of = (name: string, state?: string) =>
      ours.filter((p) =>
        p.name === name &&
        (state === undefined ||
          p.attributes["db.client.connection.state"] === state)
      );
    const valuesOf = (name: string, state?: string) =>
      of(name, state).map((p) => p.value);
    const last = (name: string) => valuesOf(name).at(-1);

    // units as the semantic conventions give them
    assertEquals(of("db.client.connection.count")[0].unit, "{connection}");
    assertEquals(
      of("db.client.connection.pending_requests")[0].unit,
      "{request}",
    );
    assertEquals(of("db.client.connection.timeouts")[0].unit, "{timeout}");
    for (const name of NAMES.filter((n) => n.endsWith("_time"))) {
      assertEquals(of(name)[0].unit, "s", name);
    }

    // while both objects were lent and a caller queued…
    const used = valuesOf("db.client.connection.count", "used");
    const idle = valuesOf("db.client.connection.count", "idle");
    assert(used.includes(2), `used: ${used}`);
    assert(valuesOf("db.client.connection.pending_requests").includes(1));
    // …and once both came back
    assert(used.includes(0), `used: ${used}`);
    assert(idle.includes(2), `idle: ${idle}`);
    for (const v of [...used, ...idle]) assert(v >= 0 && v <= 2, `${v}`);
    for (const v of valuesOf("db.client.connection.pending_requests")) {
      assert(v === 0 || v === 1, `pending ${v}`);
    }
    for (const name of ["limit", "max", "idle.max"]) {
      const values = valuesOf(`db.client.connection.${name}`);
      assert(values.every((v) => v === 2), `${name}: ${values}`);
    }
    assert(valuesOf("db.client.connection.idle.min").every((v) => v === 1));
    // cumulative: the last export holds the whole run
    assertEquals(last("db.client.connection.timeouts"), 1);
    assertEquals(last("db.client.connection.create_time"), 2);
    assertEquals(last("db.client.connection.wait_time"), 3);
    assertEquals(last("db.client.connection.use_time"), 3);
  } finally {
    clearTimeout(killer);
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
