import { assertEquals, assertStrictEquals } from "@std/assert";
import { Signals, type Watcher } from "./_signals.ts";
import { spyAbortListeners } from "./_testing.ts";

// A waiter as Signals sees it, with a name to tell them apart.
class W implements Watcher {
  signal: AbortSignal | undefined = undefined;
  constructor(readonly name: string) {}
}

Deno.test("Signals adds one listener per signal, however many watch it", () => {
  const signals = new Signals<W>(() => {});
  const controller = new AbortController();
  const listeners = spyAbortListeners(controller.signal);
  const ws = Array.from({ length: 1_000 }, (_, i) => new W(`w${i}`));
  for (const w of ws) signals.watch(controller.signal, w);
  assertEquals(listeners.added.length, 1);
  assertEquals(signals.size, 1);
  assertStrictEquals(ws[0].signal, controller.signal);
});

Deno.test("Signals tells every watcher of an aborted signal, once each, in the order they came", () => {
  const told: string[] = [];
  const signals = new Signals<W>((w) => told.push(w.name));
  const controller = new AbortController();
  for (const name of ["a", "b", "c"]) {
    signals.watch(controller.signal, new W(name));
  }
  controller.abort();
  assertEquals(told, ["a", "b", "c"]);
  assertEquals(signals.size, 0);
  controller.signal.dispatchEvent(new Event("abort")); // a second event
  assertEquals(told, ["a", "b", "c"]);
});

Deno.test("Signals tells every watcher even when each unwatches itself as it is told", () => {
  const told: string[] = [];
  const signals: Signals<W> = new Signals<W>((w) => {
    told.push(w.name);
    signals.unwatch(w); // as the pool does, through #detach
  });
  const controller = new AbortController();
  const listeners = spyAbortListeners(controller.signal);
  for (const name of ["a", "b", "c", "d"]) {
    signals.watch(controller.signal, new W(name));
  }
  controller.abort();
  assertEquals(told, ["a", "b", "c", "d"]);
  // the once-listener is gone with the event: nothing to remove
  assertEquals(listeners.removed, []);
  assertEquals(signals.size, 0);
});

Deno.test("Signals removes a signal's listener with its last watcher, not before", () => {
  const told: string[] = [];
  const signals = new Signals<W>((w) => told.push(w.name));
  const controller = new AbortController();
  const listeners = spyAbortListeners(controller.signal);
  const a = new W("a");
  const b = new W("b");
  signals.watch(controller.signal, a);
  signals.watch(controller.signal, b);
  signals.unwatch(a);
  assertEquals(listeners.removed, []);
  assertEquals(signals.size, 1);
  signals.unwatch(b);
  assertEquals(listeners.removed, listeners.added);
  assertEquals(signals.size, 0);
  controller.abort();
  assertEquals(told, []);
});

Deno.test("Signals tells only the watchers still there", () => {
  const told: string[] = [];
  const signals = new Signals<W>((w) => told.push(w.name));
  const controller = new AbortController();
  const [a, b, c] = [new W("a"), new W("b"), new W("c")];
  for (const w of [a, b, c]) signals.watch(controller.signal, w);
  signals.unwatch(b);
  controller.abort();
  assertEquals(told, ["a", "c"]);
});

Deno.test("Signals.unwatch() of a watcher never watched, or already gone, changes nothing", () => {
  const told: string[] = [];
  const signals = new Signals<W>((w) => told.push(w.name));
  const controller = new AbortController();
  const listeners = spyAbortListeners(controller.signal);
  const a = new W("a");
  signals.watch(controller.signal, a);
  signals.unwatch(new W("never watched"));
  const stranger = new W("watched elsewhere");
  stranger.signal = controller.signal; // names the signal, not in the set
  signals.unwatch(stranger);
  assertEquals(listeners.removed, []);
  const b = new W("b");
  signals.watch(controller.signal, b);
  signals.unwatch(b);
  signals.unwatch(b); // twice
  assertEquals(listeners.removed, []);
  assertEquals(signals.size, 1);
  controller.abort();
  assertEquals(told, ["a"]);
  signals.unwatch(a); // after the abort
  assertEquals(listeners.removed, []);
});

Deno.test("Signals gives each signal its own listener; aborting one tells only its watchers", () => {
  const told: string[] = [];
  const signals = new Signals<W>((w) => told.push(w.name));
  const first = new AbortController();
  const second = new AbortController();
  const spy1 = spyAbortListeners(first.signal);
  const spy2 = spyAbortListeners(second.signal);
  signals.watch(first.signal, new W("a1"));
  signals.watch(second.signal, new W("b1"));
  signals.watch(first.signal, new W("a2"));
  signals.watch(second.signal, new W("b2"));
  assertEquals([spy1.added.length, spy2.added.length, signals.size], [1, 1, 2]);
  first.abort();
  assertEquals(told, ["a1", "a2"]);
  assertEquals(signals.size, 1);
  assertEquals(spy2.removed, []);
  second.abort();
  assertEquals(told, ["a1", "a2", "b1", "b2"]);
  assertEquals(signals.size, 0);
});

Deno.test("Signals adds a new listener when a signal is watched again after its last watcher left", () => {
  const told: string[] = [];
  const signals = new Signals<W>((w) => told.push(w.name));
  const controller = new AbortController();
  const listeners = spyAbortListeners(controller.signal);
  const a = new W("a");
  signals.watch(controller.signal, a);
  signals.unwatch(a);
  const b = new W("b");
  signals.watch(controller.signal, b);
  assertEquals([listeners.added.length, listeners.removed.length], [2, 1]);
  controller.abort();
  assertEquals(told, ["b"]);
});
