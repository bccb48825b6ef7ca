// `deno bench pool_bench.ts`: our Pool against the minimal floor of
// bench.ts, generic-pool and tarn. Each iteration runs a batch of round
// trips so the harness's own cost per iteration does not hide the pools'.
// For the interleaved comparison with ratios, run `deno task bench`.
import { Pool } from "./mod.ts";
import { FloorPool } from "./bench.ts";
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
