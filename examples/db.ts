// The application's database handle, the Flask-blueprint story in Deno:
// handler modules import `db` at load time, before anything is configured;
// `main` (serve.ts, demo.ts) sets it up later with `useSqlite` or
// `usePostgres`. Every request borrows its own connection from the pool
// behind the proxy (Scope.AUTO with a fun is ASYNC: one per `scoped` call).
import { DatabaseSync } from "node:sqlite";
// @ts-types="npm:@types/pg@^8"
import pg from "pg";
import { Proxy, type ProxySetOptions } from "../mod.ts";

/** The little a handler needs from a connection, on either backend. */
export interface Db {
  /** Runs one statement with `$1`, `$2`… placeholders; returns its rows. */
  query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<R[]>;
  /** Closes the connection. */
  close(): Promise<void>;
  /** `"sqlite"` or `"postgres"`. */
  readonly backend: string;
}

/** A proxy to nothing yet: set up by `useSqlite` or `usePostgres`. */
export const db = new Proxy<Db>({ name: "db" });

/** The demo's table, on either backend. */
export const TABLE = "ppp_demo_notes";

/** Pool options shared by both backends. */
export interface DbPoolOptions {
  /** Most connections at once. */
  maxSize: number;
  /** How long a request waits for a connection, in milliseconds. */
  timeout?: number;
}

/** Options of {@linkcode postgresOptions} and {@linkcode usePostgres}. */
export interface PostgresOptions extends DbPoolOptions {
  /**
   * How long a connect may take before pg gives up (its
   * `connectionTimeoutMillis`), in milliseconds; keep it below the pool's
   * `createTimeout` (10 000).
   */
  connectTimeout?: number;
}

/** Options of {@linkcode useSqlite}. */
export interface SqliteOptions extends DbPoolOptions {
  /**
   * Milliseconds each query waits before running. SQLite runs in-process
   * and synchronously, so requests never overlap while holding a
   * connection; a delay standing in for a database server's round-trip
   * makes them overlap as they would over a network, and exercises the
   * pool. `0` runs queries at once.
   */
  latency?: number;
}

class SqliteDb implements Db {
  readonly backend = "sqlite";
  readonly #conn: DatabaseSync;
  readonly #latency: number;

  constructor(path: string, latency: number) {
    this.#conn = new DatabaseSync(path);
    // WAL with synchronous NORMAL: commits do not wait for fsync (the
    // usual setting for WAL; durable except on power loss).
    this.#conn.exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
    );
    this.#latency = latency;
  }

  async query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    if (this.#latency > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.#latency));
    }
    // SQLite numbers its placeholders ?1, ?2…; PostgreSQL $1, $2…
    const statement = this.#conn.prepare(sql.replace(/\$(\d+)/g, "?$1"));
    return statement.all(...(params as (string | number | null)[])) as R[];
  }

  close(): Promise<void> {
    this.#conn.close();
    return Promise.resolve();
  }
}

class PostgresDb implements Db {
  readonly backend = "postgres";

  constructor(readonly client: pg.Client) {}

  async query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    const result = await this.client.query(sql, params as unknown[]);
    return result.rows as R[];
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

/**
 * Sets `db` up on a pool of `node:sqlite` connections to one WAL database
 * file, and creates the demo table.
 */
export function useSqlite(
  path: string,
  { maxSize, timeout, latency = 0 }: SqliteOptions,
): void {
  const setup = new DatabaseSync(path);
  try {
    setup.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE IF NOT EXISTS ${TABLE} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        body TEXT NOT NULL
      )`);
  } finally {
    setup.close();
  }
  db.set({
    fun: () => new SqliteDb(path, latency),
    closer: (conn) => conn.close(),
    maxSize,
    timeout,
  });
}

/**
 * The pool options of `npm:pg` clients for a proxy of {@linkcode Db}: how
 * to create, reset, check and close a client. {@linkcode usePostgres} sets
 * `db` up with them; a test can make its own proxy with them.
 */
export function postgresOptions(
  url: string,
  { maxSize, timeout, connectTimeout = 5_000 }: PostgresOptions,
): ProxySetOptions<Db> {
  // Every object of this pool is a PostgresDb made by `fun` below.
  const clientOf = (conn: Db) => (conn as PostgresDb).client;
  const broken = new WeakSet<pg.Client>();
  return {
    fun: async () => {
      // A host that never answers: pg gives up after connectTimeout and
      // closes its socket, before the pool's createTimeout (10 s) would
      // give the creation up with the socket still open.
      const client = new pg.Client({
        connectionString: url,
        connectionTimeoutMillis: connectTimeout,
      });
      // A connection that dies while idle emits "error"; without a
      // listener the process would crash. Mark the client: its return
      // closes it.
      client.on("error", () => broken.add(client));
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => {});
        throw error;
      }
      return new PostgresDb(client);
    },
    // Reset on return: roll back what a request left open. A client that
    // cannot be reset (its connection died) fails ROLLBACK, and the pool
    // closes it instead of lending it again.
    retter: async (conn) => {
      const client = clientOf(conn);
      if (broken.has(client) || client.getTransactionStatus() !== "I") {
        await client.query("ROLLBACK");
      }
    },
    // A client idle for checkSkip (500 ms) is checked before it is lent.
    check: async (conn) =>
      (await clientOf(conn).query("SELECT 1")).rowCount === 1,
    closer: (conn) => conn.close(),
    maxSize,
    timeout,
  };
}

/**
 * Sets `db` up on a pool of `npm:pg` clients, and creates the demo table.
 */
export async function usePostgres(
  url: string,
  options: PostgresOptions,
): Promise<void> {
  db.set(postgresOptions(url, options));
  await db._obj((conn) =>
    conn.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
      id SERIAL PRIMARY KEY,
      body TEXT NOT NULL
    )`)
  );
}

/** What {@linkcode useDatabaseFromEnv} set up. */
export interface Database {
  /** Says which backend, for a log line. */
  readonly label: string;
  /** Shuts `db` down and removes SQLite's temp dir, if any. */
  close(): Promise<void>;
}

/**
 * Sets `db` up for an app's `main`: on PostgreSQL when `DATABASE_URL` is
 * set, else on SQLite in a new temp dir.
 */
export async function useDatabaseFromEnv(
  options: DbPoolOptions,
): Promise<Database> {
  const url = Deno.env.get("DATABASE_URL");
  if (url !== undefined) {
    await usePostgres(url, options);
    return { label: "PostgreSQL", close: () => db._shutdown() };
  }
  const dir = await Deno.makeTempDir();
  useSqlite(`${dir}/app.db`, options);
  return {
    label: `SQLite in ${dir}`,
    close: async () => {
      await db._shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Drops the demo table (PostgreSQL: the database outlives the demo). */
export async function dropTable(): Promise<void> {
  await db._obj((conn) => conn.query(`DROP TABLE IF EXISTS ${TABLE}`));
}
