import type { Database } from '../../db/client';
import { appRouter } from '../router';

/** One answer the suite received. */
export interface Answer {
  status: number;
  body: unknown;
  /** The `Retry-After` header, when the answer has one. */
  retryAfter?: string | null;
}

/** A 5xx, or a 4xx that does not say what was wrong, with what was sent. */
export interface Failure {
  request: string;
  status: number;
  body: string;
}

const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;

/** `query` or `mutation`, as the router declares it. */
export const procedureType = (path: string) => procedures[path]?._def.type;

export const procedurePaths = () => Object.keys(procedures).sort();

/**
 * Sends requests to a real server over keep-alive connections (Node's
 * `fetch`), counts them and collects every answer that breaks the rules:
 * no status ≥ 500, and every 4xx carries an error message.
 */
export function createProber(baseUrl: string) {
  let sent = 0;
  const failures: Failure[] = [];

  async function send(path: string, init: RequestInit = {}): Promise<Answer> {
    sent++;
    const res = await fetch(`${baseUrl}${path}`, init);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Kept as text: a 4xx without a JSON error is reported below.
    }
    const message = errorMessage(body);
    if (res.status >= 500 || (res.status >= 400 && !message)) {
      const described = typeof init.body === 'string' ? init.body.slice(0, 500) : String(init.body ?? '');
      failures.push({
        request: `${init.method ?? 'GET'} ${path.slice(0, 500)} ${described}`,
        status: res.status,
        body: text.slice(0, 500),
      });
    }
    return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
  }

  /**
   * Calls a tRPC procedure the way `httpLink` does (GET `?input=` for queries, POST for
   * mutations); a success's body is the procedure's result, unwrapped from tRPC's envelope.
   */
  async function call(procedure: string, input: unknown, headers: Record<string, string>): Promise<Answer> {
    const json = JSON.stringify(input) ?? 'null';
    const answer =
      procedureType(procedure) === 'query'
        ? await send(`/trpc/${procedure}?input=${encodeURIComponent(json)}`, { headers })
        : await send(`/trpc/${procedure}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: json,
          });
    const result = (answer.body as { result?: { data?: unknown } } | null)?.result;
    return result ? { ...answer, body: result.data } : answer;
  }

  return {
    send,
    call,
    get sent() {
      return sent;
    },
    failures,
  };
}

/** The error message of an answer; a tRPC batch answer has one per call, and each must have one. */
function errorMessage(body: unknown): string | undefined {
  if (Array.isArray(body)) {
    const messages = body.map(errorMessage);
    return messages.every((m) => m !== undefined) ? messages.join('; ') : undefined;
  }
  const error = (body as { error?: { message?: unknown } } | null)?.error;
  return typeof error?.message === 'string' && error.message.length > 0 ? error.message : undefined;
}

/** The shape of a batch answer: every rejected row says index, path and message. */
export function isWellFormedRejection(row: unknown): boolean {
  const r = row as { index?: unknown; path?: unknown; message?: unknown };
  return (
    Number.isInteger(r.index) &&
    typeof r.path === 'string' &&
    typeof r.message === 'string' &&
    r.message !== ''
  );
}

/**
 * Rows no request should have been able to leave: U+FFFD anywhere (the suite
 * never sends it, so one means a lone surrogate or bad byte was mangled on
 * the way in) and timestamps outside years 0001–9999. NUL cannot be stored at
 * all, so its absence is what the 0-failure assertion already proves.
 */
export async function findInvalidRows(database: Database): Promise<string[]> {
  const problems: string[] = [];
  const tables = await database.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  for (const { table_name: table } of tables) {
    const [row] = await database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${table}" AS r WHERE strpos(r::text, chr(65533)) > 0`,
    );
    if (row && row.n > 0) problems.push(`${table}: ${row.n} rows contain U+FFFD`);
  }
  const columns = await database.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = 'public' AND data_type = 'timestamp with time zone'`,
  );
  for (const { table_name: table, column_name: column } of columns) {
    const [row] = await database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${table}"
       WHERE "${column}" < '0001-01-01T00:00:00Z'::timestamptz OR "${column}" > '9999-12-31T23:59:59.999Z'::timestamptz`,
    );
    if (row && row.n > 0) problems.push(`${table}.${column}: ${row.n} rows outside years 0001–9999`);
  }
  return problems;
}
