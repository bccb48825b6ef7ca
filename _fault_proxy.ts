// A fault-injecting TCP proxy for tests; not part of the published module.
//
// It sits between a client (npm:pg, say) and a real server (PostgreSQL) and
// can make the network misbehave on demand, the ways a real one does:
//
//   pass       bytes flow both ways (the default)
//   blackhole  new connections are accepted and then ignored: the client's
//              connect succeeds but it never hears back, as if the host
//              vanished after the handshake; established ones keep passing
//   stall      nothing moves on any connection (bytes are held, not dropped),
//              and new connections are held too: a partition
//   reset      (an action, not a lasting mode) every connection is closed at
//              once, then it passes again: a server restart or a middlebox
//              dropping state
//
// Only Deno.listen and Deno.connect: no dependencies, nothing to install.

/** How the proxy treats traffic; see {@linkcode FaultProxy}. */
export type FaultMode = "pass" | "blackhole" | "stall" | "reset";

/** Where the proxy forwards to. */
export interface FaultTarget {
  hostname: string;
  port: number;
}

/** Options for {@linkcode FaultProxy.start}. */
export interface FaultProxyOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
}

// The most bytes one direction of a connection reads ahead of what it has
// written. Reading ahead is what lets a stalled connection notice that its
// client gave up (see Pipe); the bound keeps a fast sender from filling our
// memory while the other side is stalled or slow.
const MAX_HELD = 1 << 20;
const READ_SIZE = 64 * 1024;

/**
 * A promise that can be waited on many times and renewed: `notify()` wakes
 * everyone waiting now. Waiters loop and re-check their condition, so a
 * spurious wake is harmless, and a single one per connection serves every
 * reason to wake (data, space, resume, close) without racing promises that
 * never settle (each `Promise.race` on a long-lived promise would pin a
 * reaction on it for the connection's whole life).
 */
class Signal {
  #wake!: () => void;
  #promise!: Promise<void>;
  constructor() {
    this.#renew();
  }
  #renew(): void {
    this.#promise = new Promise((resolve) => this.#wake = resolve);
  }
  wait(): Promise<void> {
    return this.#promise;
  }
  notify(): void {
    this.#wake();
    this.#renew();
  }
}

/** Closes a conn that may be closed already (by us, or by its signal). */
function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // BadResource: closed already; nothing else can go wrong here
  }
}

/**
 * One accepted (client side) connection and, once dialled, its server side.
 * Closing either side closes both: the peer that stayed would otherwise sit
 * on a half-dead connection that no test expects.
 */
class Link {
  upstream: Deno.TcpConn | null = null;
  closed = false;
  /** Woken on anything a pipe of this link may wait for. */
  readonly wake = new Signal();

  constructor(
    readonly client: Deno.TcpConn,
    readonly onClose: (link: Link) => void,
  ) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Closing cancels pending reads and writes on the conns (they reject with
    // Interrupted), which is what ends a copy loop blocked on a peer that
    // neither reads nor closes.
    closeQuietly(this.client);
    if (this.upstream) closeQuietly(this.upstream);
    this.wake.notify();
    this.onClose(this);
  }
}

/**
 * A TCP proxy on 127.0.0.1 that forwards to one target and injects faults:
 * see {@linkcode FaultMode}. Close it (or `await using` it) to end every
 * connection and task it started.
 */
export class FaultProxy implements AsyncDisposable {
  readonly hostname = "127.0.0.1";
  readonly port: number;

  #target: FaultTarget;
  #listener: Deno.TcpListener;
  #mode: Exclude<FaultMode, "reset"> = "pass";
  #accepted = 0;
  #dialled = 0;
  /** Every client side connection still open: forwarding, dialling, held. */
  #links = new Set<Link>();
  /** Every task we started and not yet ended; close() waits on them. */
  #tasks = new Set<Promise<void>>();
  /** Errors of tasks that rejected: bugs, reported by close(). */
  #failures: unknown[] = [];
  /** Aborts dials in flight when we close. */
  #abort = new AbortController();
  #closing: Promise<void> | null = null;

  private constructor(target: FaultTarget, listener: Deno.TcpListener) {
    this.#target = { hostname: target.hostname, port: target.port };
    this.#listener = listener;
    this.port = listener.addr.port;
    this.#track(this.#acceptLoop());
  }

  /**
   * Listens on 127.0.0.1 (an ephemeral port unless `options.port`) and
   * forwards to `target`. Nothing is dialled until a client connects, so the
   * target need not be up yet. Async so that a failure to listen (port in
   * use) rejects instead of throwing, and for room to grow.
   */
  static start(
    target: FaultTarget,
    options: FaultProxyOptions = {},
  ): Promise<FaultProxy> {
    return new Promise((resolve) => {
      const listener = Deno.listen({
        hostname: "127.0.0.1",
        port: options.port ?? 0,
      });
      resolve(new FaultProxy(target, listener));
    });
  }

  /** The current mode (never "reset": that one is an action). */
  get mode(): FaultMode {
    return this.#mode;
  }

  /** Connections accepted so far (client side). */
  get accepted(): number {
    return this.#accepted;
  }

  /** Client side connections open now, held ones included. */
  get open(): number {
    return this.#links.size;
  }

  /** Connections that reached the server side (dialled upstream). */
  get dialled(): number {
    return this.#dialled;
  }

  /**
   * New connections are accepted and then ignored: never answered, never
   * forwarded. The client's connect succeeds (the kernel completes the
   * handshake) and then it waits for a reply that never comes, as with a
   * server that hangs before its greeting. Established connections keep
   * passing.
   */
  blackhole(): void {
    this.#setMode("blackhole");
  }

  /**
   * Nothing moves on established connections, in either direction: bytes
   * are held, not dropped, and go on after {@linkcode pass}. New connections
   * are held as in {@linkcode blackhole} (and stay dead after pass).
   */
  stall(): void {
    this.#setMode("stall");
  }

  /**
   * Closes every connection at once, both sides, then passes again. The
   * held ones (blackholed, or new while stalled) are closed too: they are
   * connections too, from the client's side, and a reset that left some
   * open would leave clients waiting on them forever.
   */
  reset(): void {
    for (const link of [...this.#links]) link.close();
    this.#setMode("pass");
  }

  /**
   * Back to normal: stalled connections move their held bytes and go on.
   * Connections held while blackholed or stalled are NOT resumed: they were
   * never dialled, and a client that sent its startup into the void is
   * waiting on a reply to that, not on a fresh server's greeting; they stay
   * dead until the client gives up and closes them (or {@linkcode reset}).
   */
  pass(): void {
    this.#setMode("pass");
  }

  /**
   * Closes the listener and every connection, and resolves once every task
   * the proxy started has ended: nothing is left for the test sanitizers.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    closeQuietly(this.#listener);
    this.#abort.abort();
    for (const link of [...this.#links]) link.close();
    // A task may start another (a dial starts its pipes) before it ends,
    // so wait until none is left rather than on a snapshot.
    while (this.#tasks.size > 0) await Promise.allSettled(this.#tasks);
    if (this.#failures.length > 0) {
      throw new AggregateError(this.#failures, "FaultProxy: a task failed");
    }
  }

  #setMode(mode: Exclude<FaultMode, "reset">): void {
    const wasStalled = this.#mode === "stall";
    this.#mode = mode;
    if (wasStalled && mode !== "stall") {
      for (const link of this.#links) link.wake.notify();
    }
  }

  // Tasks catch every I/O error themselves (a peer's reset is normal here).
  // Should one reject anyway (a bug), it must not be an unhandled rejection
  // (that would fail whichever test runs then): it is kept, and close()
  // rejects with it.
  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.then(
      () => this.#tasks.delete(task),
      (error) => {
        this.#tasks.delete(task);
        this.#failures.push(error);
      },
    );
  }

  async #acceptLoop(): Promise<void> {
    while (true) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // the listener was closed: close() is under way
      }
      this.#accepted++;
      const link = new Link(conn, (l) => this.#links.delete(l));
      this.#links.add(link);
      if (this.#closing) {
        link.close();
        return;
      }
      // The mode at accept decides: a connection is either dialled now or
      // held for good. (A stall begun while it dials still stalls it: it
      // counts as established.)
      this.#track(
        this.#mode === "pass" ? this.#forward(link) : this.#hold(link),
      );
    }
  }

  /**
   * Holds a connection: reads and drops what the client sends, only to see
   * when it gives up (read gives null, or a reset error), and then frees it.
   * Not reading would hold the bytes just as well but would never notice the
   * client leave, leaking the conn until close().
   */
  async #hold(link: Link): Promise<void> {
    const buf = new Uint8Array(READ_SIZE);
    try {
      while ((await link.client.read(buf)) !== null) {
        // dropped: never forwarded
      }
    } catch {
      // reset by the client, or closed by reset()/close()
    }
    link.close();
  }

  async #forward(link: Link): Promise<void> {
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({
        hostname: this.#target.hostname,
        port: this.#target.port,
        signal: this.#abort.signal,
      });
    } catch {
      // Server down or refusing: the client sees its connection closed,
      // as it would through a real proxy.
      link.close();
      return;
    }
    this.#dialled++;
    if (link.closed) {
      closeQuietly(upstream); // reset() or close() came while we dialled
      return;
    }
    link.upstream = upstream;
    await Promise.all([
      this.#pipe(link, link.client, upstream, true),
      this.#pipe(link, upstream, link.client, false),
    ]);
  }

  /**
   * Copies one direction of a link. A reader reads ahead into a queue (at
   * most MAX_HELD bytes) and a writer writes the queue out, fully, unless
   * stalled. They are separate so that a stalled direction still reads:
   * that is how it sees its client leave while nothing moves.
   *
   * When the source ends (EOF, or an error such as a reset: both mean "gone")
   * the writer first flushes what was read, so a client's last message (pg's
   * Terminate) still reaches the server, and then closes the link, both
   * sides. Except while stalled: a client that left is not waited for, its
   * held bytes are dropped and the link freed at once; a server that left
   * while stalled is held like its bytes, and the client learns of it after
   * pass(), as through a partition.
   */
  async #pipe(
    link: Link,
    src: Deno.TcpConn,
    dst: Deno.TcpConn,
    fromClient: boolean,
  ): Promise<void> {
    const queue: Uint8Array[] = [];
    let queued = 0;
    let ended = false;

    const reader = async () => {
      const buf = new Uint8Array(READ_SIZE);
      while (!link.closed) {
        if (queued >= MAX_HELD) {
          await link.wake.wait(); // the writer wakes us when it drains
          continue;
        }
        let n: number | null;
        try {
          n = await src.read(buf);
        } catch {
          n = null; // reset by the peer, or the link was closed
        }
        if (n === null) {
          ended = true;
          link.wake.notify();
          return;
        }
        queue.push(buf.slice(0, n));
        queued += n;
        link.wake.notify();
      }
    };

    const writer = async () => {
      while (!link.closed) {
        if (this.#mode === "stall") {
          if (ended && fromClient) break; // the client left: free it now
          await link.wake.wait(); // woken by pass(), reset(), close()
          continue;
        }
        const chunk = queue.shift();
        if (chunk === undefined) {
          if (ended) break;
          await link.wake.wait();
          continue;
        }
        try {
          let done = 0;
          while (done < chunk.length) {
            done += await dst.write(chunk.subarray(done));
          }
        } catch {
          break; // the peer is gone, or the link was closed under us
        }
        queued -= chunk.length;
        link.wake.notify();
      }
      link.close();
    };

    await Promise.all([reader(), writer()]);
  }
}
