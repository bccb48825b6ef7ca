/**
 * The runner of `deno task bench`: compares our `Pool` with
 * `npm:generic-pool`, `npm:tarn` and a minimal correct pool (the "floor",
 * `bench/floor.ts`) in one process, in interleaved rounds in rotating order
 * after a warm-up, and prints markdown tables of medians of ops/s and of
 * per-round ratios. It only parses options and prints: the scenarios and
 * their measurements are in `bench/scenarios.ts`.
 *
 * The scenarios (see `bench/scenarios.ts` for the details):
 * - S1: one caller, get + ret in a loop, the objects made first (maxSize 10);
 * - S2: 100 workers doing get / `await null` / ret, maxSize 10;
 * - S3: maxSize 2 held, gets with a 1 ms timeout that all time out, then
 *   both objects handed out again;
 * - S4: heap growth across round trips, after gc;
 * - S5: a method call direct, through a minimal JS Proxy, and through our
 *   `Proxy` (set up once, or a new one each round).
 *
 * Run with `deno task bench` (which passes `--v8-flags=--expose-gc` for S4).
 * Options: `--rounds=N` (default 9), `--quick` (fewer, smaller rounds),
 * `--only=S1,S2,...`.
 *
 * Not named `*_bench.ts` on purpose: `deno bench` runs the `deno bench`
 * files `bench/pool_bench.ts` and `bench/proxy_bench.ts`, not this.
 *
 * @module
 */
import {
  type Contender,
  CONTENDERS,
  floor,
  gc,
  generic,
  interleave,
  median,
  s5,
  type S5Round,
} from "./scenarios.ts";

function fmtOps(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`;
}

interface Options {
  rounds: number;
  n: number;
  s3n: number;
  s4n: number;
  s5n: number;
  only: Set<string>;
}

function parseArgs(args: string[]): Options {
  const quick = args.includes("--quick");
  const get = (k: string) =>
    args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  return {
    rounds: Number(get("rounds") ?? (quick ? 3 : 9)),
    n: quick ? 50_000 : 200_000,
    s3n: 2_000,
    s4n: quick ? 200_000 : 1_000_000,
    s5n: quick ? 1_000_000 : 5_000_000,
    only: new Set((get("only") ?? "S1,S2,S3,S4,S5").split(",")),
  };
}

function throughputTable(
  title: string,
  n: number,
  ms: Map<Contender, number[]>,
): string[] {
  const ops = new Map(
    [...ms].map(([c, xs]) => [c, xs.map((x) => n / x * 1000)]),
  );
  const f = ops.get(floor)!;
  const g = ops.get(generic)!;
  const lines = [
    `| ${title} | ops/s (median) | × floor (median of rounds) | × generic-pool |`,
    "| --- | ---: | ---: | ---: |",
  ];
  for (const c of CONTENDERS) {
    const xs = ops.get(c)!;
    const vsFloor = median(xs.map((x, r) => x / f[r]));
    const vsGeneric = median(xs.map((x, r) => x / g[r]));
    lines.push(
      `| ${c.name} | ${fmtOps(median(xs))} | ${vsFloor.toFixed(2)} | ${
        vsGeneric.toFixed(2)
      } |`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const o = parseArgs(Deno.args);
  const out: string[] = [];
  const say = (s: string) => {
    out.push(s);
    console.log(s);
  };
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
    console.warn(
      "warning: run with --v8-flags=--expose-gc for S4 and steadier numbers",
    );
  }
  console.log(
    `deno ${Deno.version.deno}, v8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} cores; ${o.rounds} rounds, order rotating`,
  );
  // warm-up: every loop of every contender, a quarter of the size
  for (const c of CONTENDERS) {
    if (o.only.has("S1")) await c.s1(o.n / 4);
    if (o.only.has("S2")) await c.s2(o.n / 4, 100);
    if (o.only.has("S3")) await c.s3(o.s3n / 4);
  }
  if (o.only.has("S1")) {
    const ms = await interleave(o.rounds, (c) => c.s1(o.n));
    say("");
    for (
      const l of throughputTable(
        `S1 (1 caller, ${o.n} get+ret, maxSize 10)`,
        o.n,
        ms,
      )
    ) say(l);
  }
  if (o.only.has("S2")) {
    const ms = await interleave(o.rounds, (c) => c.s2(o.n, 100));
    say("");
    for (
      const l of throughputTable(
        `S2 (100 workers, ${o.n} ops, maxSize 10)`,
        o.n,
        ms,
      )
    ) say(l);
  }
  if (o.only.has("S3")) {
    const ms = await interleave(o.rounds, (c) => c.s3(o.s3n));
    const f = ms.get(floor)!;
    say("");
    say(
      `| S3 (maxSize 2 held, ${o.s3n} gets with 1 ms timeout, then both handed out) | ms (median) | × floor's time (median of rounds) |`,
    );
    say("| --- | ---: | ---: |");
    for (const c of CONTENDERS) {
      const xs = ms.get(c)!;
      say(
        `| ${c.name} | ${median(xs).toFixed(2)} | ${
          median(xs.map((x, r) => x / f[r])).toFixed(2)
        } |`,
      );
    }
  }
  if (o.only.has("S4")) {
    const rounds = Math.min(o.rounds, 3);
    const d = await interleave(rounds, (c) => c.s4(o.s4n));
    say("");
    say(
      `| S4 (heap after − before ${o.s4n} round trips, after gc) | KiB (median of ${rounds}) | KiB (max) |`,
    );
    say("| --- | ---: | ---: |");
    for (const c of CONTENDERS) {
      const xs = d.get(c)!;
      say(
        `| ${c.name} | ${(median(xs) / 1024).toFixed(1)} | ${
          (Math.max(...xs) / 1024).toFixed(1)
        } |`,
      );
    }
  }
  if (o.only.has("S5")) {
    s5(o.s5n / 10); // warm-up
    const rounds: S5Round[] = [];
    for (let r = 0; r < o.rounds; r++) {
      gc();
      rounds.push(s5(o.s5n));
    }
    const ns = (k: keyof S5Round) => median(rounds.map((r) => r[k]));
    const over = (k: keyof S5Round) =>
      median(rounds.map((r) => r[k] - r.direct));
    say("");
    say(
      `| S5 (method call \`add(1)\` on a class with a #private field, ${o.s5n} calls a round in 10 alternating stretches) | ns/call (median) | ns over direct (median of rounds) |`,
    );
    say("| --- | ---: | ---: |");
    say(`| direct | ${ns("direct").toFixed(1)} | 0 |`);
    say(
      `| minimal JS Proxy (trap returns the cached bound method: V8's share) | ${
        ns("minimal").toFixed(1)
      } | ${over("minimal").toFixed(1)} |`,
    );
    say(
      `| our Proxy, module-level (set up once) | ${ns("module").toFixed(1)} | ${
        over("module").toFixed(1)
      } |`,
    );
    say(
      `| our Proxy, new proxy and object each round | ${
        ns("fresh").toFixed(1)
      } | ${over("fresh").toFixed(1)} |`,
    );
  }
}

if (import.meta.main) await main();
