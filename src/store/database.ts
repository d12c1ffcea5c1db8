/**
 * The database connection: PostgreSQL through `pg` when DATABASE_URL is set,
 * else PGlite (PostgreSQL in WebAssembly) in the data folder, so one SQL
 * dialect and one set of migrations serve both modes.
 */
import fs from 'node:fs';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: 'postgres' | 'pglite';
  /** Cheap reachability check for /readyz; rejects within the timeout. */
  ping(timeoutMs: number): Promise<void>;
  /**
   * Runs a multi-statement SQL script without parameters (the job engine's own
   * schema set-up). PGlite's parameterised path takes one statement at a time;
   * its script path runs here while holding Kysely's single connection, so it
   * never interleaves with a transaction in progress.
   */
  runScript(text: string): Promise<Array<{ rows: unknown[] }>>;
  close(): Promise<void>;
}

export type DatabaseOptions =
  | { kind: 'postgres'; url: string; schema?: string; timeoutMs?: number; poolSize?: number; onError?: (err: Error) => void }
  | { kind: 'pglite'; dataDir: string | null }; // null: in memory (tests)

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The hot path's statements, by text: on PostgreSQL each runs as a named
 * prepared statement, parsed and planned once per connection instead of on
 * every request (pg's `{ name, text, values }`). Kysely's driver only passes
 * text and values, so the pool's clients map a registered text to its name.
 * PGlite runs the same text as it is.
 */
const preparedNames = new Map<string, string>();

export function prepared(name: string, text: string): string {
  const known = preparedNames.get(text);
  if (known !== undefined && known !== name) throw new Error(`statement registered twice: ${known}, ${name}`);
  preparedNames.set(text, name);
  return text;
}

/** PostgreSQL's "cached plan must not change result type": a table's columns changed under a prepared `select *`. */
const PLAN_RESULT_CHANGED = '0A000';

type QueryFn = (...args: unknown[]) => Promise<unknown>;

function usePreparedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as QueryFn;
  // A statement invalidated by a migration (e.g. a rolling deploy adding a column) is prepared again under a new name.
  let generation = 0;
  (client as unknown as { query: QueryFn }).query = (text: unknown, values?: unknown, ...rest: unknown[]) => {
    const name = typeof text === 'string' && rest.length === 0 && Array.isArray(values) ? preparedNames.get(text) : undefined;
    if (name === undefined) return query(text, values, ...rest);
    return (query({ name: `${name}_${generation}`, text, values }) as Promise<unknown>).catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== PLAN_RESULT_CHANGED) throw err;
      generation++;
      return query(text, values);
    });
  };
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.kind === 'postgres') return openPostgres(options);
  return openPglite(options.dataDir);
}

async function openPostgres(options: Extract<DatabaseOptions, { kind: 'postgres' }>): Promise<DatabaseHandle> {
  const timeoutMs = options.timeoutMs ?? 3000;
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) throw new Error('invalid schema name');
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    // Fail fast instead of hanging when PostgreSQL is unreachable (pages answer 503).
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs * 3,
    idleTimeoutMillis: 10_000,
    options: options.schema ? `-c search_path=${options.schema}` : undefined,
  });
  // An idle client losing its connection emits 'error' on the pool; unheard, it kills the process.
  pool.on('error', (err) => options.onError?.(err));
  // A checked-out client has no listener of pg-pool's; a dropped connection mid-query would crash the process.
  pool.on('connect', (client) => {
    client.on('error', (err) => options.onError?.(err));
    usePreparedStatements(client);
  });
  if (options.schema) {
    const client = await pool.connect();
    try {
      await client.query(`create schema if not exists "${options.schema}"`);
    } finally {
      client.release();
    }
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: 'postgres',
    ping: (ms) =>
      withTimeout(
        sql`select 1`.execute(db).then(() => undefined),
        ms,
      ),
    async runScript(text) {
      const result = (await pool.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
      return (Array.isArray(result) ? result : [result]).map((r) => ({ rows: r.rows ?? [] }));
    },
    close: () => db.destroy(),
  };
}

async function openPglite(dataDir: string | null): Promise<DatabaseHandle> {
  // Imported lazily: production on PostgreSQL never loads the WebAssembly build.
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([import('@electric-sql/pglite'), import('kysely-pglite-dialect')]);
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  const pglite = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    ping: (ms) =>
      withTimeout(
        sql`select 1`.execute(db).then(() => undefined),
        ms,
      ),
    runScript: (text) => db.connection().execute(async () => (await pglite.exec(text)).map((r) => ({ rows: r.rows }))),
    async close() {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}

export async function migrateToLatest(handle: DatabaseHandle, schema?: string): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const migrator = new Migrator({
      db: handle.db,
      provider: migrationProvider,
      ...(schema ? { migrationTableSchema: schema } : {}),
    });
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // Kysely checks for its tables by listing every schema's tables (has_schema_privilege by name): a
    // schema someone else drops meanwhile (another instance's, a test's) fails that scan with 3F000
    // invalid_schema_name before any migration ran. Look again rather than fail start-up.
    if ((error as { code?: unknown }).code === '3F000' && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      continue;
    }
    throw error instanceof Error ? error : new Error(String(error));
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
