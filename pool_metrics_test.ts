// The pool's OpenTelemetry metrics, read through the SDK's own reader: an
// application registers a MeterProvider (here with a reader the test
// collects from at will) before it creates its pools, as `OTEL_DENO=true`
// does before any code runs.
import { assert, assertEquals } from "@std/assert";
import { metrics } from "@opentelemetry/api";
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from "@opentelemetry/sdk-metrics";
import { Pool } from "./pool.ts";
import { TimeoutError } from "./errors.ts";

/** A reader the test collects from; delta: each collection is news. */
class TestReader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

interface Point {
  unit: string;
  attributes: Record<string, unknown>;
  value: number | Histogram;
}

/** Every data point collected, by metric name. */
async function collect(reader: MetricReader): Promise<Map<string, Point[]>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, Point[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const m of scope.metrics) {
      const points = (m.dataPoints as DataPoint<number | Histogram>[]).map(
        (p) => ({
          unit: m.descriptor.unit,
          attributes: p.attributes,
          value: p.value,
        }),
      );
      out.set(m.descriptor.name, [
        ...out.get(m.descriptor.name) ?? [],
        ...points,
      ]);
    }
  }
  return out;
}

/** The values of `name` for pool `pool` (and `state`, if given). */
function values(
  got: Map<string, Point[]>,
  name: string,
  pool: string,
  state?: string,
): (number | Histogram)[] {
  return (got.get(name) ?? [])
    .filter((p) =>
      p.attributes["db.client.connection.pool.name"] === pool &&
      (state === undefined ||
        p.attributes["db.client.connection.state"] === state)
    )
    .map((p) => p.value);
}

async function withMeter(
  temporality: AggregationTemporality,
  fn: (reader: MetricReader) => Promise<void>,
): Promise<void> {
  const reader = new TestReader(temporality);
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  try {
    await fn(reader);
  } finally {
    metrics.disable();
    await provider.shutdown();
  }
}

Deno.test("Pool reports the connection-pool metrics of the semantic conventions, with their units and its name", async () => {
  await withMeter(AggregationTemporality.CUMULATIVE, async (reader) => {
    await using pool = new Pool({
      fun: (n) => ({ n }),
      name: "db",
      maxSize: 2,
      minSize: 0,
    });
    const a = await pool.get(); // created: one create_time, one wait
    const b = await pool.get();
    await pool.get({ timeout: 5 }).catch((e) =>
      assert(e instanceof TimeoutError)
    );
    const waiting = pool.get(); // pending until a comes back
    let got = await collect(reader);
    assertEquals(values(got, "db.client.connection.count", "db", "used"), [2]);
    assertEquals(values(got, "db.client.connection.count", "db", "idle"), [0]);
    assertEquals(values(got, "db.client.connection.pending_requests", "db"), [
      1,
    ]);
    assertEquals(values(got, "db.client.connection.limit", "db"), [2]);
    assertEquals(values(got, "db.client.connection.max", "db"), [2]);
    assertEquals(values(got, "db.client.connection.idle.max", "db"), [2]);
    assertEquals(values(got, "db.client.connection.idle.min", "db"), [0]);
    assertEquals(values(got, "db.client.connection.timeouts", "db"), [1]);
    await pool.ret(a); // straight to the waiter: a wait of some ms
    const d = await waiting;
    await pool.ret(b, { discard: true }); // a use, then closed
    await pool.ret(d);
    got = await collect(reader);
    assertEquals(values(got, "db.client.connection.count", "db", "used"), [0]);
    assertEquals(values(got, "db.client.connection.count", "db", "idle"), [1]);
    assertEquals(values(got, "db.client.connection.pending_requests", "db"), [
      0,
    ]);
    const [create] = values(got, "db.client.connection.create_time", "db");
    const [wait] = values(got, "db.client.connection.wait_time", "db");
    const [use] = values(got, "db.client.connection.use_time", "db");
    assertEquals((create as Histogram).count, 2);
    assertEquals((wait as Histogram).count, 3); // a, b, then a again
    assertEquals((use as Histogram).count, 3); // a, b, d
    const units = Object.fromEntries(
      [...got].map(([name, points]) => [name, points[0].unit]),
    );
    assertEquals(units, {
      "db.client.connection.count": "{connection}",
      "db.client.connection.pending_requests": "{request}",
      "db.client.connection.idle.max": "{connection}",
      "db.client.connection.idle.min": "{connection}",
      "db.client.connection.limit": "{connection}",
      "db.client.connection.max": "{connection}",
      "db.client.connection.timeouts": "{timeout}",
      "db.client.connection.create_time": "s",
      "db.client.connection.wait_time": "s",
      "db.client.connection.use_time": "s",
    });
  });
});

Deno.test("Pool metrics keep two named pools apart, and a pool without a limit reports none", async () => {
  await withMeter(AggregationTemporality.CUMULATIVE, async (reader) => {
    await using small = new Pool({
      fun: () => ({}),
      name: "small",
      maxSize: 1,
      minSize: 1,
    });
    await using open = new Pool({
      fun: () => ({}),
      name: "open",
      maxSize: 0,
      minSize: 0,
    });
    await small.fill();
    const x = await open.get();
    const got = await collect(reader);
    assertEquals(values(got, "db.client.connection.count", "small", "idle"), [
      1,
    ]);
    assertEquals(values(got, "db.client.connection.count", "open", "used"), [
      1,
    ]);
    assertEquals(values(got, "db.client.connection.limit", "small"), [1]);
    assertEquals(values(got, "db.client.connection.limit", "open"), []);
    await open.ret(x);
  });
});

Deno.test("Pool reports nothing once shut down", async () => {
  await withMeter(AggregationTemporality.DELTA, async (reader) => {
    const pool = new Pool({ fun: () => ({}), name: "gone", minSize: 1 });
    await pool.fill();
    await pool.use(() => {});
    let got = await collect(reader);
    assertEquals(values(got, "db.client.connection.count", "gone", "idle"), [
      1,
    ]);
    await pool.shutdown();
    got = await collect(reader);
    for (const [name, points] of got) {
      const mine = points.filter((p) =>
        p.attributes["db.client.connection.pool.name"] === "gone"
      );
      assertEquals(mine, [], `${name} after shutdown`);
    }
  });
});

Deno.test("Pool records nothing when no meter provider listens", async () => {
  // The API's no-op meter: the pool notices and skips even the calls.
  await using pool = new Pool({ fun: () => ({}), minSize: 0 });
  await pool.use(() => {});
  assertEquals(pool.stats().nuses, 1);
});

Deno.test("Pool reports to a provider that an older copy of @opentelemetry/api registered", async () => {
  // An application pinned to an older 1.x API registers its provider in the
  // shared registry under its own version; the API copy this library gets
  // would refuse it (a newer minor) and hand out a no-op meter.
  const reader = new TestReader(AggregationTemporality.CUMULATIVE);
  const provider = new MeterProvider({ readers: [reader] });
  const key = Symbol.for("opentelemetry.js.api.1");
  const registry = globalThis as unknown as Record<symbol, unknown>;
  const saved = registry[key];
  registry[key] = { version: "1.3.0", metrics: provider };
  try {
    assertEquals(metrics.getMeterProvider() === provider, false); // refused
    await using pool = new Pool({
      fun: () => ({}),
      name: "old-api",
      minSize: 1,
    });
    await pool.fill();
    const got = await collect(reader);
    assertEquals(values(got, "db.client.connection.count", "old-api", "idle"), [
      1,
    ]);
  } finally {
    registry[key] = saved;
    await provider.shutdown();
  }
});
