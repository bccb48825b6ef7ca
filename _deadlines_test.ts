import { assertEquals } from "@std/assert";
import { type Deadline, Deadlines } from "./_deadlines.ts";
import fc from "fast-check";
import { FakeClock } from "./_testing.ts";

/** Runs `fn` on fake time with a Deadlines that records what expires when. */
async function withDeadlines(
  fn: (
    d: Deadlines<string>,
    clock: FakeClock,
    expired: string[],
  ) => Promise<void>,
): Promise<void> {
  const clock = new FakeClock();
  clock.now = 0;
  const restore = clock.install();
  try {
    const expired: string[] = [];
    const d = new Deadlines<string>((name) =>
      expired.push(`${name}@${clock.now}`)
    );
    await fn(d, clock, expired);
  } finally {
    restore();
  }
}

Deno.test("Deadlines expires each waiter at its deadline, earliest first, ties in arrival order", async () => {
  await withDeadlines(async (d, clock, expired) => {
    d.add("c30", 30);
    d.add("a10", 10);
    d.add("b20", 20);
    d.add("a10bis", 10);
    d.add("c30bis", 30);
    assertEquals(clock.poolTimers(), 1);
    await clock.advance(9);
    assertEquals(expired, []);
    await clock.advance(100);
    assertEquals(expired, [
      "a10@10",
      "a10bis@10",
      "b20@20",
      "c30@30",
      "c30bis@30",
    ]);
    assertEquals(d.size, 0);
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Deadlines keeps arrival order among many equal deadlines", async () => {
  await withDeadlines(async (d, clock, expired) => {
    const names = Array.from({ length: 50 }, (_, i) => `w${i}`);
    for (const name of names) d.add(name, 5);
    await clock.advance(5);
    assertEquals(expired, names.map((name) => `${name}@5`));
  });
});

Deno.test("Deadlines never expires a removed waiter; the next one still expires on time", async () => {
  await withDeadlines(async (d, clock, expired) => {
    const first = d.add("first", 10);
    clock.now = 4;
    d.add("second", 10); // due at 14
    d.remove(first); // the timer stays armed for 10
    assertEquals(first.heapIndex, -1);
    d.remove(first); // a second removal does nothing
    await clock.advance(9); // t=13: the timer fired for nothing at 10
    assertEquals(expired, []);
    assertEquals(clock.poolTimers(), 1); // re-armed for 14
    await clock.advance(1);
    assertEquals(expired, ["second@14"]);
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Deadlines clears its timer when the last waiter leaves", async () => {
  await withDeadlines((d, clock) => {
    const a = d.add("a", 10);
    const b = d.add("b", 20);
    d.remove(a);
    assertEquals(clock.poolTimers(), 1);
    d.remove(b);
    assertEquals(d.size, 0);
    assertEquals(clock.poolTimers(), 0);
    return Promise.resolve();
  });
});

Deno.test("Deadlines moves its timer earlier for an earlier deadline, never later", async () => {
  await withDeadlines(async (d, clock, expired) => {
    d.add("late", 100);
    d.add("early", 5);
    assertEquals(clock.poolTimers(), 1);
    await clock.advance(5);
    assertEquals(expired, ["early@5"]);
    await clock.advance(95);
    assertEquals(expired, ["early@5", "late@100"]);
  });
});

Deno.test("Deadlines trusts its timer when the clock lags behind it", async () => {
  await withDeadlines(async (d, clock, expired) => {
    clock.skew = 0.25; // the timer fires at 10, the clock reads 9.75
    d.add("w", 10);
    await clock.advance(10);
    assertEquals(expired, ["w@9.75"]); // not re-armed for 1 ms more
    assertEquals(clock.poolTimers(), 0);
  });
});

Deno.test("Deadlines arms for a fractional timeout without firing early", async () => {
  await withDeadlines(async (d, clock, expired) => {
    clock.now = 0.5;
    d.add("w", 2.2); // due at 2.7: the timer is set for 3 ms
    await clock.advance(2.1);
    assertEquals(expired, []);
    await clock.advance(1);
    assertEquals(expired, ["w@3.5"]);
  });
});

Deno.test("Deadlines re-arms for the rest when an expiry adds a new waiter", async () => {
  await withDeadlines(async (d, clock, expired) => {
    const onExpire = (name: string) => {
      expired.push(`${name}@${clock.now}`);
      if (name === "a") inner.add("added", 10);
    };
    const inner = new Deadlines<string>(onExpire);
    inner.add("a", 5);
    inner.add("b", 30);
    await clock.advance(100);
    assertEquals(expired, ["a@5", "added@15", "b@30"]);
    assertEquals(clock.poolTimers(), 0);
    assertEquals(d.size, 0);
  });
});

Deno.test("Deadlines waits out a deadline beyond the longest timer delay (2^31 − 1 ms) in several timers", async () => {
  await withDeadlines(async (d, clock, expired) => {
    d.add("month", 30 * 86_400_000); // 2 592 000 000 ms
    await clock.advance(2 ** 31 - 1);
    assertEquals(expired, []);
    assertEquals(clock.poolTimers(), 1); // re-armed for the rest
    await clock.advance(2_592_000_000 - (2 ** 31 - 1));
    assertEquals(expired, ["month@2592000000"]);
  });
});

Deno.test("Deadlines expires on time and in (deadline, arrival) order whatever the mix of timeouts and removals", async () => {
  // Random programs of add (timeouts mostly equal, as a pool's callers'
  // are, some shorter or longer), remove and advance; each expiry must
  // happen exactly at its deadline (whole ms here), never for a removed
  // item, and the timer must be gone once nothing is kept.
  const step = fc.oneof(
    fc.record({
      op: fc.constant("add" as const),
      timeout: fc.oneof(fc.constant(50), fc.integer({ min: 1, max: 120 })),
    }),
    fc.record({ op: fc.constant("remove" as const), pick: fc.nat() }),
    fc.record({
      op: fc.constant("advance" as const),
      ms: fc.integer({ min: 0, max: 40 }),
    }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
      await withDeadlines(async (d, clock, expired) => {
        const kept = new Map<
          string,
          { at: number; deadline: Deadline<string> }
        >();
        const expected: string[] = [];
        let n = 0;
        const expectUntil = (t: number) => {
          const due = [...kept].filter(([, k]) => k.at <= t)
            .sort(([a, x], [b, y]) => x.at - y.at || order(a) - order(b));
          for (const [name, k] of due) {
            expected.push(`${name}@${k.at}`);
            kept.delete(name);
          }
        };
        const order = (name: string) => Number(name.slice(1));
        for (const s of steps) {
          if (s.op === "add") {
            const name = `w${n++}`;
            kept.set(name, {
              at: clock.now + s.timeout,
              deadline: d.add(name, s.timeout),
            });
          } else if (s.op === "remove" && kept.size > 0) {
            const [name, k] = [...kept][s.pick % kept.size];
            d.remove(k.deadline);
            kept.delete(name);
          } else if (s.op === "advance") {
            expectUntil(clock.now + s.ms);
            await clock.advance(s.ms);
          }
          assertEquals(expired, expected);
          assertEquals(d.size, kept.size);
        }
        expectUntil(Infinity);
        await clock.advance(1_000);
        assertEquals(expired, expected);
        assertEquals(clock.poolTimers(), 0);
      });
    }),
    { numRuns: 300 },
  );
});
