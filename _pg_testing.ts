// Test helpers for the tests against a real PostgreSQL (pg_test.ts,
// pg_service_test.ts): where the server comes from, pg_ctl, an admin
// connection, polling. The server comes from `.ci/run` (PPP_PG_* variables,
// see .ci/postgres.sh); without them a test starts one itself if
// PostgreSQL is installed. Locally a test is skipped loudly when no server
// can be had; under CI=true it must run. Not published.
// @ts-types="npm:@types/pg@^8"
import pg from "pg";
import { delay } from "@std/async/delay";

/** Whether we run in CI, where a PostgreSQL test must run. */
export const CI = Deno.env.get("CI") === "true";

/** A PostgreSQL server for the tests. */
export interface Server {
  url: string;
  ctl: string;
  data: string;
  user: string;
  /** True when this test started the server and must stop it. */
  ours: boolean;
}

function fromEnv(): Server | undefined {
  const url = Deno.env.get("PPP_PG_URL");
  if (url === undefined) return undefined;
  return {
    url,
    ctl: Deno.env.get("PPP_PG_CTL") ?? "pg_ctl",
    data: Deno.env.get("PPP_PG_DATA") ?? "",
    user: Deno.env.get("PPP_PG_USER") ?? "",
    ours: false,
  };
}

function installed(): boolean {
  try {
    for (const v of Deno.readDirSync("/usr/lib/postgresql")) {
      Deno.statSync(`/usr/lib/postgresql/${v.name}/bin/pg_ctl`);
      return true;
    }
  } catch {
    // not installed
  }
  return false;
}

const SCRIPT = new URL("./.ci/postgres.sh", import.meta.url).pathname;

/** Runs a command; its stdout, or an error with its stderr. */
export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${out.code}): ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return text;
}

const canRun = fromEnv() !== undefined || installed();

/**
 * Whether the test file `file` must be skipped: no server can be had and
 * we are not in CI. Says so loudly when it is.
 */
export function skipWithoutPg(file: string): boolean {
  if (canRun || CI) return false;
  console.warn(
    `\n!!! ${file} SKIPPED: no PostgreSQL server (set PPP_PG_URL, or install ` +
      "Debian's postgresql, or run .ci/run). Under CI=true this test fails.\n",
  );
  return true;
}

async function start(): Promise<Server> {
  const env = fromEnv();
  if (env !== undefined) return env;
  const vars = await startScript(SCRIPT, "PPP_PG_");
  return {
    url: vars.PPP_PG_URL,
    ctl: vars.PPP_PG_CTL,
    data: vars.PPP_PG_DATA,
    user: vars.PPP_PG_USER,
    ours: true,
  };
}

/**
 * The server from the environment, or one started for the test file
 * `file`; fails with a clear message when none can be had.
 */
export function startServer(file: string): Promise<Server> {
  return startOrFail("PostgreSQL", file, start);
}

/**
 * `start()`, or an error that names `what` could not start for the test
 * file `file` (and that, under CI=true, the test must run).
 */
export async function startOrFail<R>(
  what: string,
  file: string,
  start: () => Promise<R>,
): Promise<R> {
  try {
    return await start();
  } catch (err) {
    throw new Error(
      `Cannot start ${what} for ${file}${
        CI ? " (CI=true: this test must run)" : ""
      }: ${err instanceof Error ? err.message : err}`,
    );
  }
}

/**
 * Runs `script start` (with `env` before it), which installs what it needs
 * under CI only; the `export NAME=value` lines it prints whose names start
 * with `prefix`.
 */
export async function startScript(
  script: string,
  prefix: string,
  env: string[] = [],
): Promise<Record<string, string>> {
  const text = await run("env", [
    ...env,
    "bash",
    script,
    "start",
    ...(CI ? [] : ["--no-install"]),
  ]);
  const vars: Record<string, string> = {};
  for (const m of text.matchAll(/^export (\w+)=(.*)$/gm)) {
    if (m[1].startsWith(prefix)) vars[m[1]] = m[2];
  }
  return vars;
}

/** A request of a load, as the outage analysis needs it. */
export interface Attempt {
  start: number;
  end: number;
  ok: boolean;
}

/** A request of a load, with its error when it failed. */
export interface Done extends Attempt {
  err?: unknown;
}

/** Runs `fn` and says when it started and ended, and how. */
export async function timed(fn: () => Promise<unknown>): Promise<Done> {
  const start = performance.now();
  try {
    await fn();
    return { start, end: performance.now(), ok: true };
  } catch (err) {
    return { start, end: performance.now(), ok: false, err };
  }
}

/** A running {@linkcode load}. */
export interface Load<D extends Attempt> {
  /** Every request so far, in the order they ended. */
  readonly done: D[];
  /** Stops starting requests; resolves when every worker is done. */
  stop(): Promise<void>;
}

/**
 * `workers` handlers, each running `attempt` back to back until stopped;
 * `after` runs after each one (a sampler). A failure may come without
 * I/O: the worker then lets timers run before the next.
 */
export function load<D extends Attempt>(
  workers: number,
  attempt: () => Promise<D>,
  after: () => void = () => {},
): Load<D> {
  const done: D[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      const d = await attempt();
      done.push(d);
      if (!d.ok) await delay(0);
      after();
    }
  };
  const all = Array.from({ length: workers }, worker);
  return {
    done,
    async stop() {
      running = false;
      await Promise.all(all);
    },
  };
}

/**
 * How a load came back after an {@linkcode outage}: ms from `tUp` to the
 * end of the first success started after the server went down, and the
 * share of successes among requests started from 2 s after `tUp` to
 * `until` ms after it (`late` of them).
 */
export function recovery(
  done: readonly Attempt[],
  { tDown, tUp }: Outage,
  until: number,
): { firstOkDelay: number; lateRate: number; late: number } {
  const firstOk = done.find((d) => d.ok && d.start >= tDown);
  const late = done.filter((d) =>
    d.start >= tUp + 2_000 && d.start < tUp + until
  );
  return {
    firstOkDelay: (firstOk?.end ?? Infinity) - tUp,
    lateRate: late.filter((d) => d.ok).length / late.length,
    late: late.length,
  };
}

/** When each phase of an {@linkcode outage} began and ended. */
export interface Outage {
  tStop: number;
  tDown: number;
  tStart: number;
  tUp: number;
}

/**
 * A server outage under load: `lead` ms of traffic, `down()`, `gap` ms,
 * `up()`, then `tail` ms; the moments, on the performance.now() line.
 */
export async function outage(
  down: () => Promise<unknown>,
  up: () => Promise<unknown>,
  { lead, gap, tail }: { lead: number; gap: number; tail: number },
): Promise<Outage> {
  await delay(lead);
  const tStop = performance.now();
  await down();
  const tDown = performance.now();
  await delay(gap);
  const tStart = performance.now();
  await up();
  const tUp = performance.now();
  await delay(tail);
  return { tStop, tDown, tStart, tUp };
}

/** Stops the server if the test started it. */
export async function stopServer(s: Server): Promise<void> {
  if (s.ours) await run("bash", [SCRIPT, "stop", s.data]);
}

/**
 * Runs pg_ctl on the server (as its user): "stop", "start" or "restart";
 * `mode` is the shutdown mode of "stop" and "restart".
 */
export function pgCtl(
  s: Server,
  action: string,
  mode: "smart" | "fast" | "immediate" = "fast",
): Promise<string> {
  const args = ["-D", s.data, "-w", "-t", "60"];
  if (action !== "start") args.push("-m", mode);
  // -l: the server must not inherit our pipes, or output() never ends
  if (action !== "stop") args.push("-l", `${s.data}/server.log`);
  args.push(action);
  return s.user === ""
    ? run(s.ctl, args)
    : run("runuser", ["-u", s.user, "--", s.ctl, ...args]);
}

/** One short-lived admin connection (the server may restart between). */
export function admin<R>(
  s: Server,
  fn: (c: pg.Client) => Promise<R>,
): Promise<R> {
  return withClient(
    { connectionString: s.url, application_name: "ppp_admin" },
    fn,
  );
}

/** Runs `fn` on a new client, ended afterwards whatever `fn` does. */
export async function withClient<R>(
  config: pg.ClientConfig,
  fn: (c: pg.Client) => Promise<R>,
): Promise<R> {
  const c = new pg.Client(config);
  c.on("error", () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** How many connections the server has from application `app`. */
export async function serverConns(s: Server, app: string): Promise<number> {
  return await admin(s, async (c) => {
    const r = await c.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
      [app],
    );
    return r.rows[0].n as number;
  });
}

/** Waits on a condition, polling every `step` ms, failing after `limit` ms. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  limit: number,
  step = 10,
): Promise<number> {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > limit) {
      throw new Error(`Timed out after ${limit} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, step));
  }
  return performance.now() - t0;
}
