// One timer for all the callers of a pool that wait with a timeout, instead
// of one timer each. In Deno a setTimeout and its clearTimeout cost about
// 2 µs together (a Node-compatible Timeout object and ops to track it), and
// a pool under pressure would pay them for every caller that waits.
//
// Callers of one pool mostly wait with the same timeout (the pool's), so
// their deadlines arrive in order. Those go to the back of a linked list,
// the lane, which stays sorted: adding and removing cost O(1). A deadline
// earlier than the lane's last (a caller with a shorter timeout) goes to a
// binary min-heap instead. Ties are broken by arrival. The earliest
// deadline is the lane's first or the heap's top, and the one timer is
// armed for it. A waiter served in time just leaves: the timer is not
// moved, so it may fire once for nothing and then re-arms for the new
// earliest deadline. It is cleared when no deadline is left: it keeps the
// process alive only while someone waits, as a caller's own timer would.
// (Keeping the deadline fields on the waiter itself, to save this small
// object, measured slower: every waiter then carries them.)
import { capDelay } from "./_timers.ts";

/** `Deadline.heapIndex` of a deadline in the lane. */
const IN_LANE = -2;
/** `Deadline.heapIndex` of a deadline no longer kept. */
const GONE = -1;

/** One caller's deadline, as the lane or the heap keeps it. */
export class Deadline<W> {
  /** Its place in the heap, or IN_LANE, or GONE. */
  heapIndex = GONE;
  /** Links of the lane, when in it. */
  prev: Deadline<W> | undefined = undefined;
  next: Deadline<W> | undefined = undefined;
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
  #laneHead: Deadline<W> | undefined = undefined;
  #laneTail: Deadline<W> | undefined = undefined;
  #laneSize = 0;
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
    return this.#laneSize + this.#heap.length;
  }

  /**
   * Adds `item`, to expire `timeout` ms after `now` (the caller's arrival,
   * on the `performance.now()` time line; the pool passes the stamp it took
   * anyway, so a waiter costs no extra clock read); returns its deadline.
   */
  add(item: W, timeout: number, now: number = performance.now()): Deadline<W> {
    const d = new Deadline(item, timeout, now + timeout, this.#seq++);
    const tail = this.#laneTail;
    if (tail === undefined || d.at >= tail.at) this.#appendToLane(d);
    else this.#pushToHeap(d);
    if (d.at < this.#armedFor) this.#arm(d.at, now);
    return d;
  }

  /** Removes `d`, if still present; clears the timer when none are left. */
  remove(d: Deadline<W>): void {
    const i = d.heapIndex;
    if (i === IN_LANE) this.#unlinkFromLane(d);
    else if (i >= 0) this.#removeFromHeap(d, i);
    else return;
    d.heapIndex = GONE;
    if (this.#laneSize === 0 && this.#heap.length === 0) this.#disarm();
  }

  // The earliest deadline kept (ties to the earlier arrival), if any.
  #earliest(): Deadline<W> | undefined {
    const first = this.#laneHead;
    const top = this.#heap[0];
    if (first === undefined) return top;
    if (top === undefined) return first;
    return this.#before(top, first) ? top : first;
  }

  #expireUntil(due: number): void {
    try {
      for (let d = this.#earliest(); d !== undefined && d.at <= due;) {
        this.remove(d);
        this.#onExpire(d.item);
        d = this.#earliest();
      }
    } finally {
      const next = this.#earliest();
      if (next !== undefined && this.#timer === undefined) {
        this.#arm(next.at, performance.now());
      }
    }
  }

  #appendToLane(d: Deadline<W>): void {
    d.heapIndex = IN_LANE;
    d.prev = this.#laneTail;
    if (this.#laneTail) this.#laneTail.next = d;
    else this.#laneHead = d;
    this.#laneTail = d;
    this.#laneSize++;
  }

  #unlinkFromLane(d: Deadline<W>): void {
    if (d.prev) d.prev.next = d.next;
    else this.#laneHead = d.next;
    if (d.next) d.next.prev = d.prev;
    else this.#laneTail = d.prev;
    d.prev = d.next = undefined;
    this.#laneSize--;
  }

  #pushToHeap(d: Deadline<W>): void {
    d.heapIndex = this.#heap.length;
    this.#heap.push(d);
    this.#siftUp(d.heapIndex);
  }

  #removeFromHeap(d: Deadline<W>, i: number): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (last !== d) {
      heap[i] = last;
      last.heapIndex = i;
      this.#siftDown(i);
      this.#siftUp(last.heapIndex);
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
