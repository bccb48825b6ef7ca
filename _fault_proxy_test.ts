// Tests of the fault-injecting proxy, against a tiny echo server: no
// PostgreSQL needed.
import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import { FaultProxy } from "./_fault_proxy.ts";
import { waitFor } from "./_testing.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// How long we wait to see that nothing happens (no echo, no byte through a
// stall). Over loopback a forwarded byte arrives in well under a
// millisecond, so 150 ms is plenty to catch a proxy that lets bytes through;
// and if one slipped through later still, the test would pass wrongly, never
// fail spuriously: this wait cannot make the suite flaky, only bound it.
const QUIET_MS = 150;

const TIMEOUT = Symbol("timeout");

/** `promise`'s value, or TIMEOUT if it takes more than `ms`. */
async function within<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | typeof TIMEOUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMEOUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer); // else the sanitizer sees a leaked timer
  }
}

/**
 * `promise`'s value, failing after 5 s: for what must happen (held bytes
 * after pass()), so that a broken proxy fails the test instead of hanging
 * it. Generous: it bounds a failure, not a success.
 */
async function soon<T>(promise: Promise<T>, what: string): Promise<T> {
  const value = await within(promise, 5_000);
  if (value === TIMEOUT) throw new Error(`Timed out waiting for ${what}`);
  return value;
}

/**
 * One read: the text, null at EOF, or the error (a reset, or Interrupted when
 * we close the conn under a pending read). Never rejects, so a read left
 * pending by `within` cannot become an unhandled rejection.
 */
async function readOnce(conn: Deno.Conn): Promise<string | null | Error> {
  const buf = new Uint8Array(64 * 1024);
  try {
    const n = await conn.read(buf);
    return n === null ? null : decoder.decode(buf.subarray(0, n));
  } catch (error) {
    return error as Error;
  }
}

/** Reads until `n` bytes came (TCP may split them); fails at EOF. */
async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const m = await conn.read(out.subarray(got));
    if (m === null) throw new Error(`EOF after ${got} of ${n} bytes`);
    got += m;
  }
  return out;
}

async function readText(conn: Deno.Conn, n: number): Promise<string> {
  return decoder.decode(await readExactly(conn, n));
}

async function send(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  let done = 0;
  while (done < bytes.length) done += await conn.write(bytes.subarray(done));
}

function connect(proxy: FaultProxy): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: proxy.hostname, port: proxy.port });
}

/** Closes a conn the proxy may have closed already. */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed already
  }
}

/**
 * The target: echoes what it reads. Keeps its conns so a test can push
 * bytes from the server side, and counts what it received, to see that
 * nothing got through a stall.
 */
class EchoServer implements AsyncDisposable {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly conns = new Set<Deno.TcpConn>();
  accepted = 0;
  received = 0;
  #tasks: Promise<void>[] = [];

  constructor() {
    this.#tasks.push(this.#accept());
  }

  get target(): { hostname: string; port: number } {
    return { hostname: "127.0.0.1", port: this.listener.addr.port };
  }

  /** The one open server side conn (fails if there is not exactly one). */
  only(): Deno.TcpConn {
    assertEquals(this.conns.size, 1);
    return [...this.conns][0];
  }

  async #accept(): Promise<void> {
    for await (const conn of this.listener) {
      this.accepted++;
      this.conns.add(conn);
      this.#tasks.push(this.#echo(conn));
    }
  }

  async #echo(conn: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        this.received += n;
        let done = 0;
        while (done < n) done += await conn.write(buf.subarray(done, n));
      }
    } catch {
      // reset by the proxy, or closed by us
    }
    this.conns.delete(conn);
    closeQuietly(conn);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.listener.close();
    for (const conn of this.conns) closeQuietly(conn);
    while (true) {
      const n = this.#tasks.length;
      await Promise.all(this.#tasks);
      if (this.#tasks.length === n) break;
    }
  }
}

Deno.test("FaultProxy passes bytes both ways and counts connections", async () => {
  await using server = new EchoServer();
  await using proxy = await FaultProxy.start(server.target);
  assertEquals(proxy.hostname, "127.0.0.1");
  assert(proxy.port > 0);
  assertEquals(proxy.mode, "pass");
  assertEquals([proxy.accepted, proxy.open, proxy.dialled], [0, 0, 0]);

  const a = await connect(proxy);
  const b = await connect(proxy);
  await send(a, "hello");
  await send(b, "world");
  assertEquals(await readText(a, 5), "hello");
  assertEquals(await readText(b, 5), "world");
  // server to client, unprompted
  await waitFor(() => server.conns.size === 2, "both server sides");
  for (const conn of server.conns) await send(conn, "push");
  assertEquals(await readText(a, 4), "push");
  assertEquals(await readText(b, 4), "push");
  assertEquals([proxy.accepted, proxy.open, proxy.dialled], [2, 2, 2]);

  // a client that leaves frees its link, and the server side with it
  a.close();
  await waitFor(() => proxy.open === 1, "the link of a to close");
  await waitFor(() => server.conns.size === 1, "a's server side to close");
  // and the server leaving closes the client side
  server.only().close();
  server.conns.clear();
  assertEquals(await readOnce(b), null);
  await waitFor(() => proxy.open === 0, "the link of b to close");
  b.close();
  assertEquals([proxy.accepted, proxy.open, proxy.dialled], [2, 0, 2]);
});

Deno.test("FaultProxy copies large transfers fully, with backpressure", async () => {
  await using server = new EchoServer();
  await using proxy = await FaultProxy.start(server.target);
  const conn = await connect(proxy);
  // More than the proxy holds per direction (1 MiB) and than socket buffers
  // take, so reads, partial writes and the read-ahead bound all get used.
  const size = 8 << 20;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >> 12)) & 0xff;
  const writing = (async () => {
    let done = 0;
    while (done < size) done += await conn.write(data.subarray(done));
  })();
  const echoed = await readExactly(conn, size);
  await writing;
  assertEquals(echoed, data);
  assertEquals(server.received, size);
  conn.close();
  await waitFor(() => proxy.open === 0, "the link to close");
});

Deno.test("FaultProxy blackhole: new connections hang, established ones pass", async () => {
  await using server = new EchoServer();
  await using proxy = await FaultProxy.start(server.target);
  const old = await connect(proxy);
  await send(old, "before");
  assertEquals(await readText(old, 6), "before");

  proxy.blackhole();
  assertEquals(proxy.mode, "blackhole");
  const held = await connect(proxy); // accepted by the kernel: connect succeeds
  await send(held, "anyone?");
  const reply = readOnce(held);
  assertEquals(await within(reply, QUIET_MS), TIMEOUT, "no answer in time");
  await waitFor(() => proxy.accepted === 2, "the held connection accepted");
  assertEquals([proxy.accepted, proxy.open, proxy.dialled], [2, 2, 1]);
  assertEquals(server.accepted, 1, "never forwarded");

  // the established connection still passes
  await send(old, "during");
  assertEquals(await readText(old, 6), "during");

  // pass() does not revive the held connection
  proxy.pass();
  assertEquals(await within(reply, QUIET_MS), TIMEOUT, "still no answer");
  assertEquals(server.accepted, 1);
  const fresh = await connect(proxy);
  await send(fresh, "after");
  assertEquals(await readText(fresh, 5), "after");

  // the client giving up frees the held connection
  held.close();
  assertInstanceOf(await reply, Error); // our own close interrupts the read
  await waitFor(() => proxy.open === 2, "the held connection to be freed");
  assertEquals([proxy.accepted, proxy.dialled], [3, 2]);
  old.close();
  fresh.close();
  await waitFor(() => proxy.open === 0, "every link to close");
});

Deno.test("FaultProxy stall: holds bytes both ways, pass() delivers them", async () => {
  await using server = new EchoServer();
  await using proxy = await FaultProxy.start(server.target);
  const conn = await connect(proxy);
  await send(conn, "ping");
  assertEquals(await readText(conn, 4), "ping");
  const upstream = server.only();

  proxy.stall();
  assertEquals(proxy.mode, "stall");
  await send(conn, "up");
  await send(upstream, "down");
  const reply = readOnce(conn);
  assertEquals(await within(reply, QUIET_MS), TIMEOUT, "nothing comes down");
  assertEquals(server.received, 4, "nothing went up");

  // a new connection while stalled is held, not dialled
  const held = await connect(proxy);
  await send(held, "hello?");
  const heldReply = readOnce(held);
  assertEquals(await within(heldReply, QUIET_MS), TIMEOUT);
  assertEquals([proxy.accepted, proxy.open, proxy.dialled], [2, 2, 1]);

  proxy.pass();
  // held bytes arrive, in order: "down" first, then the echo of "up"
  const first = await soon(reply, "the held bytes");
  assertEquals(typeof first, "string");
  const rest = await soon(
    readText(conn, 6 - (first as string).length),
    "the rest of the held bytes",
  );
  assertEquals(first + rest, "downup");
  assertEquals(server.received, 6);
  // the connection held while stalled stays dead
  assertEquals(await within(heldReply, QUIET_MS), TIMEOUT);
  assertEquals(proxy.dialled, 1);

  held.close();
  await heldReply;
  conn.close();
  await waitFor(() => proxy.open === 0, "every link to close");
});

Deno.test("FaultProxy stall: a client that leaves is freed while stalled", async () => {
  await using server = new EchoServer();
  await using proxy = await FaultProxy.start(server.target);
  const conn = await connect(proxy);
  await send(conn, "ping");
  assertEquals(await readText(conn, 4), "ping");

  proxy.stall();
  await send(conn, "held query"); // waits in the proxy, as a query would
  conn.close(); // the client times out and gives up
  await waitFor(() => proxy.open === 0, "the stalled link to be freed");
  await waitFor(() => server.conns.size === 0, "the server side to close");
  assertEquals(server.received, 4, "what the client left behind is dropped");
  proxy.pass();
});

Deno.test("FaultProxy stall: a server that leaves is held until pass()", async () => {
  await using server = new EchoServer();
  await using proxy = await FaultProxy.start(server.target);
  const conn = await connect(proxy);
  await send(conn, "ping");
  assertEquals(await readText(conn, 4), "ping");

  proxy.stall();
  const upstream = server.only();
  await send(upstream, "bye");
  upstream.close();
  server.conns.clear();
  const reply = readOnce(conn);
  assertEquals(await within(reply, QUIET_MS), TIMEOUT, "not while stalled");
  assertEquals(proxy.open, 1);

  proxy.pass();
  assertEquals(await soon(reply, "the held bytes"), "bye");
  assertEquals(await soon(readOnce(conn), "the held EOF"), null);
  await waitFor(() => proxy.open === 0, "the link to close");
  conn.close();
});

Deno.test("FaultProxy reset: closes every connection, then passes", async () => {
  await using server = new EchoServer();
  await using proxy = await FaultProxy.start(server.target);
  const a = await connect(proxy);
  await send(a, "one");
  assertEquals(await readText(a, 3), "one");
  proxy.stall(); // reset also ends a stall
  const b = await connect(proxy); // held: reset closes it too
  await waitFor(() => proxy.open === 2, "b accepted");

  proxy.reset();
  assertEquals(proxy.mode, "pass");
  assertEquals(proxy.open, 0, "closed at once");
  for (const conn of [a, b]) {
    // EOF, or a reset error when the client's data was still unread
    const end = await readOnce(conn);
    assert(end === null || end instanceof Error, `got ${end}`);
    conn.close();
  }
  await waitFor(() => server.conns.size === 0, "the server side to close");

  const c = await connect(proxy);
  await send(c, "two");
  assertEquals(await readText(c, 3), "two");
  assertEquals([proxy.accepted, proxy.open, proxy.dialled], [3, 1, 2]);
  c.close();
  await waitFor(() => proxy.open === 0, "c's link to close");
});

Deno.test("FaultProxy frees the link when the client leaves during a blocked write", async () => {
  await using server = new EchoServer();
  await using proxy = await FaultProxy.start(server.target);
  const conn = await connect(proxy);
  await send(conn, "x");
  assertEquals(await readText(conn, 1), "x");
  // The server sends far more than the client reads: the proxy fills its
  // read-ahead and blocks writing to the client...
  const upstream = server.only();
  const flood = new Uint8Array(16 << 20);
  const pushing = (async () => {
    try {
      let done = 0;
      while (done < flood.length) done += await upstream.write(flood);
    } catch {
      // the proxy closed the server side: expected
    }
  })();
  await waitFor(() => proxy.open === 1, "the link");
  // ...then the client leaves without reading
  conn.close();
  await waitFor(() => proxy.open === 0, "the link to close");
  await pushing;
});

Deno.test("FaultProxy closes the client when the target is down", async () => {
  // a port that was free a moment ago: nothing listens there now
  const gone = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const target = { hostname: "127.0.0.1", port: gone.addr.port };
  gone.close();
  await using proxy = await FaultProxy.start(target);
  const conn = await connect(proxy);
  const end = await readOnce(conn);
  assert(end === null || end instanceof Error, `got ${end}`);
  conn.close();
  await waitFor(() => proxy.open === 0, "the link to close");
  assertEquals([proxy.accepted, proxy.dialled], [1, 0]);
});

Deno.test("FaultProxy close() ends every connection and task", async () => {
  await using server = new EchoServer();
  const proxy = await FaultProxy.start(server.target);
  const live = await connect(proxy);
  await send(live, "hi");
  assertEquals(await readText(live, 2), "hi");
  proxy.stall();
  await send(live, "stuck"); // a writer waits on the stall
  const stalledReply = readOnce(live);
  const held = await connect(proxy); // held: new while stalled
  await waitFor(() => proxy.open === 2, "the held connection");

  const closing = proxy.close();
  assertEquals(proxy.close(), closing, "close() is idempotent");
  await closing;
  assertEquals(proxy.open, 0);
  // both clients see the end: EOF, or a reset error if they left data unread
  for (const end of [await stalledReply, await readOnce(held)]) {
    assert(end === null || end instanceof Error, `got ${end}`);
  }
  live.close();
  held.close();
  // the listener is gone
  let refused = false;
  try {
    (await connect(proxy)).close();
  } catch (error) {
    refused = error instanceof Deno.errors.ConnectionRefused;
  }
  assert(refused, "connect after close() is refused");
  await waitFor(() => server.conns.size === 0, "the server sides to close");
  // and closing again after the fact is harmless
  await proxy[Symbol.asyncDispose]();
});
