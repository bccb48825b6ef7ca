// A first-in first-out queue of callers waiting for an object. Doubly
// linked so that a waiter that times out or is aborted leaves the queue at
// once, in O(1), wherever it stands (tarn.js keeps an array and filters).
import type { Deadline } from "./_deadlines.ts";

/** One caller of `Pool.get()` that has no object yet. */
export class Waiter<T> {
  /** Settles the caller's promise with an object. */
  resolve!: (obj: T) => void;
  /** Settles the caller's promise with an error. */
  reject!: (reason: unknown) => void;
  /** The promise the caller awaits. */
  readonly promise: Promise<T>;
  /** True once the caller's promise is settled: it wants nothing more. */
  settled = false;
  /** When the wait began, in `performance.now()` milliseconds. */
  readonly since: number;
  /** The caller's deadline, if it has a timeout. */
  deadline: Deadline<Waiter<T>> | undefined = undefined;
  /** The caller's signal, watched until the waiter settles. */
  signal: AbortSignal | undefined = undefined;
  /** A caller with timeout 0: never queued, even after a failed check. */
  noQueue = false;
  /** Links of the queue; both undefined when not queued. */
  prev: Waiter<T> | undefined = undefined;
  next: Waiter<T> | undefined = undefined;
  queued = false;

  constructor(since: number) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.since = since;
  }
}

/** FIFO of waiters with O(1) removal from anywhere. */
export class WaiterQueue<T> {
  #head: Waiter<T> | undefined = undefined;
  #tail: Waiter<T> | undefined = undefined;
  #size = 0;

  /** How many waiters are queued. */
  get size(): number {
    return this.#size;
  }

  /** Appends a waiter at the back. */
  push(w: Waiter<T>): void {
    w.prev = this.#tail;
    w.next = undefined;
    if (this.#tail) this.#tail.next = w;
    else this.#head = w;
    this.#tail = w;
    w.queued = true;
    this.#size++;
  }

  /** Puts a waiter back at the front (it was served, then lost its object). */
  unshift(w: Waiter<T>): void {
    w.next = this.#head;
    w.prev = undefined;
    if (this.#head) this.#head.prev = w;
    else this.#tail = w;
    this.#head = w;
    w.queued = true;
    this.#size++;
  }

  /** Removes and returns the oldest waiter, if any. */
  shift(): Waiter<T> | undefined {
    const w = this.#head;
    if (w) this.remove(w);
    return w;
  }

  /** Removes a waiter from wherever it stands; no-op if not queued. */
  remove(w: Waiter<T>): void {
    if (!w.queued) return;
    if (w.prev) w.prev.next = w.next;
    else this.#head = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.#tail = w.prev;
    w.prev = w.next = undefined;
    w.queued = false;
    this.#size--;
  }
}
