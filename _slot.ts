// One object of a pool and what the pool knows of it, with its state as a
// small state machine: every change of state goes through `moveTo`, which
// refuses a change the pool's flow never makes (a bug of ours, caught where
// it happens rather than as a lost or doubly-closed object later).

/** Where an object stands in its pool. */
export const SlotState = {
  /** In the available stack, ready to hand out. */
  IDLE: 0,
  /** Handed out to a caller, in the lent map. */
  LENT: 1,
  /** In a hook (check, getter, retter, health): neither idle nor lent. */
  BUSY: 2,
  /** Left the pool for good; its closer has run or is running. */
  CLOSED: 3,
} as const;

/** One of the values of {@linkcode SlotState}. */
export type SlotState = typeof SlotState[keyof typeof SlotState];

const NAMES = ["IDLE", "LENT", "BUSY", "CLOSED"];

// ALLOWED[from] has bit `to` set for each state reachable from `from` (a
// bit mask: this check runs twice per round trip). A new object starts
// BUSY (it was just made); CLOSED is final.
const bits = (...states: SlotState[]) =>
  states.reduce<number>((mask, s) => mask | 1 << s, 0);
const ALLOWED: readonly number[] = [
  /* IDLE   */ bits(SlotState.LENT, SlotState.BUSY, SlotState.CLOSED),
  /* LENT   */ bits(SlotState.BUSY),
  /* BUSY   */ bits(SlotState.IDLE, SlotState.LENT, SlotState.CLOSED),
  /* CLOSED */ bits(),
];

/** An object and what the pool knows of it. */
export class Slot<T> {
  #state: SlotState = SlotState.BUSY;
  /** Times handed out. */
  uses = 0;
  /** When last handed out, on the pool's clock. */
  lastGet: number;
  /** When last returned (or created), on the pool's clock. */
  lastRet: number;
  /** Next slot holding the same object or equal primitive (_lent.ts). */
  dup: Slot<T> | undefined = undefined;
  /** Whether the lent map holds it as lent (_lent.ts). */
  lent = false;
  /** Whether the lent map finds it by its object already (_lent.ts). */
  known = false;
  /** Links of the lent map's list of lent slots (_lent.ts). */
  lentPrev: Slot<T> | undefined = undefined;
  lentNext: Slot<T> | undefined = undefined;

  constructor(
    /** The pooled object. */
    readonly obj: T,
    /** The number `fun` was called with: names the object in logs. */
    readonly n: number,
    /** When it was created, on the pool's clock. */
    readonly created: number,
    /** When it expires (maxLifetime), or Infinity. */
    readonly expires: number,
  ) {
    this.lastGet = created;
    this.lastRet = created;
  }

  /** Where the object stands now. */
  get state(): SlotState {
    return this.#state;
  }

  /**
   * Changes the state.
   *
   * @throws {Error} If the pool's flow never makes this change: a bug.
   */
  moveTo(next: SlotState): void {
    if ((ALLOWED[this.#state] & 1 << next) === 0) {
      throw new Error(
        `Internal error of the pool: object #${this.n} cannot go from ${
          NAMES[this.#state]
        } to ${NAMES[next]}`,
      );
    }
    this.#state = next;
  }
}
