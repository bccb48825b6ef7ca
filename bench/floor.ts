/**
 * The "floor" of the benchmarks: the least a correct async pool must do,
 * with nothing of ours in it. `bench/main.ts` (`deno task bench`) and
 * `bench/pool_bench.ts` (`deno bench`) measure our `Pool` and the npm pools
 * against it, so "× floor" in their tables reads as "how close to
 * the minimum cost of pooling". Not published; not part of the library.
 *
 * The scenarios that use it (named S1..S4 in the tables; S5 is about the
 * Proxy and does not use it):
 * - S1: one caller, get + ret in a loop, the pool filled first (maxSize 10);
 * - S2: 100 workers each doing get / `await null` / ret until the ops are
 *   done, on a filled pool of maxSize 10 (waiters and direct handoff);
 * - S3: maxSize 2, both objects held, many gets with a 1 ms timeout that all
 *   time out, then both objects given back and handed out again;
 * - S4: heap growth across many S1-style round trips, after gc.
 *
 * @module
 */

/** A caller of {@linkcode FloorPool.prototype.acquire} waiting in line. */
class FloorWaiter<T> {
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  prev: FloorWaiter<T> | undefined = undefined;
  next: FloorWaiter<T> | undefined = undefined;
  constructor(
    readonly resolve: (obj: T) => void,
    readonly reject: (err: Error) => void,
  ) {}
}

/**
 * A minimal correct async pool: a stack of free objects, FIFO waiters with
 * direct handoff and a per-acquire timeout that withdraws the waiter from
 * the queue, a max bound, and a `Set` of lent objects that refuses double
 * returns. No stats, hooks, timestamps or housekeeping.
 */
export class FloorPool<T> {
  readonly #create: () => T;
  readonly #max: number;
  #size = 0;
  readonly #free: T[] = [];
  readonly #lent = new Set<T>();
  #head: FloorWaiter<T> | undefined = undefined;
  #tail: FloorWaiter<T> | undefined = undefined;

  constructor(create: () => T, max: number) {
    this.#create = create;
    this.#max = max;
  }

  /** Borrows an object, waiting at most `timeout` ms if given. */
  acquire(timeout?: number): Promise<T> {
    if (this.#head === undefined) {
      if (this.#free.length > 0) {
        const obj = this.#free.pop()!;
        this.#lent.add(obj);
        return Promise.resolve(obj);
      }
      if (this.#size < this.#max) {
        this.#size++;
        const obj = this.#create();
        this.#lent.add(obj);
        return Promise.resolve(obj);
      }
    }
    return new Promise<T>((resolve, reject) => {
      const w = new FloorWaiter<T>(resolve, reject);
      w.prev = this.#tail;
      if (this.#tail === undefined) this.#head = w;
      else this.#tail.next = w;
      this.#tail = w;
      if (timeout !== undefined) {
        w.timer = setTimeout(() => {
          this.#unlink(w);
          reject(new Error(`no object within ${timeout} ms`));
        }, timeout);
      }
    });
  }

  /** Gives an object back; false (and nothing else) if it was not lent. */
  release(obj: T): boolean {
    if (!this.#lent.has(obj)) return false;
    const w = this.#head;
    if (w === undefined) {
      this.#lent.delete(obj);
      this.#free.push(obj);
    } else {
      this.#unlink(w);
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.resolve(obj); // stays in #lent: handed straight to the next caller
    }
    return true;
  }

  #unlink(w: FloorWaiter<T>): void {
    if (w.prev === undefined) this.#head = w.next;
    else w.prev.next = w.next;
    if (w.next === undefined) this.#tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = undefined;
  }
}
