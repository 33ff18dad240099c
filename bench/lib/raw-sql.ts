// A plain driver connection for the hand-written SQL and modoboa-amavis's queries: no drizzle, no pool,
// text in, rows out. Statement timeouts keep a slow reference query from eating the run.
import mysql from 'mysql2/promise';
import postgres from 'postgres';

export interface RawSql {
  dialect: 'pg' | 'mysql';
  /** Runs one statement with positional parameters ($1… on PostgreSQL, ? on MariaDB). */
  query(text: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /**
   * Runs one statement under a time limit; `timedOut` instead of rows when it ran out. Rows are counted,
   * not kept: modoboa-amavis's count fetches hundreds of thousands.
   */
  timed(
    text: string,
    params: readonly unknown[],
    timeoutMs: number,
  ): Promise<{ ms: number; rows: number; timedOut: boolean }>;
  version(): Promise<string>;
  close(): Promise<void>;
}

export async function openRawSql(dialect: 'pg' | 'mysql', url: string): Promise<RawSql> {
  if (dialect === 'pg') {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    return {
      dialect,
      query: async (text, params = []) =>
        (await sql.unsafe(text, params as never[])) as unknown as Record<string, unknown>[],
      timed: async (text, params, timeoutMs) => {
        const t0 = performance.now();
        try {
          const rows = await sql.begin(async (tx) => {
            await tx.unsafe(`set local statement_timeout = ${Math.round(timeoutMs)}`);
            return tx.unsafe(text, params as never[]);
          });
          return { ms: performance.now() - t0, rows: rows.length, timedOut: false };
        } catch (error) {
          if ((error as { code?: string }).code === '57014') {
            return { ms: performance.now() - t0, rows: 0, timedOut: true };
          }
          throw error;
        }
      },
      version: async () => String((await sql`select version() as v`)[0]?.v ?? ''),
      close: () => sql.end(),
    };
  }
  const connection = await mysql.createConnection({
    uri: url,
    supportBigNumbers: true,
    timezone: 'Z',
    charset: 'utf8mb4',
  });
  return {
    dialect,
    query: async (text, params = []) => {
      const [rows] = await connection.query(text, params as unknown[]);
      return rows as Record<string, unknown>[];
    },
    timed: async (text, params, timeoutMs) => {
      const t0 = performance.now();
      try {
        const seconds = Math.max(1, Math.round(timeoutMs / 1000));
        const [rows] = await connection.query(
          `SET STATEMENT max_statement_time = ${seconds} FOR ${text}`,
          params as unknown[],
        );
        return { ms: performance.now() - t0, rows: (rows as unknown[]).length, timedOut: false };
      } catch (error) {
        // ER_STATEMENT_TIMEOUT
        if ((error as { errno?: number }).errno === 1969) {
          return { ms: performance.now() - t0, rows: 0, timedOut: true };
        }
        throw error;
      }
    },
    version: async () => {
      const [rows] = await connection.query('select version() as v');
      return String((rows as { v: string }[])[0]?.v ?? '');
    },
    close: () => connection.end(),
  };
}
