// Must NOT type-check: `proxy_test.ts` runs `deno check` on this file and
// expects the diagnostic for the misspelt member. Excluded from `deno check .`.
import { Proxy } from "../proxy.ts";

interface Client {
  query(sql: string): Promise<string[]>;
}

const db = new Proxy<Client>();
export const rows: Promise<string[]> = db.qurey("SELECT 1");
