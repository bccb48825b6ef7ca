// Request handlers: they import the `db` proxy at module load, long before
// `main` sets it up, and use it as if it were a connection. Each runs in
// its own scope (see serve.ts), where `await db._getObj()` bound the
// request's own connection first.
import { db, TABLE } from "./db.ts";

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}

/** POST /notes {"body": "…"}: stores a note, answers its id. */
export async function createNote(req: Request): Promise<Response> {
  const input = await req.json().catch(() => undefined);
  if (typeof input?.body !== "string") {
    return json({ error: "expected a JSON object with a string 'body'" }, 400);
  }
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO ${TABLE} (body) VALUES ($1) RETURNING id`,
    [input.body],
  );
  return json({ id: Number(row.id) }, 201);
}

/** GET /notes/:id: one note, or 404. */
export async function readNote(id: number): Promise<Response> {
  const [row] = await db.query<{ id: number; body: string }>(
    `SELECT id, body FROM ${TABLE} WHERE id = $1`,
    [id],
  );
  if (row === undefined) return json({ error: `no note ${id}` }, 404);
  return json({ id: Number(row.id), body: row.body });
}

/** GET /notes/count: how many notes there are. */
export async function countNotes(): Promise<Response> {
  const [row] = await db.query<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM ${TABLE}`,
  );
  return json({ count: Number(row.n) });
}
