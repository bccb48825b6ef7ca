// Eager validation of options, with std-style messages: what, why, then
// the value ("Cannot create pool as 'maxSize' must be a non-negative
// integer: current value is -1").

/** A non-negative (or >= `min`) integer. */
export function checkInteger(
  name: string,
  value: unknown,
  min: number,
  action = "create pool",
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a number: current value is ${
        show(value)
      }`,
    );
  }
  if (!Number.isInteger(value) || value < min) {
    const what = min === 0 ? "a non-negative integer" : `an integer >= ${min}`;
    throw new RangeError(
      `Cannot ${action} as '${name}' must be ${what}: current value is ${value}`,
    );
  }
  if (value > MAX_COUNT) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be at most ${MAX_COUNT} (2^31 - 1): current value is ${value}`,
    );
  }
  return value;
}

/** The largest size or count taken: larger ones would loop for ever. */
export const MAX_COUNT = 2 ** 31 - 1;

/** A non-negative finite duration in milliseconds. */
export function checkMillis(
  name: string,
  value: unknown,
  action = "create pool",
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a number of milliseconds: current value is ${
        show(value)
      }`,
    );
  }
  if (!(value >= 0) || value === Infinity) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a finite non-negative number of milliseconds: current value is ${value}`,
    );
  }
  if (value > 0 && value < 1) {
    // a timer rounds it to 0 or 1 ms: a sub-millisecond limit or delay
    // would fire at once, again and again
    throw new RangeError(
      `Cannot ${action} as '${name}' must be 0 or at least 1 millisecond: current value is ${value}`,
    );
  }
  return value;
}

/** `undefined` (wait forever), or a non-negative duration (may be Infinity). */
export function checkOptionalMillis(
  name: string,
  value: unknown,
  action = "create pool",
): number | undefined {
  if (value === undefined || value === Infinity) return value;
  return checkMillis(name, value, action);
}

/**
 * A bound on how long the pool waits for a hook: at least 1 ms (a limit of
 * 0 would fail every hook that does not answer synchronously), or
 * `Infinity` to wait forever.
 */
export function checkLimit(
  name: string,
  value: unknown,
  action = "create pool",
): number {
  if (value === Infinity) return value;
  const ms = checkMillis(name, value, action);
  if (ms === 0) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be at least 1 millisecond, or Infinity to wait forever: current value is 0`,
    );
  }
  return ms;
}

/** A function, or `undefined` when not `required`. */
export function checkFunction(
  name: string,
  value: unknown,
  required = false,
  action = "create pool",
): ((...args: never[]) => unknown) | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== "function") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a function: current value is ${
        show(value)
      }`,
    );
  }
  return value as (...args: never[]) => unknown;
}

/** Refuses options that are not an object (`null` included). */
export function checkObject(
  options: unknown,
  action: string,
): asserts options is object {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${action} as 'options' must be an object: current value is ${
        String(options)
      }`,
    );
  }
}

/**
 * Refuses option names not in `known`, naming the nearest known one: a
 * misspelt option silently ignored is worse than an error at once.
 */
export function checkKnown(
  options: object,
  known: ReadonlySet<string>,
  action: string,
): void {
  for (const key of Object.keys(options)) {
    if (known.has(key)) continue;
    const near = nearest(key, known);
    throw new TypeError(
      `Cannot ${action} as '${key}' is not an option${
        near === undefined ? "" : `: did you mean '${near}'?`
      }`,
    );
  }
}

// The known name closest to `name` (case-insensitive edit distance), if any
// is close enough to be what was meant.
function nearest(name: string, known: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        prev[j] + 1,
        row[j - 1] + 1,
        prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length];
}

/** An `AbortSignal`, or `undefined`. */
export function checkSignal(value: unknown, action: string): void {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${action} as 'signal' must be an AbortSignal: current value is ${
        show(value)
      }`,
    );
  }
}

// A short, safe description of any value for an error message: never a
// function's source, never a throw on a Symbol.
export function show(value: unknown): string {
  if (typeof value === "function") {
    return `a function ${value.name || ""}`.trim();
  }
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "bigint") return `${value}n`;
  if (value !== null && typeof value === "object") {
    return Object.prototype.toString.call(value);
  }
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
