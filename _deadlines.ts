// One timer for all the callers of a pool that wait with a timeout, instead
// of one timer each. In Deno a setTimeout and its clearTimeout cost about
// 2 µs together (a Node-compatible Timeout object and ops to track it), and
// a pool under pressure would pay them for every caller that waits.
//
// Deadlines sit in a binary min-heap, ties broken by arrival, and the one
// timer is armed for the earliest. A waiter served in time just leaves the
// heap: the timer is not moved, so it may fire once for nothing and then
// re-arms for the new earliest deadline. It is cleared when the heap
// empties: it keeps the process alive only while someone waits, as a
// caller's own timer would.
import { capDelay } from "./_timers.ts";

/** One caller's deadline, as the heap keeps it. */
export class Deadline<W> {
  /** Its place in the heap, -1 once out of it. */
  heapIndex = -1;
  constructor(
    /** The waiter it is for. */
    readonly item: W,
    /** The caller's timeout in ms. */
    readonly timeout: number,
    /** When it times out, on the `performance.now()` time line. */
    readonly at: number,
    /** Arrival order, to break ties between equal deadlines. */
    readonly seq: number,
  ) {}
}

/** The deadlines of waiting callers, and the one timer that expires them. */
export class Deadlines<W> {
  readonly #heap: Deadline<W>[] = [];
  readonly #onExpire: (item: W) => void;
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The deadline the timer is armed for; Infinity when unarmed. */
  #armedFor = Infinity;
  /** When the timer fires, this time has passed: its deadline, or less. */
  #vouched = 0;
  readonly #fire = (): void => {
    // The timer vouches that its delay has passed, even if the clock read
    // now lags a fraction of a millisecond behind the timer's own.
    const due = Math.max(performance.now(), this.#vouched);
    this.#timer = undefined;
    this.#armedFor = Infinity;
    this.#expireUntil(due);
  };

  /** `onExpire` is called with each item whose deadline passed. */
  constructor(onExpire: (item: W) => void) {
    this.#onExpire = onExpire;
  }

  /** How many deadlines are pending. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * Adds `item`, to expire `timeout` ms after `now` (the caller's arrival,
   * on the `performance.now()` time line; the pool passes the stamp it took
   * anyway, so a waiter costs no extra clock read); returns its deadline.
   */
  add(item: W, timeout: number, now: number = performance.now()): Deadline<W> {
    const d = new Deadline(item, timeout, now + timeout, this.#seq++);
    d.heapIndex = this.#heap.length;
    this.#heap.push(d);
    this.#siftUp(d.heapIndex);
    if (d.at < this.#armedFor) this.#arm(d.at, now);
    return d;
  }

  /** Removes `d`, if still present; clears the timer when none are left. */
  remove(d: Deadline<W>): void {
    const i = d.heapIndex;
    if (i < 0) return;
    d.heapIndex = -1;
    const heap = this.#heap;
    const last = heap.pop()!;
    if (last !== d) {
      heap[i] = last;
      last.heapIndex = i;
      this.#siftDown(i);
      this.#siftUp(last.heapIndex);
    }
    if (heap.length === 0) this.#disarm();
  }

  #expireUntil(due: number): void {
    const heap = this.#heap;
    try {
      while (heap.length > 0 && heap[0].at <= due) {
        const d = heap[0];
        this.remove(d);
        this.#onExpire(d.item);
      }
    } finally {
      if (heap.length > 0 && this.#timer === undefined) {
        this.#arm(heap[0].at, performance.now());
      }
    }
  }

  #arm(deadline: number, now: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    // Never early: a timer may round its delay down. A deadline beyond the
    // longest timer delay takes several timers.
    const delay = capDelay(Math.max(0, Math.ceil(deadline - now)));
    this.#vouched = now + delay;
    this.#timer = setTimeout(this.#fire, delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #before(a: Deadline<W>, b: Deadline<W>): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #siftUp(i: number): void {
    const heap = this.#heap;
    const w = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent];
      if (!this.#before(w, p)) break;
      heap[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    heap[i] = w;
    w.heapIndex = i;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const w = heap[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#before(heap[right], heap[left])
        ? right
        : left;
      const c = heap[child];
      if (!this.#before(c, w)) break;
      heap[i] = c;
      c.heapIndex = i;
      i = child;
    }
    heap[i] = w;
    w.heapIndex = i;
  }
}
