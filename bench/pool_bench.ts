// `deno bench -A bench/pool_bench.ts` (or plain `deno bench`): our Pool
// against the minimal floor pool of `bench/floor.ts`, generic-pool and tarn,
// under Deno's bench runner. Each iteration runs a batch of round trips so
// the harness's own cost per iteration does not hide the pools'.
// For the interleaved comparison with ratios, run `deno task bench`
// (`bench/main.ts`).
//
// The groups are two of that runner's scenarios, on pools of maxSize 10
// filled before the first bench:
// - S1: one caller, get + ret in a loop, 1000 round trips an iteration;
// - S2: 100 workers each doing get / `await null` / ret until 1000 ops are
//   done in all (90 of them wait: the waiter queue and direct handoff).
// The last bench, "zz teardown", only shuts the pools down.
import { Pool } from "../mod.ts";
import { FloorPool } from "./floor.ts";
import * as genericPool from "generic-pool";
import { Pool as TarnPool } from "tarn";

const MAX = 10;
const BATCH = 1_000;
const WORKERS = 100;

type Obj = { id: number };
let nextId = 0;
const make = (): Obj => ({ id: nextId++ });

const ours = new Pool<Obj>({ fun: make, maxSize: MAX, minSize: MAX });
await ours.fill();
const floor = new FloorPool<Obj>(make, MAX);
const generic = genericPool.createPool<Obj>({
  create: () => Promise.resolve(make()),
  destroy: () => Promise.resolve(),
}, { max: MAX, min: MAX });
const tarn = new TarnPool<Obj>({
  create: () => Promise.resolve(make()),
  destroy: () => {},
  min: 0,
  max: MAX,
});

// Pools live across benches; tarn's reaper and generic-pool's timers are
// stopped by the last bench of the file (`deno bench` has no afterAll).

Deno.bench({
  name: "ours",
  group: "S1 one caller, 1000 get+ret",
  async fn() {
    for (let i = 0; i < BATCH; i++) ours.ret(await ours.get());
  },
});

Deno.bench({
  name: "floor",
  group: "S1 one caller, 1000 get+ret",
  baseline: true,
  async fn() {
    for (let i = 0; i < BATCH; i++) floor.release(await floor.acquire());
  },
});

Deno.bench({
  name: "generic-pool",
  group: "S1 one caller, 1000 get+ret",
  async fn() {
    for (let i = 0; i < BATCH; i++) generic.release(await generic.acquire());
  },
});

Deno.bench({
  name: "tarn",
  group: "S1 one caller, 1000 get+ret",
  async fn() {
    for (let i = 0; i < BATCH; i++) tarn.release(await tarn.acquire().promise);
  },
});

// S2: WORKERS callers doing get / await null / ret until BATCH ops are done.
async function concurrently(
  get: () => Promise<Obj>,
  ret: (o: Obj) => unknown,
): Promise<void> {
  let left = BATCH;
  const worker = async () => {
    while (left > 0) {
      left--;
      const o = await get();
      await null;
      ret(o);
    }
  };
  const ws = [];
  for (let i = 0; i < WORKERS; i++) ws.push(worker());
  await Promise.all(ws);
}

Deno.bench({
  name: "ours",
  group: "S2 100 workers, 1000 ops",
  fn: () => concurrently(() => ours.get(), (o) => ours.ret(o)),
});

Deno.bench({
  name: "floor",
  group: "S2 100 workers, 1000 ops",
  baseline: true,
  fn: () => concurrently(() => floor.acquire(), (o) => floor.release(o)),
});

Deno.bench({
  name: "generic-pool",
  group: "S2 100 workers, 1000 ops",
  fn: () => concurrently(() => generic.acquire(), (o) => generic.release(o)),
});

Deno.bench({
  name: "tarn",
  group: "S2 100 workers, 1000 ops",
  async fn() {
    await concurrently(() => tarn.acquire().promise, (o) => tarn.release(o));
  },
});

Deno.bench({
  name: "shutdown (not a measurement)",
  group: "zz teardown",
  n: 1,
  warmup: 0,
  async fn() {
    await ours.shutdown();
    await generic.drain();
    await generic.clear();
    await tarn.destroy();
  },
});
