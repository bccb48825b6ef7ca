// The objects a pool has lent, found by the object itself on return.
//
// Objects (the usual case) are found through a WeakMap from the object to
// its slot, written once, when the slot is first lent, and left alone
// after: lending and returning then only flip a flag and link the slot
// into a list, with no hash table written per round trip (a Map set and
// delete per round trip, and the rehashing their holes cause, were a sixth
// of a round trip). Several slots may hold the same object (a `fun` that
// returns one object twice): they chain off the first (`slot.dup`).
//
// Equal primitives (`fun = () => "x"`) cannot key a WeakMap: a Map from
// the value to its lent slots, chained the same way, holds them while lent.
import type { Slot } from "./_slot.ts";

/** Lent slots by object, equal values chained. */
export class LentMap<T> {
  readonly #objects = new WeakMap<WeakKey, Slot<T>>();
  readonly #values = new Map<T, Slot<T>>();
  // the lent slots in lending order, doubly linked through slot.lentPrev
  // and slot.lentNext
  #first: Slot<T> | undefined = undefined;
  #last: Slot<T> | undefined = undefined;
  #size = 0;

  /** How many slots are lent (chained ones included). */
  get size(): number {
    return this.#size;
  }

  /** A lent slot holding `obj`, if any. */
  get(obj: T): Slot<T> | undefined {
    let slot = isWeakKey(obj) ? this.#objects.get(obj) : this.#values.get(obj);
    while (slot !== undefined && !slot.lent) slot = slot.dup;
    return slot;
  }

  /** Adds a slot. */
  add(slot: Slot<T>): void {
    if (!slot.known) this.#learn(slot);
    slot.lent = true;
    slot.lentPrev = this.#last;
    slot.lentNext = undefined;
    if (this.#last !== undefined) this.#last.lentNext = slot;
    else this.#first = slot;
    this.#last = slot;
    this.#size++;
  }

  /** Removes a lent slot. */
  delete(slot: Slot<T>): void {
    if (!slot.lent) return;
    slot.lent = false;
    const { lentPrev, lentNext } = slot;
    if (lentPrev !== undefined) lentPrev.lentNext = lentNext;
    else this.#first = lentNext;
    if (lentNext !== undefined) lentNext.lentPrev = lentPrev;
    else this.#last = lentPrev;
    slot.lentPrev = slot.lentNext = undefined;
    this.#size--;
    if (!isWeakKey(slot.obj)) this.#unlink(this.#values, slot);
  }

  /**
   * Forgets a slot for good (its object is closed): it is no longer found
   * by its object.
   */
  forget(slot: Slot<T>): void {
    this.delete(slot);
    if (slot.known && isWeakKey(slot.obj)) this.#unlink(this.#objects, slot);
    slot.known = false;
  }

  /** Every lent slot, in lending order; a copy, safe to delete from. */
  slots(): Slot<T>[] {
    const slots: Slot<T>[] = [];
    for (let s = this.#first; s !== undefined; s = s.lentNext) slots.push(s);
    return slots;
  }

  // Makes `slot` findable by its object: an object's slots are registered
  // once (until forgotten); a primitive's while lent.
  #learn(slot: Slot<T>): void {
    const obj = slot.obj;
    if (isWeakKey(obj)) {
      slot.known = true;
      this.#chain(this.#objects, obj, slot);
    } else {
      this.#chain(this.#values, obj, slot);
    }
  }

  #chain<K>(table: Table<K, T>, key: K, slot: Slot<T>): void {
    const head = table.get(key);
    slot.dup = head;
    table.set(key, slot);
  }

  #unlink<K>(table: Table<K, T>, slot: Slot<T>): void {
    const key = slot.obj as unknown as K;
    const head = table.get(key);
    if (head === slot) {
      if (slot.dup === undefined) table.delete(key);
      else table.set(key, slot.dup);
    } else if (head !== undefined) {
      let prev = head;
      while (prev.dup !== undefined && prev.dup !== slot) prev = prev.dup;
      if (prev.dup === slot) prev.dup = slot.dup;
    }
    slot.dup = undefined;
  }
}

/** The Map or WeakMap behind a LentMap, as the chains use it. */
interface Table<K, T> {
  get(key: K): Slot<T> | undefined;
  set(key: K, slot: Slot<T>): unknown;
  delete(key: K): boolean;
}

/** Whether `value` can key a WeakMap (objects and functions). */
export function isWeakKey(value: unknown): value is WeakKey {
  return typeof value === "object" && value !== null ||
    typeof value === "function";
}
