import { assert, assertEquals } from "@std/assert";
import { poolChart, type PoolSample, sparkline } from "./demo.ts";

Deno.test("sparkline() draws each slice's peak from blank to full, and repeats a cell over an empty slice", () => {
  const points = [
    { t: 0, v: 0 },
    { t: 1, v: 4 },
    { t: 2, v: 8 },
    // nothing between 2 and 8: those cells repeat the last peak
    { t: 8, v: 1 },
  ];
  // four slices of 2: peaks 4, 8, none (repeats 8), 1
  assertEquals(sparkline(points, 4, 8), "▄██▁");
  // eight slices of 1: zero is blank, the peak fills its cell, the gap
  // repeats it, the last point is 1 of 8
  assertEquals(sparkline(points, 8, 8), " ▄█████▁");
  assertEquals(sparkline([], 5, 10), "     ");
  assertEquals(sparkline([{ t: 0, v: 3 }], 3, 0), "   "); // no scale: blank
});

Deno.test("poolChart() labels its three rows with their min and max, within the given width", () => {
  const samples: PoolSample[] = Array.from({ length: 50 }, (_, i) => ({
    t: i * 20,
    nusing: Math.min(8, i),
    nwaiting: i < 25 ? i * 2 : 0,
    waitP99: i === 0 ? null : i / 2,
  }));
  const lines = poolChart(samples, { maxSize: 8, columns: 78 });
  const row = (label: string) =>
    lines.find((l) => l.trimStart().startsWith(label));
  for (const label of ["in use", "waiting", "wait p99"]) {
    assert(
      row(label) !== undefined,
      `no "${label}" row in:\n${lines.join("\n")}`,
    );
  }
  assert(row("in use")!.trimEnd().endsWith("0     8"), row("in use"));
  assert(row("waiting")!.includes("48"), row("waiting"));
  assert(row("wait p99")!.includes("24.5 ms"), row("wait p99"));
  for (const line of lines) assert(line.length <= 78, `too wide: ${line}`);
  assert(lines.at(-1)!.includes("0.98 s"), lines.at(-1)); // the time axis
});
