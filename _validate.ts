// Eager validation of options, with std-style messages: what, why, then
// the value ("Cannot create pool as 'maxSize' must be a non-negative
// integer: current value is -1").

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

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
  return value;
}

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
