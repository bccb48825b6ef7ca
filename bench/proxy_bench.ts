// `deno bench -A bench/proxy_bench.ts` (or plain `deno bench`): the
// overhead of a member access forwarded by our Proxy, under Deno's bench
// runner, against a direct access (the baseline of each group) and a
// minimal JS Proxy:
// - "call": one method call, direct / our Proxy to a shared object /
//   a minimal JS Proxy (the floor of any forwarding);
// - "get": one getter read, direct / our Proxy;
// - "call1000": 1000 calls an iteration, direct / our Proxy to a shared
//   object / an ASYNC (pooled) Proxy bound in a `scoped()` block;
// - and the whole `scoped()` + `_getObj()` + 1 call + release cycle.
// The interleaved version with medians is scenario S5 of `deno task bench`
// (`bench/main.ts`): a method call direct, through a minimal JS Proxy and
// through our Proxy; it has no S1..S4 (those are pool scenarios).
import { Proxy } from "../proxy.ts";
import { scoped } from "../scope.ts";

class Conn {
  #n = 0;
  query(x: number): number {
    return this.#n += x;
  }
  get n(): number {
    return this.#n;
  }
}

const direct = new Conn();
const shared = new Proxy<Conn>({ obj: new Conn() });
const pooled = new Proxy<Conn>({ fun: () => new Conn(), maxSize: 1 });

Deno.bench("direct method call", { group: "call", baseline: true }, () => {
  direct.query(1);
});

Deno.bench("proxy method call (shared obj)", { group: "call" }, () => {
  shared.query(1);
});

// The floor of any forwarding: a JS Proxy whose get trap only returns a
// method bound once. Ours costs this plus its own checks.
const bound = new Conn();
const boundQuery = bound.query.bind(bound);
const minimal = new globalThis.Proxy({}, { get: () => boundQuery }) as Conn;

Deno.bench("minimal JS Proxy method call (floor)", { group: "call" }, () => {
  minimal.query(1);
});

Deno.bench("direct getter", { group: "get", baseline: true }, () => {
  direct.n;
});

Deno.bench("proxy getter (shared obj)", { group: "get" }, () => {
  shared.n;
});

// An ASYNC proxy bound in a scope looks its object up through
// AsyncLocalStorage and the scope's bindings.
Deno.bench(
  "direct method call x1000",
  { group: "call1000", baseline: true },
  () => {
    for (let i = 0; i < 1_000; i++) direct.query(1);
  },
);

Deno.bench(
  "proxy method call x1000 (shared obj)",
  { group: "call1000" },
  () => {
    for (let i = 0; i < 1_000; i++) shared.query(1);
  },
);

Deno.bench(
  "proxy method call x1000 (ASYNC, bound in scope)",
  { group: "call1000" },
  async (b) => {
    await scoped(async () => {
      await pooled._getObj();
      b.start();
      for (let i = 0; i < 1_000; i++) pooled.query(1);
      b.end();
    });
  },
);

Deno.bench("scoped() + _getObj() + 1 call + release", async () => {
  await scoped(async () => {
    await pooled._getObj();
    pooled.query(1);
  });
});
