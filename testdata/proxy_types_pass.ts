// Must type-check: `deno check .` covers it, and `proxy_test.ts` checks it
// on its own. Each `@ts-expect-error` line must be an error, or the check
// fails with "Unused '@ts-expect-error' directive".
import { type FunHook, Proxy, Scope } from "../mod.ts";

class Client {
  #rows = ["a"];
  query(sql: string): Promise<string[]> {
    return Promise.resolve([sql, ...this.#rows]);
  }
  get size(): number {
    return this.#rows.length;
  }
  name = "client";
}

export async function members(): Promise<void> {
  const db = new Proxy<Client>();
  const rows: Promise<string[]> = db.query("SELECT 1");
  const size: number = db.size;
  db.name = "renamed";
  // @ts-expect-error misspelt member
  db.qurey("SELECT 1");
  // @ts-expect-error wrong argument type
  db.query(42);
  // @ts-expect-error size is a number
  const _s: string = db.size;
  await rows;
  void size;
}

export async function controls(): Promise<void> {
  const fun: FunHook<Client> = () => new Client();
  const db = new Proxy<Client>({ fun, scope: Scope.ASYNC, maxSize: 5 });
  const obj: Client = await db._getObj({ timeout: 1_000 });
  const has: boolean = db._hasObj();
  await db._retObj();
  const n: number = await db._obj(async (c) => (await c.query("x")).length);
  db._setPool({ maxSize: 3, maxUse: 10 });
  db.set({ fun });
  db.setObj(new Client());
  db.setFun(fun);
  db._set({ obj: new Client() });
  db._setObj(obj);
  db._setFun(fun);
  const stats: number | undefined = db._pool?.stats().nuses;
  // @ts-expect-error _getObj resolves to a Client
  const _wrong: string = await db._getObj();
  // @ts-expect-error maxSize is a number or null
  db._setPool({ maxSize: "3" });
  await db._shutdown();
  await db[Symbol.asyncDispose]();
  void has, n, stats;
}

export function setNames(): void {
  const init = new Proxy<Map<string, number>, "init">({ setName: "init" });
  init.initObj(new Map());
  init.initFun(() => new Map());
  init.init({ obj: new Map() });
  const m: Map<string, number> = init.set("a", 1); // Map.prototype.set
  const v: number | undefined = init.get("a");
  for (const [k, n] of init) void [k, n];

  const plain = new Proxy<Map<string, number>>();
  plain.set({ obj: new Map() }); // the setter shadows Map.prototype.set
  // @ts-expect-error with setName "set", `set` is the setter
  plain.set("a", 1);

  const none = new Proxy<{ x: number }, "">({ setName: "" });
  none._setObj({ x: 1 });
  // @ts-expect-error setName "" gives no setters
  none.setObj({ x: 1 });
  void m, v;
}

export function falsy(): void {
  const zero = new Proxy<number>({ obj: 0 });
  const s: string = zero.toFixed(2);
  const text = new Proxy<string>({ obj: "" });
  const len: number = text.length;
  void s, len;
}
