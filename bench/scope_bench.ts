// What a request scope costs: `scoped()` + `await db._getObj()` + the return
// at the scope's end, against one `pool.use()` round trip, both on an idle
// object ready at once. Run: deno bench -A bench/scope_bench.ts
import { Pool } from "../pool.ts";
import { Proxy } from "../proxy.ts";
import { scoped } from "../scope.ts";

const pool = new Pool({ fun: () => ({ n: 0 }), maxSize: 10 });
await pool.fill();
const db = new Proxy<{ n: number }>({ fun: () => ({ n: 0 }), maxSize: 10 });
await scoped(() => db._getObj()); // the pool's first object exists

Deno.bench(
  "pool.use() round trip",
  { group: "scope", baseline: true },
  async () => {
    await pool.use((obj) => obj.n);
  },
);

Deno.bench("scoped() + _getObj() + return", { group: "scope" }, async () => {
  await scoped(async () => {
    await db._getObj();
    return db.n;
  });
});
