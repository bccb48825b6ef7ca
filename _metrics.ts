// A pool's OpenTelemetry metrics, by the semantic conventions for database
// client connection pools, through `@opentelemetry/api`: whatever meter
// provider the application registered (Deno's own with `OTEL_DENO=true`, or
// an SDK) receives them; with none, the API hands out no-op instruments and
// the pool records nothing at all (`live` is false: the hot paths test one
// boolean, not even a no-op call).
//
// Gauges (connection counts, limits, pending requests) are observed at
// collection time from counts the pool keeps anyway; only the durations
// (create, wait, use) and the timeouts are recorded as they happen.
import {
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  createNoopMeter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type Observable,
} from "@opentelemetry/api";

/** The meter's name: this library. */
const SCOPE = "@ppp/proxy-pattern-pool";

/** Where every 1.x copy of `@opentelemetry/api` registers providers. */
const REGISTRY = Symbol.for("opentelemetry.js.api.1");

/**
 * The meter provider the application registered. The API's own lookup
 * hands out a no-op meter when the provider was registered by a copy of the
 * API older (in its minor version) than ours, which happens whenever the
 * application pins an older `@opentelemetry/api` than this library gets. The
 * Meter interface used here is the same in every 1.x, so the registered
 * provider is taken from the registry itself.
 */
function meterProvider(): MeterProvider {
  const registry = (globalThis as Record<symbol, unknown>)[REGISTRY] as
    | { metrics?: MeterProvider }
    | undefined;
  return registry?.metrics ?? metrics.getMeterProvider();
}

const POOL_NAME = "db.client.connection.pool.name";
const STATE = "db.client.connection.state";

// Bucket advice in seconds. A pool hands out objects in microseconds when
// one is idle and waits milliseconds to seconds when none is; connections
// take milliseconds to open and are held for milliseconds to minutes.
const WAIT_BUCKETS = [
  0.0001,
  0.0005,
  0.001,
  0.005,
  0.01,
  0.05,
  0.1,
  0.5,
  1,
  5,
  10,
  30,
];
const CREATE_BUCKETS = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];
const USE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300];

/** What the gauges read from the pool when a reader collects. */
export interface PoolGauges {
  /** Objects ready to be handed out. */
  idle: number;
  /** Objects alive and not idle: lent, or in a hook. */
  used: number;
  /** Callers waiting in the queue. */
  pending: number;
  minSize: number;
  /** `0`: no limit (the limits are then not reported). */
  maxSize: number;
}

/** The instruments of one pool. */
export class PoolMetrics {
  /** Whether a meter provider listens; if not, nothing is recorded. */
  readonly live: boolean;
  readonly #meter: Meter;
  readonly #attrs: Attributes;
  readonly #wait: Histogram;
  readonly #use: Histogram;
  readonly #create: Histogram;
  readonly #timeouts: Counter;
  readonly #observables: Observable[];
  readonly #observe: BatchObservableCallback;
  #closed = false;

  /** `read` is called at each collection while the pool is open. */
  constructor(poolName: string, read: () => PoolGauges) {
    const meter = this.#meter = meterProvider().getMeter(SCOPE);
    const attrs = this.#attrs = { [POOL_NAME]: poolName };
    this.#wait = meter.createHistogram("db.client.connection.wait_time", {
      description:
        "The time it took to obtain an open connection from the pool",
      unit: "s",
      advice: { explicitBucketBoundaries: WAIT_BUCKETS },
    });
    this.#use = meter.createHistogram("db.client.connection.use_time", {
      description:
        "The time between borrowing a connection and returning it to the pool",
      unit: "s",
      advice: { explicitBucketBoundaries: USE_BUCKETS },
    });
    this.#create = meter.createHistogram("db.client.connection.create_time", {
      description: "The time it took to create a new connection",
      unit: "s",
      advice: { explicitBucketBoundaries: CREATE_BUCKETS },
    });
    this.#timeouts = meter.createCounter("db.client.connection.timeouts", {
      description:
        "The number of connection timeouts that have occurred trying to obtain a connection from the pool",
      unit: "{timeout}",
    });
    // No `valueType`: Deno's own meter (OTEL_DENO) throws on it.
    const gauge = (name: string, description: string, unit: string) =>
      meter.createObservableUpDownCounter(name, { description, unit });
    const count = gauge(
      "db.client.connection.count",
      "The number of connections that are currently in state described by the state attribute",
      "{connection}",
    );
    const idleMax = gauge(
      "db.client.connection.idle.max",
      "The maximum number of idle open connections allowed",
      "{connection}",
    );
    const idleMin = gauge(
      "db.client.connection.idle.min",
      "The minimum number of idle open connections allowed",
      "{connection}",
    );
    const limit = gauge(
      "db.client.connection.limit",
      "The maximum number of open connections allowed",
      "{connection}",
    );
    // the name of `.limit` until 2026, kept while dashboards migrate
    const max = gauge(
      "db.client.connection.max",
      "The maximum number of open connections allowed (former name of db.client.connection.limit)",
      "{connection}",
    );
    const pending = gauge(
      "db.client.connection.pending_requests",
      "The number of current pending requests for an open connection",
      "{request}",
    );
    const idleAttrs = { ...attrs, [STATE]: "idle" };
    const usedAttrs = { ...attrs, [STATE]: "used" };
    this.#observables = [count, idleMax, idleMin, limit, max, pending];
    this.#observe = (result) => {
      const g = read();
      result.observe(count, g.idle, idleAttrs);
      result.observe(count, g.used, usedAttrs);
      result.observe(pending, g.pending, attrs);
      result.observe(idleMin, g.minSize, attrs);
      if (g.maxSize > 0) {
        result.observe(idleMax, g.maxSize, attrs);
        result.observe(limit, g.maxSize, attrs);
        result.observe(max, g.maxSize, attrs);
      }
    };
    meter.addBatchObservableCallback(this.#observe, this.#observables);
    this.live = this.#wait !== createNoopMeter().createHistogram("probe");
  }

  /** A caller obtained an object after `ms` milliseconds. */
  waited(ms: number): void {
    this.#wait.record(ms / 1000, this.#attrs);
  }

  /** An object came back after `ms` milliseconds in use. */
  used(ms: number): void {
    this.#use.record(ms / 1000, this.#attrs);
  }

  /** A creation succeeded after `ms` milliseconds. */
  created(ms: number): void {
    this.#create.record(ms / 1000, this.#attrs);
  }

  /** A caller got a `TimeoutError`. */
  timedOut(): void {
    this.#timeouts.add(1, this.#attrs);
  }

  /** Stops the gauges: a pool shut down reports nothing more. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#meter.removeBatchObservableCallback(
      this.#observe,
      this.#observables,
    );
  }
}
