// Helpers shared by the test files; not part of the published module.
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { delay } from "@std/async/delay";

/** A small seeded PRNG (mulberry32), so a failing random test replays. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Waits until `cond()` holds, checking every few milliseconds; fails after
 * `limit` ms. For effects of timers (housekeeping, back-off) whose exact
 * moment is not ours to know: it waits on the condition, not on a guess.
 */
export async function waitFor(
  cond: () => boolean,
  what: string,
  limit = 5_000,
): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > limit) {
      throw new Error(`Timed out after ${limit} ms waiting for ${what}`);
    }
    await delay(2);
  }
}

/** Lets every pending microtask and zero-delay callback run. */
export function settle(): Promise<void> {
  return delay(0);
}

/**
 * A resource whose life the tests can audit: how many exist, the most that
 * ever existed at once, and how many times each was closed.
 */
export class Ledger {
  alive = 0;
  maxAlive = 0;
  created: Res[] = [];
  closes = new Map<Res, number>();

  /** Counts a creation attempt as existing from its start (maxSize counts it). */
  begin(): void {
    this.alive++;
    this.maxAlive = Math.max(this.maxAlive, this.alive);
  }

  /** A creation attempt that produced nothing. */
  abort(): void {
    this.alive--;
  }

  make(n: number): Res {
    const res = new Res(n);
    this.created.push(res);
    return res;
  }

  close(res: Res): void {
    this.closes.set(res, (this.closes.get(res) ?? 0) + 1);
    res.open = false;
    this.alive--;
  }

  /** Objects closed more than once. */
  doubleCloses(): Res[] {
    return [...this.closes].filter(([, n]) => n > 1).map(([r]) => r);
  }
}

/** A pooled thing with an identity and an open flag. */
export class Res {
  open = true;
  constructor(readonly n: number) {}
}

/** Captures LogTape records of the `ppp` category while `fn` runs. */
export async function withLogs(
  fn: (records: LogRecord[]) => Promise<void>,
): Promise<void> {
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["ppp"], lowestLevel: "trace", sinks: ["mem"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    await fn(records);
  } finally {
    await reset();
  }
}

/** The rendered message of a LogTape record. */
export function text(record: LogRecord): string {
  return record.message.map((part) =>
    typeof part === "string"
      ? part
      : part instanceof Error
      ? part.message
      : JSON.stringify(part)
  ).join("");
}
