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

/** What the heap orders: a waiter, with fields the heap owns. */
export interface Timed {
  /** When it times out, on the `performance.now()` time line. */
  deadline: number;
  /** Arrival order, to break ties between equal deadlines. */
  seq: number;
  /** Its place in the heap, -1 when not in it. */
  heapIndex: number;
}

/** The deadlines of waiting callers, and the one timer that expires them. */
export class Deadlines<W extends Timed> {
  readonly #heap: W[] = [];
  readonly #onExpire: (w: W) => void;
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The deadline the timer is armed for; Infinity when unarmed. */
  #armedFor = Infinity;
  readonly #fire = (): void => {
    // The timer vouches that its deadline has passed, even if the clock
    // read now lags a fraction of a millisecond behind the timer's own.
    const due = Math.max(performance.now(), this.#armedFor);
    this.#timer = undefined;
    this.#armedFor = Infinity;
    this.#expireUntil(due);
  };

  /** `onExpire` is called with each waiter whose deadline passed. */
  constructor(onExpire: (w: W) => void) {
    this.#onExpire = onExpire;
  }

  /** How many deadlines are pending. */
  get size(): number {
    return this.#heap.length;
  }

  /** Adds `w`, to expire `timeout` ms from now. */
  add(w: W, timeout: number): void {
    const now = performance.now();
    w.deadline = now + timeout;
    w.seq = this.#seq++;
    w.heapIndex = this.#heap.length;
    this.#heap.push(w);
    this.#siftUp(w.heapIndex);
    if (w.deadline < this.#armedFor) this.#arm(w.deadline, now);
  }

  /** Removes `w`, if present; clears the timer when none are left. */
  remove(w: W): void {
    const i = w.heapIndex;
    if (i < 0) return;
    w.heapIndex = -1;
    const heap = this.#heap;
    const last = heap.pop()!;
    if (last !== w) {
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
      while (heap.length > 0 && heap[0].deadline <= due) {
        const w = heap[0];
        this.remove(w);
        this.#onExpire(w);
      }
    } finally {
      if (heap.length > 0 && this.#timer === undefined) {
        this.#arm(heap[0].deadline, performance.now());
      }
    }
  }

  #arm(deadline: number, now: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    // never early: a timer may round its delay down
    this.#timer = setTimeout(
      this.#fire,
      Math.max(0, Math.ceil(deadline - now)),
    );
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #before(a: W, b: W): boolean {
    return a.deadline < b.deadline ||
      (a.deadline === b.deadline && a.seq < b.seq);
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
