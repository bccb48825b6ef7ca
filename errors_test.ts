import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
} from "@std/assert";
import { PoolError, PPPError, ProxyError, TimeoutError } from "./errors.ts";

Deno.test("errors form one hierarchy with the names callers catch by", () => {
  const cause = new Error("connect ECONNREFUSED");
  const error = new TimeoutError("no object within 5 ms", { cause });
  assertInstanceOf(error, PoolError);
  assertInstanceOf(error, PPPError);
  assertInstanceOf(error, Error);
  assertEquals(error.name, "TimeoutError");
  assertEquals(error.message, "no object within 5 ms");
  assertEquals(error.cause, cause);
  assertEquals(String(error), "TimeoutError: no object within 5 ms");
  assert(error.stack?.startsWith("TimeoutError: no object within 5 ms"));
  assertEquals(new PoolError("shut down").name, "PoolError");
  assertEquals(new PPPError().name, "PPPError");
  const proxyError = new ProxyError("unset");
  assertEquals(proxyError.name, "ProxyError");
  assertInstanceOf(proxyError, PPPError);
  assertFalse(proxyError instanceof PoolError);
});
