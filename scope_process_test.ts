// scope.ts seen from a whole process: a scope that ends while an
// acquisition it started is still in flight must not leave anything that
// crashes the process (an unhandled rejection) or keeps it alive. Runs a
// small script in a child Deno, as an app would run.
import { assert, assertEquals } from "@std/assert";

const MOD = new URL("./mod.ts", import.meta.url).href;
const CONFIG = new URL("./deno.json", import.meta.url).pathname;

// An ASYNC proxy (the default with a fun) whose objects take 50 ms to
// make; the scope starts `_getObj()` without awaiting it and returns at
// once, so the scope ends first and the acquisition is withdrawn.
const SCRIPT = `
import { Proxy, scoped } from ${JSON.stringify(MOD)};

const db = new Proxy<{ n: number }>({
  fun: (n) => new Promise((resolve) => setTimeout(() => resolve({ n }), 50)),
  maxSize: 2,
});
const result = await scoped(() => {
  db._getObj(); // not awaited: the scope ends before the object comes
  return "done";
});
await new Promise((resolve) => setTimeout(resolve, 200));
const { nusing, navail, nobjs } = db._pool!.stats();
await db._shutdown();
console.log(JSON.stringify({ result, nusing, navail, nobjs }));
`;

Deno.test("a scope ending before its un-awaited _getObj() is served: the process exits 0, nothing uncaught", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ppp-scope-process-" });
  try {
    const file = `${dir}/early_get_obj.ts`;
    await Deno.writeTextFile(file, SCRIPT);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", CONFIG, file],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    console.log(`  exit ${out.code}; stdout ${stdout.trim()}`);
    assert(!stderr.includes("Uncaught"), stderr);
    assertEquals(out.code, 0, stderr);
    // the object came after the scope ended and went back to the pool
    assertEquals(JSON.parse(stdout), {
      result: "done",
      nusing: 0,
      navail: 1,
      nobjs: 1,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
