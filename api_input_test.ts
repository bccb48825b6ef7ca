// Junk at every public entry point: a property-based probe (fast-check) and
// targeted cases for `new Pool(x)`, `get`, `lease`, `use`, `ret`, `resize`,
// `shutdown`, `new Proxy(x)`, the proxy's setters and control members, and
// `scoped(x)`.
//
// The contract under test (README, "Options" and "Errors"):
//
// - no input to a public method may crash the process later, from a timer
//   or a rejection nobody holds (recorded from "unhandledrejection");
// - bad input is refused at once (synchronously, or as the returned
//   promise's rejection, well within 100 ms) with a TypeError or a
//   RangeError whose message names the option in quotes; a refusal for the
//   object's state (a proxy not set yet, a pool already shut down) may be a
//   PPPError; anything else is a wrong error class;
// - valid input settles normally; bad input is never silently accepted,
//   and never leaves an object lent that nobody holds;
// - an unknown option name is refused with the nearest valid name;
// - after each call the pool still lends and takes back an object, and
//   shutdown leaves no timer (the ops sanitizer of deno.json).
//
// Two kinds of junk run code of the caller's own:
//
// - a *hostile value* (toString, valueOf and Symbol.toPrimitive throw): a
//   library that checks a value's type never converts it (show() in
//   _validate.ts describes any value without running its code), so its
//   HostileError must never come out;
// - a *trap proxy* (a JS Proxy whose every trap throws): merely reading it
//   runs the caller's code, so its HostileError may come out, at once.
//
// Each test collects every violation and fails with the list (call, input,
// what happened, what the contract wants), grouped so that one cause shows
// once with a count. The properties use a fixed seed: PPP_FC_SEED and
// PPP_FC_RUNS change the seed and the number of runs.
import fc from "fast-check";
import { assertEquals, AssertionError } from "@std/assert";
import { delay } from "@std/async/delay";
import { Lease, Pool, PPPError, Proxy, scoped, TimeoutError } from "./mod.ts";
import { POOL_OPTIONS } from "./_options.ts";

// ---- bookkeeping

/** Every rejection nobody handled while a test of this file ran. */
const unhandled: unknown[] = [];

/**
 * Runs `body` recording unhandled rejections instead of crashing; only for
 * its duration, so that the other test files still crash on theirs.
 */
async function recordingUnhandled(body: () => Promise<void>): Promise<void> {
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    unhandled.push(e.reason);
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  try {
    await body();
    await turns();
  } finally {
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
}

/** Lets rejections without a handler surface as events. */
async function turns(): Promise<void> {
  await delay(0);
  await delay(0);
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return fc.stringify(value);
  } catch {
    return "<unprintable>";
  }
}

/**
 * A call with its junk value left out, keeping the option's name:
 * `new Pool({ fun, maxLifetime: 10n })` gives `new Pool(maxLifetime)`.
 */
function abstract(call: string): string {
  const open = call.indexOf("(");
  if (open < 0) return call;
  const key = /^\(\{ (?:fun, |obj, )?(\w+):/.exec(call.slice(open))?.[1] ??
    "…";
  return `${call.slice(0, open)}(${key})${
    call.slice(call.lastIndexOf(")") + 1)
  }`;
}

/** The violations of one test, grouped by cause. */
class Findings {
  readonly #groups = new Map<string, string[]>();
  #samples = 0;
  #count = 0;

  /** `quiet`: print no sample messages (a property's many runs). */
  constructor(readonly quiet = false) {}

  /**
   * Records a violation; `cause` groups it with others of the same call
   * and option (the junk value abstracted away).
   */
  add(call: string, what: string, cause = what): void {
    this.#count++;
    const group = `${abstract(call)}|${cause}`;
    const lines = this.#groups.get(group) ?? [];
    lines.push(`${call} → ${what}`);
    this.#groups.set(group, lines);
  }

  /** Prints the message of a few refusals (they should name the option). */
  sample(call: string, error: unknown): void {
    if (!this.quiet && this.#samples++ < 3) {
      console.log(`  ${call} → ${describe(error)}`);
    }
  }

  get count(): number {
    return this.#count;
  }

  check(): void {
    if (this.#count === 0) return;
    const text: string[] = [];
    for (const lines of this.#groups.values()) {
      text.push(`- ${lines[0]}`);
      if (lines.length > 1) {
        text.push(`  (and ${lines.length - 1} more like it)`);
      }
    }
    throw new AssertionError(
      `${this.#count} contract violations in ${this.#groups.size} groups:\n${
        text.join("\n")
      }`,
    );
  }
}

/**
 * A test that collects findings, and fails with them and with any
 * rejection left unhandled while it ran.
 */
function probe(name: string, body: (f: Findings) => Promise<void>): void {
  Deno.test(name, async () => {
    const f = new Findings();
    const seen = unhandled.length;
    await recordingUnhandled(() => body(f));
    for (const reason of unhandled.slice(seen)) {
      f.add(
        "(a timer or a dropped promise)",
        `unhandled rejection: ${describe(reason)}`,
      );
    }
    f.check();
  });
}

// ---- junk

class HostileError extends Error {
  override name = "HostileError";
}

const TRAPS = new WeakSet<object>();

function isTrap(value: unknown): boolean {
  return typeof value === "object" && value !== null && TRAPS.has(value);
}

/** An object whose conversions throw: a type check never runs them. */
function hostileValue(): object {
  const boom = (): never => {
    throw new HostileError(
      "the library converted a value it should have type-checked",
    );
  };
  return {
    toString: boom,
    valueOf: boom,
    [Symbol.toPrimitive]: boom,
    [fc.toStringMethod]: () => "hostileValue()",
  };
}

/** A JS Proxy whose every trap throws. */
function trapProxy(): object {
  const boom = (trap: string) => (): never => {
    throw new HostileError(`trap '${trap}' of the caller's JS Proxy`);
  };
  const proxy = new globalThis.Proxy({}, {
    get: boom("get"),
    set: boom("set"),
    has: boom("has"),
    ownKeys: boom("ownKeys"),
    getOwnPropertyDescriptor: boom("getOwnPropertyDescriptor"),
    defineProperty: boom("defineProperty"),
    deleteProperty: boom("deleteProperty"),
    getPrototypeOf: boom("getPrototypeOf"),
  });
  TRAPS.add(proxy);
  return proxy;
}

type Obj = { n: number };
const FUN = (n: number): Obj => ({ n });
const JUNK_FN = () => true;
class JunkClass {}
const ABORT_REASON = new Error("aborted by the test");
const ABORTED = AbortSignal.abort(ABORT_REASON);
const LIVE_SIGNAL = new AbortController().signal;

interface Input {
  label: string;
  value: unknown;
  /** The nearest valid name, for a misspelt option. */
  suggest?: string;
}

function junk(): Input[] {
  const list: [string, unknown][] = [
    ["undefined", undefined],
    ["null", null],
    ["NaN", NaN],
    ["-1", -1],
    ["-0", -0],
    ["0", 0],
    ["0.5", 0.5],
    ["1", 1],
    ["2.5", 2.5],
    ["5", 5],
    ["2 ** 31", 2 ** 31],
    ["1e300", 1e300],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
    ['""', ""],
    ['" "', " "],
    ['"1"', "1"],
    ['"abc"', "abc"],
    ["true", true],
    ["false", false],
    ["Symbol('junk')", Symbol("junk")],
    ["10n", 10n],
    ["[]", []],
    ["[1]", [1]],
    ["() => true", JUNK_FN],
    ["class {}", JunkClass],
    ["{}", {}],
    ["Object.create(null)", Object.create(null)],
    ["Object.freeze({})", Object.freeze({})],
    ["Object.freeze({ a: 1 })", Object.freeze({ a: 1 })],
    ["new Date(0)", new Date(0)],
    ["/re/", /re/],
    ["new Map()", new Map()],
    ["new Number(5)", new Number(5)],
    ["Promise.resolve(1)", Promise.resolve(1)],
    ["{ signal: {} }", { signal: {} }],
    ['{ timeout: "1" }', { timeout: "1" }],
    ["{ timeout: -1 }", { timeout: -1 }],
    ["hostileValue()", hostileValue()],
    ["trapProxy()", trapProxy()],
  ];
  return list.map(([label, value]) => ({ label, value }));
}

/** `{ [key]: junk }` for every key and every junk value. */
function perKey(keys: string[], values = junk()): Input[] {
  return keys.flatMap((key) =>
    values.map(({ label, value }) => ({
      label: `{ ${key}: ${label} }`,
      value: { [key]: value },
    }))
  );
}

/** Misspelt option names, with the name the message must suggest. */
function typos(pairs: [string, string][]): Input[] {
  return pairs.map(([typo, near]) => ({
    label: `{ ${typo}: 1 }`,
    value: { [typo]: 1 },
    suggest: near,
  }));
}

// ---- the oracle: what each option takes (README, "Options")

const MAX = 2 ** 31 - 1;
const LEVELS = ["trace", "debug", "info", "warning", "error", "fatal"];
const SCOPES = ["auto", "shared", "thread", "async"];
/** Members a setter name must not take over. */
const CONTROLS = [
  "_set",
  "_setObj",
  "_setFun",
  "_getObj",
  "_hasObj",
  "_retObj",
  "_obj",
  "_setPool",
  "_shutdown",
  "_pool",
  "then",
];

type Check = (value: unknown) => boolean;
type Checks = Record<string, Check>;

const isInt = (min: number): Check => (v) =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= MAX;
const isMillis: Check = (v) =>
  typeof v === "number" && v >= 0 && v !== Infinity && !(v > 0 && v < 1);
const isLimit: Check = (v) =>
  v === Infinity || (isMillis(v) && (v as number) >= 1);
const isTimeout: Check = (v) => v === Infinity || isMillis(v);
const isFunction: Check = (v) => typeof v === "function";
const isName: Check = (v) => typeof v === "string" && v.trim() !== "";
const isSetName: Check = (v) =>
  typeof v === "string" &&
  (v === "_set" || v === "" ||
    [v, `${v}Obj`, `${v}Fun`].every((name) => !CONTROLS.includes(name)));
const optional = (check: Check): Check => (v) => v === undefined || check(v);

const POOL_CHECKS: Checks = {
  fun: isFunction,
  name: optional(isName),
  maxSize: optional(isInt(0)),
  minSize: optional(isInt(0)),
  timeout: optional(isTimeout),
  maxUse: optional(isInt(0)),
  maxAvailDelay: optional(isMillis),
  maxUsingDelay: optional(isMillis),
  maxUsingDelayKill: optional(isMillis),
  maxLifetime: optional(isMillis),
  lifetimeJitter: optional(isMillis),
  healthFreq: optional(isInt(1)),
  hkDelay: optional(isMillis),
  check: optional(isFunction),
  checkSkip: optional(isMillis),
  checkTimeout: optional(isLimit),
  backoffBase: optional(isMillis),
  backoffMax: optional(isMillis),
  opener: optional(isFunction),
  createTimeout: optional(isLimit),
  maxCreating: optional(isInt(1)),
  getter: optional(isFunction),
  retter: optional(isFunction),
  hookTimeout: optional(isLimit),
  closer: optional(isFunction),
  closeTimeout: optional(isLimit),
  health: optional(isFunction),
  stats: optional(isFunction),
  tracer: optional(isFunction),
  logLevel: optional((v) => LEVELS.includes(v as string)),
};
const { fun: _fun, ...POOL_CHECKS_NO_FUN } = POOL_CHECKS;
/** A proxy's pool options: `maxSize: null` means no pool. */
const PROXY_POOL_CHECKS: Checks = {
  ...POOL_CHECKS_NO_FUN,
  maxSize: (v) => v === undefined || v === null || isInt(0)(v),
};
const SET_CHECKS: Checks = {
  ...PROXY_POOL_CHECKS,
  obj: () => true,
  fun: optional(isFunction),
  scope: optional((v) => SCOPES.includes(v as string)),
};
const PROXY_CHECKS: Checks = {
  ...SET_CHECKS,
  setName: optional(isSetName),
  name: optional(isName),
};
const GET_CHECKS: Checks = {
  timeout: optional(isTimeout),
  signal: optional((v) => v instanceof AbortSignal),
};
const RET_CHECKS: Checks = {
  discard: optional((v) => typeof v === "boolean"),
};
const SHUTDOWN_CHECKS: Checks = { grace: optional(isMillis) };
const RESIZE_CHECKS: Checks = {
  minSize: optional(isInt(0)),
  maxSize: optional(isInt(0)),
};

/** What a call must do with an input. */
interface Verdict {
  valid: boolean;
  /** Invalid: the message must quote one of these names. */
  names: string[];
  /** Invalid: the message must suggest this name. */
  suggest?: string;
  /** A trap proxy is read: its HostileError may come out, at once. */
  hostile?: boolean;
  /**
   * Valid: settle normally ("settle", the default), anything ("any": the
   * input runs code whose outcome is its own), or be refused for the
   * object's state with a PPPError ("refuse").
   */
  onValid?: "settle" | "any" | "refuse";
  /** Valid: must reject with exactly this (an aborted signal's reason). */
  reason?: unknown;
}

const VALID: Verdict = { valid: true, names: [] };
const ANY: Verdict = { valid: true, names: [], onValid: "any" };
const REFUSE: Verdict = { valid: true, names: [], onValid: "refuse" };
const invalid = (...names: string[]): Verdict => ({ valid: false, names });

/** A function argument: any function is valid (what it does is its own). */
function fnVerdict(value: unknown, name: string): Verdict {
  return isFunction(value) ? ANY : { ...invalid(name), hostile: isTrap(value) };
}

/** Checks an options object against `checks`, then `cross`. */
function optionsVerdict(
  options: unknown,
  checks: Checks,
  cross?: (o: Record<string, unknown>) => string[],
  required = false,
): Verdict {
  if (options === undefined && !required) return VALID;
  if (isTrap(options)) return { ...invalid(), hostile: true };
  if (options === null || typeof options !== "object") {
    return invalid("options");
  }
  const o = options as Record<string, unknown>;
  const unknownKeys = Object.keys(o).filter((k) => !Object.hasOwn(checks, k));
  if (unknownKeys.length > 0) return invalid(...unknownKeys);
  const keys = Object.keys(checks);
  const bad = keys.filter((k) => isTrap(o[k]) || !checks[k](o[k]));
  if (bad.length > 0) {
    // several options wrong: naming any of them will do, a broken
    // constraint between two others included (the order of the checks is
    // the library's)
    let crossed: string[] = [];
    try {
      if (!keys.some((k) => isTrap(o[k]))) crossed = cross?.(o) ?? [];
    } catch {
      // a constraint over wrong values: not ours to judge
    }
    return {
      ...invalid(...bad, ...crossed),
      hostile: keys.some((k) => isTrap(o[k])),
    };
  }
  const crossed = cross?.(o) ?? [];
  return crossed.length > 0 ? invalid(...crossed) : VALID;
}

/** The constraints between pool options (valid values assumed). */
function poolCross(o: Record<string, unknown>, minSizeDefault = 1): string[] {
  const num = (k: string, d: number) => (o[k] ?? d) as number;
  const maxSize = o.maxSize === null ? 0 : num("maxSize", 10);
  if (maxSize > 0 && num("minSize", minSizeDefault) > maxSize) {
    return ["minSize"];
  }
  const maxLifetime = num("maxLifetime", 0);
  const jitter = num("lifetimeJitter", Math.floor(maxLifetime / 10));
  if (maxLifetime > 0 && jitter >= maxLifetime) return ["lifetimeJitter"];
  if (o.hkDelay === 0) {
    const needs = ["maxAvailDelay", "maxUsingDelay", "maxUsingDelayKill"]
      .some((k) => num(k, 0) > 0) ||
      maxLifetime > 0 ||
      o.health !== undefined;
    if (needs) return ["hkDelay"];
  }
  return [];
}
const proxyCross = (o: Record<string, unknown>) => poolCross(o, 0);

/** Valid options that would make a pool create many objects now. */
function heavy(options: unknown, minSizeDefault: number): boolean {
  const o = options as Record<string, unknown>;
  return ((o?.minSize ?? minSizeDefault) as number) > 8;
}

function getVerdict(options: unknown): Verdict {
  const v = optionsVerdict(options, GET_CHECKS);
  if (isTrap(options)) return v;
  const signal = (options as { signal?: AbortSignal } | undefined)?.signal;
  if (v.valid && signal?.aborted) return { ...v, reason: signal.reason };
  return v;
}
const retVerdict = (x: unknown) => optionsVerdict(x, RET_CHECKS);
const shutdownVerdict = (x: unknown) => optionsVerdict(x, SHUTDOWN_CHECKS);
function resizeVerdict(
  x: unknown,
  current: { minSize: number; maxSize: number },
): Verdict {
  return optionsVerdict(x, RESIZE_CHECKS, (o) => {
    const minSize = (o.minSize ?? current.minSize) as number;
    const maxSize = (o.maxSize ?? current.maxSize) as number;
    return maxSize > 0 && minSize > maxSize ? ["minSize"] : [];
  }, true);
}

/** `new Proxy(x)` (`needsOne` false) or `_set(x)` (true). */
function proxyVerdict(x: unknown, checks: Checks, needsOne: boolean): Verdict {
  if (x === undefined && !needsOne) return VALID;
  const v = optionsVerdict(x, checks, proxyCross, true);
  if (!v.valid) return v;
  const o = x as Record<string, unknown>;
  const has = (o.obj !== undefined ? 1 : 0) + (o.fun !== undefined ? 1 : 0);
  return has === 2 || (needsOne && has === 0) ? REFUSE : v;
}

// ---- running a call and judging its outcome

type Outcome =
  | { kind: "returned" | "resolved"; value: unknown; ms: number }
  | { kind: "threw" | "rejected"; error: unknown; ms: number }
  | { kind: "hung"; ms: number };

/**
 * Runs `call`: what it returned or threw at once, or what its promise
 * settled with (the call sites return either nothing or a promise).
 */
async function outcome(call: () => unknown, limit = 3_000): Promise<Outcome> {
  const start = performance.now();
  const ms = () => Math.round(performance.now() - start);
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return { kind: "threw", error, ms: ms() };
  }
  if (!(result instanceof Promise)) {
    return { kind: "returned", value: result, ms: ms() };
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "hung", ms: ms() }), limit);
  });
  try {
    return await Promise.race([
      result.then(
        (value): Outcome => ({ kind: "resolved", value, ms: ms() }),
        (error): Outcome => ({ kind: "rejected", error, ms: ms() }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const AT_ONCE_MS = 100;

function said(o: Outcome): string {
  switch (o.kind) {
    case "hung":
      return `still pending after ${o.ms} ms`;
    case "returned":
    case "resolved":
      return `${o.kind} ${describe(o.value)}`;
    default:
      return `${o.kind} ${describe(o.error)}`;
  }
}

/** Records how `o` breaks the contract for an input judged `v`, if it does. */
function judge(
  f: Findings,
  call: string,
  o: Outcome,
  v: Verdict,
): void {
  const add = (what: string, cause: string) => f.add(call, what, cause);
  const quoted = v.names.map((n) => `'${n}'`).join(" or ");
  if (o.kind === "hung") return add(said(o), "hung");
  if (o.kind === "returned" || o.kind === "resolved") {
    if (!v.valid) {
      add(
        `${said(o)}: silently accepted (expected a TypeError or RangeError${
          quoted ? ` naming ${quoted}` : ""
        })`,
        "accepted",
      );
    } else if (v.onValid === "refuse") {
      add(`${said(o)}: expected a PPPError`, "not refused");
    } else if ("reason" in v) {
      add(`${said(o)}: expected a rejection with signal.reason`, "no reason");
    }
    return;
  }
  const e = (o as { error: unknown }).error;
  // reading a trap proxy at all runs the caller's code
  if (v.hostile && e instanceof HostileError && o.ms <= AT_ONCE_MS) return;
  if (v.valid) {
    if (v.onValid === "any") return;
    if ("reason" in v) {
      if (e !== v.reason) add(`${said(o)}: expected signal.reason`, "reason");
      return;
    }
    if (v.onValid === "refuse") {
      if (!(e instanceof PPPError)) {
        add(`${said(o)}: expected a PPPError`, "class");
      }
      return;
    }
    return add(`${said(o)}: valid input refused`, "refused");
  }
  if (o.ms > AT_ONCE_MS) {
    add(`${said(o)} after ${o.ms} ms: not refused at once`, "late");
  }
  if (e instanceof HostileError) {
    if (!v.hostile) {
      add(
        `${
          said(o)
        }: the caller's own code ran (a conversion); expected a TypeError${
          quoted ? ` naming ${quoted}` : ""
        }`,
        "hostile",
      );
    }
    return;
  }
  if (
    !(e instanceof TypeError || e instanceof RangeError ||
      e instanceof PPPError)
  ) {
    return add(`${said(o)}: not a TypeError, RangeError or PPPError`, "class");
  }
  if (e instanceof PPPError) return; // refused for the object's state
  const message = (e as Error).message;
  if (v.names.length > 0 && !v.names.some((n) => message.includes(`'${n}'`))) {
    add(`${said(o)}: the message does not name ${quoted}`, "unnamed");
  } else if (v.suggest && !message.includes(`did you mean '${v.suggest}'`)) {
    add(`${said(o)}: the message does not suggest '${v.suggest}'`, "suggest");
  } else {
    f.sample(call, e);
  }
}

/**
 * The pool still lends and takes back an object, and every object it
 * counts is idle or lent: none is lost.
 */
async function stillWorks(
  f: Findings,
  pool: Pool<unknown>,
  after: string,
): Promise<void> {
  const o = await outcome(async () => {
    const obj = await pool.get({ timeout: 500 });
    await pool.ret(obj);
  });
  await turns();
  if (o.kind !== "resolved") {
    f.add(after, `then the pool no longer works: get/ret ${said(o)}`);
  }
  if (pool.nusing !== 0) {
    f.add(after, `then ${pool.nusing} objects stay lent that nobody holds`);
  }
  if (pool.nobjs !== pool.navail + pool.nusing) {
    f.add(
      after,
      `then ${
        pool.nobjs - pool.navail - pool.nusing
      } objects are neither idle nor lent (nobjs ${pool.nobjs}, navail ${pool.navail}, nusing ${pool.nusing}): lost`,
    );
  }
}

/** Whether valid options hold a hook that throws on every call. */
function runsJunkClass(options: unknown): boolean {
  return Object.values(options as object).includes(JunkClass);
}

async function constructPool(
  f: Findings,
  call: string,
  options: unknown,
  v: Verdict,
): Promise<void> {
  const made: { pool?: Pool<unknown> } = {};
  const o = await outcome(() => {
    made.pool = new Pool<unknown>(options as never);
  });
  judge(f, call, o, v);
  if (made.pool !== undefined) {
    if (v.valid && !runsJunkClass(options)) {
      await stillWorks(f, made.pool, call);
    }
    await made.pool.shutdown();
  }
}

async function constructProxy(
  f: Findings,
  call: string,
  options: unknown,
  v: Verdict,
): Promise<void> {
  const made: { db?: Proxy<Obj> } = {};
  const o = await outcome(() => {
    made.db = new Proxy<Obj>(options as never);
  });
  judge(f, call, o, v);
  if (made.db !== undefined) await made.db._shutdown();
}

const funProxy = () =>
  new Proxy<Obj>({ fun: FUN, maxSize: 2, timeout: 500, name: "db" });
const objProxy = () => new Proxy<Obj>({ obj: { n: -1 }, name: "db" });

/** The proxy still binds an object in a scope, and none is left lent. */
async function proxyWorks(
  f: Findings,
  db: Proxy<Obj>,
  after: string,
): Promise<void> {
  const o = await outcome(() =>
    scoped(async () => {
      await db._getObj();
      return db.n;
    })
  );
  await turns();
  if (o.kind !== "resolved") {
    f.add(after, `then the proxy no longer works: ${said(o)}`);
  }
  const nusing = db._pool?.nusing ?? 0;
  if (nusing !== 0) {
    f.add(
      after,
      `then ${nusing} objects stay lent by the proxy's pool after every scope ended: lost`,
    );
  }
}

// ---- fast-check arbitraries

const SEED = Number(Deno.env.get("PPP_FC_SEED") ?? 20_241_129);
const RUNS = Number(Deno.env.get("PPP_FC_RUNS") ?? 150);
const FC = { seed: SEED, numRuns: RUNS };

/** Junk and valid values alike (no trap proxies: fast-check prints them). */
const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    ...junk().filter(({ value }) => !isTrap(value)).map(({ value }) => value),
  ),
  fc.anything({
    maxDepth: 1,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withTypedArray: true,
    withSparseArray: true,
  }),
  fc.double(),
  fc.integer({ min: -2, max: 12 }),
  fc.constantFrom<unknown>(
    Infinity,
    MAX,
    ...LEVELS,
    ...SCOPES,
    LIVE_SIGNAL,
    ABORTED,
  ),
  fc.string({ maxLength: 4 }),
);

/** Options objects: mostly known names, some misspelt, some random. */
function optionsArb(
  keys: string[],
  misspelt: string[],
): fc.Arbitrary<Record<string, unknown>> {
  const key = fc.oneof(
    { arbitrary: fc.constantFrom(...keys), weight: 8 },
    { arbitrary: fc.constantFrom(...misspelt), weight: 1 },
    { arbitrary: fc.string({ maxLength: 6 }), weight: 1 },
  );
  return fc.dictionary(key, valueArb, { maxKeys: 3 });
}

/** Runs one property sample: fails (for fast-check) on any violation. */
async function sampleRun(
  body: (f: Findings) => Promise<void>,
): Promise<void> {
  const f = new Findings(true);
  const seen = unhandled.length;
  await body(f);
  await turns();
  for (const reason of unhandled.slice(seen)) {
    f.add(
      "(a timer or a dropped promise)",
      `unhandled rejection: ${describe(reason)}`,
    );
  }
  f.check();
}

// ---- Pool

Deno.test("the oracle knows every pool option and no other", () => {
  assertEquals(new Set(Object.keys(POOL_CHECKS)), new Set(POOL_OPTIONS));
});

const POOL_TYPOS: [string, string][] = [
  ["maxsize", "maxSize"],
  ["max_size", "maxSize"],
  ["minSzie", "minSize"],
  ["timout", "timeout"],
  ["hkdelay", "hkDelay"],
  ["logLevl", "logLevel"],
  ["closr", "closer"],
  ["Fun", "fun"],
];

probe("new Pool(x): junk as the options object", async (f) => {
  for (const { label, value } of junk()) {
    await constructPool(
      f,
      `new Pool(${label})`,
      value,
      optionsVerdict(value, POOL_CHECKS, poolCross, true),
    );
  }
});

probe(
  "new Pool({ fun, [option]: junk }): every option, every junk value",
  async (f) => {
    for (const key of Object.keys(POOL_CHECKS)) {
      for (const { label, value } of junk()) {
        const options = key === "fun"
          ? { fun: value }
          : { fun: FUN, [key]: value };
        const call = `new Pool({ ${
          key === "fun" ? "" : "fun, "
        }${key}: ${label} })`;
        await constructPool(
          f,
          call,
          options,
          optionsVerdict(options, POOL_CHECKS, poolCross),
        );
      }
    }
    for (const { label, value, suggest } of typos(POOL_TYPOS)) {
      const options = { fun: FUN, ...(value as object) };
      await constructPool(f, `new Pool({ fun, ${label.slice(2)}`, options, {
        ...optionsVerdict(options, POOL_CHECKS, poolCross),
        suggest,
      });
    }
  },
);

Deno.test("new Pool(random options): property", async () => {
  await recordingUnhandled(() =>
    fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        optionsArb(Object.keys(POOL_CHECKS), POOL_TYPOS.map(([t]) => t)),
        async (withFun, drawn) => {
          const options = withFun ? { fun: FUN, ...drawn } : drawn;
          const v = optionsVerdict(options, POOL_CHECKS, poolCross);
          fc.pre(!(v.valid && heavy(options, 1)));
          await sampleRun((f) =>
            constructPool(f, "new Pool(options)", options, v)
          );
        },
      ),
      FC,
    )
  );
});

const GET_TYPOS: [string, string][] = [
  ["timout", "timeout"],
  ["Timeout", "timeout"],
  ["signl", "signal"],
];

function getInputs(): Input[] {
  return [
    ...junk(),
    ...perKey(Object.keys(GET_CHECKS)),
    ...typos(GET_TYPOS),
    { label: "{ signal: live }", value: { signal: LIVE_SIGNAL } },
    { label: "{ signal: aborted }", value: { signal: ABORTED } },
    { label: "{ timeout: 0, signal: {} }", value: { timeout: 0, signal: {} } },
    {
      label: "Object.freeze({ timeout: 5 })",
      value: Object.freeze({ timeout: 5 }),
    },
  ];
}

probe(
  "pool.get(x), pool.lease(x), pool.use(fn, x): junk options",
  async (f) => {
    const pool = new Pool<unknown>({ fun: FUN, maxSize: 4, timeout: 1_000 });
    await pool.fill();
    for (const { label, value, suggest } of getInputs()) {
      const v = { ...getVerdict(value), suggest };
      const got = await outcome(() => pool.get(value as never));
      judge(f, `pool.get(${label})`, got, v);
      if (got.kind === "resolved") await pool.ret(got.value);
      await stillWorks(f, pool, `pool.get(${label})`);

      const leased = await outcome(() => pool.lease(value as never));
      judge(f, `pool.lease(${label})`, leased, v);
      if (leased.kind === "resolved") {
        await (leased.value as Lease<unknown>).release();
      }
      await stillWorks(f, pool, `pool.lease(${label})`);

      const used = await outcome(() => pool.use((obj) => obj, value as never));
      judge(f, `pool.use(fn, ${label})`, used, v);
      await stillWorks(f, pool, `pool.use(fn, ${label})`);
    }
    await pool.shutdown();
  },
);

probe(
  "pool.use(junk fn): refused at once, even with every object lent",
  async (f) => {
    const pool = new Pool<unknown>({
      fun: FUN,
      maxSize: 1,
      minSize: 0,
      timeout: 200,
    });
    for (const { label, value } of junk()) {
      const v = fnVerdict(value, "fn");
      judge(
        f,
        `pool.use(${label})`,
        await outcome(() => pool.use(value as never)),
        v,
      );
      await stillWorks(f, pool, `pool.use(${label})`);
    }
    const held = await pool.get();
    for (
      const { label, value } of junk().filter(({ value }) => !isFunction(value))
        .slice(0, 3)
    ) {
      const o = await outcome(() => pool.use(value as never));
      judge(f, `pool.use(${label}) with every object lent`, o, invalid("fn"));
    }
    await pool.ret(held);
    await pool.shutdown();
  },
);

const RET_TYPOS: [string, string][] = [["discrad", "discard"], [
  "Discard",
  "discard",
]];

probe(
  "pool.ret(obj, x): junk options, for a lent object and for a stranger",
  async (f) => {
    const pool = new Pool<unknown>({ fun: FUN, maxSize: 4, timeout: 1_000 });
    const inputs = [
      ...junk(),
      ...perKey(Object.keys(RET_CHECKS)),
      ...typos(RET_TYPOS),
    ];
    for (const { label, value, suggest } of inputs) {
      const v = { ...retVerdict(value), suggest };
      const obj = await pool.get();
      const lent = await outcome(() => pool.ret(obj, value as never));
      judge(f, `pool.ret(lent, ${label})`, lent, v);
      if (lent.kind !== "resolved") await pool.ret(obj); // refused: still ours
      await stillWorks(f, pool, `pool.ret(lent, ${label})`);

      const stranger = await outcome(() => pool.ret({ n: -1 }, value as never));
      judge(
        f,
        `pool.ret(stranger, ${label})`,
        stranger,
        v,
      );
    }
    for (const { label, value } of junk()) {
      const o = await outcome(() => pool.ret(value));
      // a trap proxy may throw when the pool describes it for its log
      judge(f, `pool.ret(${label})`, o, { ...VALID, hostile: isTrap(value) });
      await stillWorks(f, pool, `pool.ret(${label})`);
    }
    await pool.shutdown();
  },
);

const RESIZE_TYPOS: [string, string][] = [["maxsize", "maxSize"], [
  "minSzie",
  "minSize",
]];
const SIZES = { minSize: 0, maxSize: 4 };

probe("pool.resize(x): junk", async (f) => {
  const pool = new Pool<unknown>({ fun: FUN, ...SIZES, timeout: 1_000 });
  const inputs: Input[] = [
    ...junk(),
    ...perKey(Object.keys(RESIZE_CHECKS)),
    ...typos(RESIZE_TYPOS),
    { label: "{ minSize: 3, maxSize: 2 }", value: { minSize: 3, maxSize: 2 } },
    { label: "{ maxSize: 0, minSize: 3 }", value: { maxSize: 0, minSize: 3 } },
  ];
  for (const { label, value, suggest } of inputs) {
    const v = { ...resizeVerdict(value, SIZES), suggest };
    const o = await outcome(() => pool.resize(value as never));
    judge(f, `pool.resize(${label})`, o, v);
    if (o.kind === "resolved") await pool.resize(SIZES);
    await stillWorks(f, pool, `pool.resize(${label})`);
  }
  await pool.shutdown();
});

const SHUTDOWN_TYPOS: [string, string][] = [["gracee", "grace"], [
  "Grace",
  "grace",
]];

probe("pool.shutdown(x): junk, each on a fresh pool", async (f) => {
  const inputs = [
    ...junk(),
    ...perKey(Object.keys(SHUTDOWN_CHECKS)),
    ...typos(SHUTDOWN_TYPOS),
  ];
  for (const { label, value, suggest } of inputs) {
    const pool = new Pool<unknown>({ fun: FUN, maxSize: 2, timeout: 1_000 });
    await pool.fill();
    const v = { ...shutdownVerdict(value), suggest };
    const o = await outcome(() => pool.shutdown(value as never));
    judge(
      f,
      `pool.shutdown(${label})`,
      o,
      v,
    );
    if (o.kind === "threw" || o.kind === "rejected") {
      await stillWorks(f, pool, `pool.shutdown(${label}) refused`);
    }
    await pool.shutdown();
  }
});

Deno.test("pool methods with random options: property", async () => {
  const pool = new Pool<unknown>({ fun: FUN, ...SIZES, timeout: 1_000 });
  const keys = [
    ...Object.keys(GET_CHECKS),
    ...Object.keys(RET_CHECKS),
    ...Object.keys(SHUTDOWN_CHECKS),
    ...Object.keys(RESIZE_CHECKS),
  ];
  const misspelt = [
    ...GET_TYPOS,
    ...RET_TYPOS,
    ...SHUTDOWN_TYPOS,
    ...RESIZE_TYPOS,
  ]
    .map(([t]) => t);
  const method = fc.constantFrom(
    "get",
    "lease",
    "use",
    "ret",
    "resize",
    "shutdown",
  );
  try {
    await recordingUnhandled(() =>
      fc.assert(
        fc.asyncProperty(
          method,
          fc.oneof(valueArb, optionsArb(keys, misspelt)),
          async (m, x) => {
            if (m === "resize") {
              const v = resizeVerdict(x, SIZES);
              fc.pre(!(v.valid && heavy(x, 0)));
            }
            await sampleRun(async (f) => {
              const call = `pool.${m}(x)`;
              switch (m) {
                case "get":
                case "lease":
                case "use": {
                  const o = await outcome(() =>
                    m === "get"
                      ? pool.get(x as never)
                      : m === "lease"
                      ? pool.lease(x as never)
                      : pool.use((obj) => obj, x as never)
                  );
                  judge(f, call, o, getVerdict(x));
                  if (o.kind === "resolved") {
                    if (m === "get") await pool.ret(o.value);
                    if (m === "lease") {
                      await (o.value as Lease<unknown>).release();
                    }
                  }
                  break;
                }
                case "ret": {
                  const obj = await pool.get();
                  const o = await outcome(() => pool.ret(obj, x as never));
                  judge(f, call, o, retVerdict(x));
                  if (o.kind !== "resolved") await pool.ret(obj);
                  break;
                }
                case "resize": {
                  const o = await outcome(() => pool.resize(x as never));
                  judge(f, call, o, resizeVerdict(x, SIZES));
                  if (o.kind === "resolved") await pool.resize(SIZES);
                  break;
                }
                case "shutdown": {
                  const fresh = new Pool<unknown>({ fun: FUN, minSize: 0 });
                  const o = await outcome(() => fresh.shutdown(x as never));
                  judge(f, call, o, shutdownVerdict(x));
                  if (o.kind !== "resolved") await stillWorks(f, fresh, call);
                  await fresh.shutdown();
                  break;
                }
              }
              await stillWorks(f, pool, call);
            });
          },
        ),
        FC,
      )
    );
  } finally {
    await pool.shutdown();
  }
});

/**
 * Options whose `signal` is undefined when first read and junk after: a
 * getter of the caller's. The pool reads each option once, so the call is
 * the valid one it first saw (no signal): it is served or times out, and
 * nothing is lost or left to crash later.
 */
function flipping(): { label: string; value: object } {
  let reads = 0;
  return {
    label: "{ get signal() { return reads++ ? {} : undefined } }",
    value: {
      get signal() {
        return reads++ ? {} : undefined;
      },
    },
  };
}

/** A get whose options were read once: served, or timed out waiting. */
function readOnce(f: Findings, call: string, got: Outcome): void {
  if (got.kind === "resolved") return;
  if (got.kind === "rejected" && got.error instanceof TimeoutError) return;
  f.add(
    call,
    `${got.kind} ${
      "error" in got ? describe(got.error) : ""
    }: expected it served or timed out (no signal when first read)`,
  );
}

probe(
  "pool.get(options with a getter): each option read once, nothing lost, nothing unhandled",
  async (f) => {
    // every object lent: the caller would queue
    {
      const pool = new Pool<unknown>({
        fun: FUN,
        maxSize: 1,
        minSize: 0,
        timeout: 50,
      });
      const held = await pool.get();
      const { label, value } = flipping();
      const call = `pool.get(${label}) with every object lent, timeout 50`;
      const seen = unhandled.length;
      readOnce(f, call, await outcome(() => pool.get(value as never)));
      await delay(120);
      for (const reason of unhandled.splice(seen)) {
        f.add(
          call,
          `then, 50 ms later, an unhandled rejection: ${describe(reason)}`,
        );
      }
      await pool.ret(held);
      await stillWorks(f, pool, call);
      await pool.shutdown();
    }
    // an idle object that needs its getter run first
    {
      const pool = new Pool<unknown>({
        fun: FUN,
        maxSize: 1,
        minSize: 1,
        timeout: 50,
        getter: () => {},
        closeTimeout: 100,
      });
      await pool.fill();
      const { label, value } = flipping();
      const call =
        `pool.get(${label}) with an idle object and a getter, timeout 50`;
      const seen = unhandled.length;
      const got = await outcome(() => pool.get(value as never));
      readOnce(f, call, got);
      if (got.kind === "resolved") await pool.ret(got.value);
      await delay(120);
      for (const reason of unhandled.splice(seen)) {
        f.add(
          call,
          `then, 50 ms later, an unhandled rejection: ${describe(reason)}`,
        );
      }
      await stillWorks(f, pool, call);
      const start = performance.now();
      await pool.shutdown();
      const took = Math.round(performance.now() - start);
      if (took >= 90) {
        f.add(
          call,
          `then shutdown() took ${took} ms (its closeTimeout): an object was never closed`,
        );
      }
    }
  },
);

probe("new Lease(pool, obj): junk as the pool", async (f) => {
  for (const { label, value } of junk()) {
    const made: { lease?: Lease<unknown> } = {};
    const call = `new Lease(${label}, obj)`;
    const o = await outcome(() => {
      made.lease = new Lease<unknown>(value as never, { n: -1 });
    });
    judge(f, call, o, { ...invalid("pool"), hostile: isTrap(value) });
    const lease = made.lease;
    if (lease !== undefined) {
      const released = await outcome(() => lease.release());
      if (released.kind !== "resolved") {
        f.add(
          call,
          `accepted, then lease.release() ${said(released)}`,
          "release",
        );
      }
    }
  }
  // a real pool and an object it never lent: a bad return, ignored
  const pool = new Pool<unknown>({ fun: FUN, maxSize: 2, timeout: 1_000 });
  const call = "new Lease(pool, stranger).release()";
  judge(
    f,
    call,
    await outcome(() => new Lease<unknown>(pool, { n: -1 }).release()),
    VALID,
  );
  await stillWorks(f, pool, call);
  await pool.shutdown();
});

// ---- Proxy

const PROXY_TYPOS: [string, string][] = [
  ["setname", "setName"],
  ["scpoe", "scope"],
  ["maxsize", "maxSize"],
  ["timout", "timeout"],
];

probe(
  "new Proxy(x): junk as the options object, and Proxy(x) without new",
  async (f) => {
    for (const { label, value } of junk()) {
      await constructProxy(
        f,
        `new Proxy(${label})`,
        value,
        proxyVerdict(value, PROXY_CHECKS, false),
      );
      const o = await outcome(() =>
        (Proxy as unknown as (x: unknown) => unknown)(value)
      );
      judge(f, `Proxy(${label}) without new`, o, invalid());
    }
    for (const { label, value, suggest } of typos(PROXY_TYPOS)) {
      await constructProxy(f, `new Proxy(${label})`, value, {
        ...proxyVerdict(value, PROXY_CHECKS, false),
        suggest,
      });
    }
  },
);

const PROXY_KEYS = Object.keys(PROXY_CHECKS).filter((k) =>
  k !== "obj" && k !== "fun"
);

for (
  const [variant, base] of [
    ["fun, ", { fun: FUN }],
    ["obj, ", { obj: { n: -1 } }],
    ["", {}],
  ] as const
) {
  probe(
    `new Proxy({ ${variant}[option]: junk }): every option, every junk value`,
    async (f) => {
      for (const key of PROXY_KEYS) {
        for (const { label, value } of junk()) {
          const options = { ...base, [key]: value };
          await constructProxy(
            f,
            `new Proxy({ ${variant}${key}: ${label} })`,
            options,
            proxyVerdict(options, PROXY_CHECKS, false),
          );
        }
      }
      for (const { label, value } of junk()) {
        if (variant !== "fun, ") {
          const options = { ...base, fun: value };
          await constructProxy(
            f,
            `new Proxy({ ${variant}fun: ${label} })`,
            options,
            proxyVerdict(options, PROXY_CHECKS, false),
          );
        }
      }
    },
  );
}

Deno.test("new Proxy(random options): property", async () => {
  await recordingUnhandled(() =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom<object>({}, { obj: { n: -1 } }, { fun: FUN }),
        optionsArb(PROXY_KEYS, PROXY_TYPOS.map(([t]) => t)),
        async (base, drawn) => {
          const options = { ...base, ...drawn };
          const v = proxyVerdict(options, PROXY_CHECKS, false);
          fc.pre(!(v.valid && heavy(options, 0)));
          await sampleRun((f) =>
            constructProxy(f, "new Proxy(options)", options, v)
          );
        },
      ),
      FC,
    )
  );
});

const SET_KEYS = Object.keys(SET_CHECKS).filter((k) =>
  k !== "obj" && k !== "fun"
);

probe("proxy._set(x), _setObj(x), _setFun(x): junk", async (f) => {
  const fresh = () => new Proxy<Obj>({ name: "db" });
  const inputs: Input[] = [
    ...junk(),
    ...SET_KEYS.flatMap((key) =>
      junk().flatMap(({ label, value }) => [
        {
          label: `{ obj, ${key}: ${label} }`,
          value: { obj: { n: -1 }, [key]: value },
        },
        {
          label: `{ fun, ${key}: ${label} }`,
          value: { fun: FUN, [key]: value },
        },
      ])
    ),
    ...typos(PROXY_TYPOS.slice(1)).map((t) => ({
      ...t,
      label: `{ obj, ${t.label.slice(2)}`,
      value: { obj: { n: -1 }, ...(t.value as object) },
    })),
  ];
  for (const { label, value, suggest } of inputs) {
    const db = fresh();
    const o = await outcome(() => db._set(value as never));
    judge(f, `db._set(${label})`, o, {
      ...proxyVerdict(value, SET_CHECKS, true),
      suggest,
    });
    await db._shutdown();
  }
  for (const { label, value } of junk()) {
    const db = fresh();
    judge(
      f,
      `db._setObj(${label})`,
      await outcome(() => db._setObj(value as never)),
      value === undefined ? REFUSE : VALID,
    );
    await db._shutdown();
    const db2 = fresh();
    judge(
      f,
      `db._setFun(${label})`,
      await outcome(() => db2._setFun(value as never)),
      value === undefined
        ? REFUSE
        : isFunction(value)
        ? VALID
        : { ...invalid("fun"), hostile: isTrap(value) },
    );
    await db2._shutdown();
  }
});

probe("proxy._setPool(x): before the pool exists, and after", async (f) => {
  const inputs: Input[] = [
    ...junk(),
    ...perKey(Object.keys(PROXY_POOL_CHECKS)),
    { label: "{ fun }", value: { fun: FUN } },
    { label: "{ maxSize: null }", value: { maxSize: null } },
  ];
  for (const { label, value } of inputs) {
    const db = new Proxy<Obj>({ name: "db" });
    const call = `db._setPool(${label}) on an unset proxy`;
    const v = optionsVerdict(value, PROXY_POOL_CHECKS, proxyCross, true);
    const o = await outcome(() => db._setPool(value as never));
    judge(
      f,
      call,
      o,
      v,
    );
    if (o.kind === "returned") {
      // accepted: the function set next must find its pool options good
      const later = await outcome(() => db._setFun(FUN));
      if (later.kind === "threw") {
        f.add(
          call,
          `accepted, then db._setFun(fun) ${said(later)}`,
          "db._setPool accepted what _setFun refuses",
        );
      }
    }
    await db._shutdown();
  }
  for (const { label, value } of junk().slice(0, 8)) {
    const db = funProxy();
    judge(
      f,
      `db._setPool(${label}) once the pool exists`,
      await outcome(() => db._setPool(value as never)),
      optionsVerdict(value, PROXY_POOL_CHECKS, proxyCross, true).valid
        ? REFUSE
        : invalid(),
    );
    await db._shutdown();
  }
});

probe("proxy setName naming a control member", async (f) => {
  for (
    const setName of [
      "_getObj",
      "_get",
      "_ret",
      "_obj",
      "_shutdown",
      "_setPool",
      "_pool",
      "then",
    ]
  ) {
    const made: { db?: Proxy<Obj, string> } = {};
    const call = `new Proxy({ setName: "${setName}", obj })`;
    const o = await outcome(() => {
      made.db = new Proxy<Obj, string>({ setName, obj: { n: -1 } });
    });
    judge(f, call, o, invalid("setName"));
    const db = made.db as unknown as Record<string, unknown> | undefined;
    if (db === undefined) continue;
    const taken = [setName, `${setName}Obj`, `${setName}Fun`]
      .filter((name) => CONTROLS.includes(name));
    for (const name of taken) {
      if (name === "then") {
        const awaited = await outcome(() => Promise.resolve(db));
        f.add(
          call,
          `then the proxy is thenable: \`await db\` ${said(awaited)}`,
        );
      } else {
        const setter = name.endsWith("Obj")
          ? "_setObj"
          : name.endsWith("Fun")
          ? "_setFun"
          : "_set";
        if (db[name] === db[setter]) {
          f.add(
            call,
            `then db.${name} is the setter ${setter}, not the control member`,
          );
        }
      }
    }
    // `_shutdown` may be a setter now: dispose, which always shuts down
    await made.db?.[Symbol.asyncDispose]();
  }
});

probe(
  "proxy._getObj(x): in a scope, on an obj proxy, on an unset proxy",
  async (f) => {
    for (const { label, value, suggest } of getInputs()) {
      const v = { ...getVerdict(value), suggest };
      {
        const db = funProxy();
        const call = `db._getObj(${label}) in scoped()`;
        judge(
          f,
          call,
          await outcome(() => scoped(() => db._getObj(value as never))),
          v,
        );
        await proxyWorks(f, db, call);
        await db._shutdown();
      }
      {
        const db = objProxy();
        const call = `objProxy._getObj(${label})`;
        // nothing to wait for: an aborted signal may resolve as well
        judge(
          f,
          call,
          await outcome(() => db._getObj(value as never)),
          "reason" in v ? ANY : v,
        );
        await db._shutdown();
      }
      {
        const db = new Proxy<Obj>();
        judge(
          f,
          `unsetProxy._getObj(${label})`,
          await outcome(() => db._getObj(value as never)),
          v.valid ? REFUSE : v,
        );
      }
    }
  },
);

probe(
  "proxy._obj(fn, x): junk fn, junk options, in and out of a scope",
  async (f) => {
    for (const { label, value } of junk()) {
      const v = fnVerdict(value, "fn");
      const db = funProxy();
      judge(
        f,
        `db._obj(${label})`,
        await outcome(() => db._obj(value as never)),
        v,
      );
      await proxyWorks(f, db, `db._obj(${label})`);
      await db._shutdown();
      const odb = objProxy();
      judge(
        f,
        `objProxy._obj(${label})`,
        await outcome(() => odb._obj(value as never)),
        v,
      );
    }
    const fn = (obj: Obj) => obj.n;
    for (const { label, value, suggest } of getInputs()) {
      const v = { ...getVerdict(value), suggest };
      {
        const db = funProxy();
        const call = `db._obj(fn, ${label}) outside a scope`;
        judge(f, call, await outcome(() => db._obj(fn, value as never)), v);
        await proxyWorks(f, db, call);
        await db._shutdown();
      }
      {
        const db = funProxy();
        const call = `db._obj(fn, ${label}) in a scope with its object bound`;
        const o = await outcome(() =>
          scoped(async () => {
            await db._getObj();
            return await db._obj(fn, value as never);
          })
        );
        judge(
          f,
          call,
          o,
          "reason" in v ? ANY : v,
        );
        await proxyWorks(f, db, call);
        await db._shutdown();
      }
      {
        const db = objProxy();
        judge(
          f,
          `objProxy._obj(fn, ${label})`,
          await outcome(() => db._obj(fn, value as never)),
          "reason" in v ? ANY : v,
        );
      }
    }
  },
);

probe(
  "proxy._retObj(x): refused options must not lose the scope's object",
  async (f) => {
    const inputs = [
      ...junk(),
      ...perKey(Object.keys(RET_CHECKS)),
      ...typos(RET_TYPOS),
    ];
    for (const { label, value, suggest } of inputs) {
      const v = { ...retVerdict(value), suggest };
      {
        const db = funProxy();
        const call = `db._retObj(${label}) in a scope with its object bound`;
        const o = await outcome(() =>
          scoped(async () => {
            await db._getObj();
            return await db._retObj(value as never);
          })
        );
        judge(f, call, o, v);
        await proxyWorks(f, db, call);
        await db._shutdown();
      }
      {
        const db = objProxy();
        judge(
          f,
          `objProxy._retObj(${label})`,
          await outcome(() => db._retObj(value as never)),
          v,
        );
      }
    }
  },
);

probe("proxy._shutdown(x): junk", async (f) => {
  const inputs = [
    ...junk(),
    ...perKey(Object.keys(SHUTDOWN_CHECKS)),
    ...typos(SHUTDOWN_TYPOS),
  ];
  for (const { label, value, suggest } of inputs) {
    const v = { ...shutdownVerdict(value), suggest };
    {
      const db = funProxy();
      const call = `db._shutdown(${label})`;
      const o = await outcome(() => db._shutdown(value as never));
      judge(
        f,
        call,
        o,
        v,
      );
      if (o.kind === "threw" || o.kind === "rejected") {
        await proxyWorks(f, db, `${call} refused`);
      }
      await db._shutdown();
    }
    {
      const db = objProxy();
      judge(
        f,
        `objProxy._shutdown(${label})`,
        await outcome(() => db._shutdown(value as never)),
        v,
      );
      await db._shutdown();
    }
  }
});

// ---- scoped

probe("scoped(x): junk", async (f) => {
  for (const { label, value } of junk()) {
    const v = fnVerdict(value, "fn");
    judge(
      f,
      `scoped(${label})`,
      await outcome(() => scoped(value as never)),
      v,
    );
  }
});
