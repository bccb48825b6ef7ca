import { assertEquals, assertThrows } from "@std/assert";
import { Slot, SlotState } from "./_slot.ts";

const { IDLE, LENT, BUSY, CLOSED } = SlotState;

Deno.test("Slot starts BUSY and follows the pool's flow", () => {
  const slot = new Slot({}, 0, 0, Infinity);
  assertEquals(slot.state, BUSY); // just created, opener done
  slot.moveTo(IDLE); // made available
  slot.moveTo(LENT); // handed out
  slot.moveTo(BUSY); // returned, retter running
  slot.moveTo(LENT); // handed to a waiter after its getter
  slot.moveTo(BUSY); // taken back after maxUsingDelayKill
  slot.moveTo(CLOSED); // and closed
  assertEquals(slot.state, CLOSED);
});

Deno.test("Slot refuses changes the pool never makes, naming them", () => {
  const cases: [SlotState[], SlotState, string][] = [
    [[IDLE], IDLE, "from IDLE to IDLE"],
    [[LENT], LENT, "from LENT to LENT"],
    [[LENT], IDLE, "from LENT to IDLE"],
    [[LENT], CLOSED, "from LENT to CLOSED"],
    [[CLOSED], IDLE, "from CLOSED to IDLE"],
    [[CLOSED], CLOSED, "from CLOSED to CLOSED"],
    [[], BUSY, "from BUSY to BUSY"],
  ];
  for (const [path, next, message] of cases) {
    const slot = new Slot({}, 7, 0, Infinity);
    for (const state of path) slot.moveTo(state);
    assertThrows(
      () => slot.moveTo(next),
      Error,
      `Internal error of the pool: object #7 cannot go ${message}`,
    );
  }
});
