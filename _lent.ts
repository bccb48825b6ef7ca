// The objects a pool has lent, found by the object itself. A Map keyed by
// object gives identity for free, but equal primitives (`fun = () => "x"`)
// are one key: each key maps to the first lent slot of that value, and
// further slots with an equal value hang off it in a chain (`slot.dup`).
// Objects (the usual case) never have a chain.
import type { Slot } from "./_slot.ts";

/** Lent slots by object, equal primitives chained. */
export class LentMap<T> {
  readonly #heads = new Map<T, Slot<T>>();
  #size = 0;

  /** How many slots are lent (chained ones included). */
  get size(): number {
    return this.#size;
  }

  /** The first lent slot holding `obj`, if any. */
  get(obj: T): Slot<T> | undefined {
    return this.#heads.get(obj);
  }

  /** Adds a slot. */
  add(slot: Slot<T>): void {
    this.#size++;
    const head = this.#heads.get(slot.obj);
    if (head !== undefined) slot.dup = head;
    this.#heads.set(slot.obj, slot);
  }

  /**
   * Removes a lent slot wherever it stands in its chain; `head` is the
   * chain's first slot when the caller looked it up already.
   */
  delete(slot: Slot<T>, head: Slot<T> = this.#heads.get(slot.obj)!): void {
    this.#size--;
    if (head === slot) {
      if (slot.dup === undefined) this.#heads.delete(slot.obj);
      else this.#heads.set(slot.obj, slot.dup);
    } else {
      let prev = head;
      while (prev.dup !== slot) prev = prev.dup!;
      prev.dup = slot.dup;
    }
    slot.dup = undefined;
  }

  /** Every lent slot, chained ones included; a copy, safe to delete from. */
  slots(): Slot<T>[] {
    const slots: Slot<T>[] = [];
    for (const head of this.#heads.values()) {
      for (let s: Slot<T> | undefined = head; s; s = s.dup) slots.push(s);
    }
    return slots;
  }
}
