// Test helpers for the tests against a real PostgreSQL (pg_test.ts,
// pg_service_test.ts): where the server comes from, pg_ctl, an admin
// connection, polling. The server comes from `.ci/run` (PPP_PG_* variables,
// see .ci/postgres.sh); without them a test starts one itself if
// PostgreSQL is installed. Locally a test is skipped loudly when no server
// can be had; under CI=true it must run. Not published.
// @ts-types="npm:@types/pg@^8"
import pg from "pg";

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
  const text = await run("bash", [
    SCRIPT,
    "start",
    ...(CI ? [] : ["--no-install"]),
  ]);
  const vars: Record<string, string> = {};
  for (const m of text.matchAll(/^export (PPP_PG_\w+)=(.*)$/gm)) {
    vars[m[1]] = m[2];
  }
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
export async function startServer(file: string): Promise<Server> {
  try {
    return await start();
  } catch (err) {
    throw new Error(
      `Cannot start PostgreSQL for ${file}${
        CI ? " (CI=true: this test must run)" : ""
      }: ${err instanceof Error ? err.message : err}`,
    );
  }
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
export async function admin<R>(
  s: Server,
  fn: (c: pg.Client) => Promise<R>,
): Promise<R> {
  const c = new pg.Client({
    connectionString: s.url,
    application_name: "ppp_admin",
  });
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
