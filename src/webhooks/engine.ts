/**
 * The job engine under webhook fan-out and delivery: pg-boss 10, on the same
 * database as everything else through its `db` adapter (PostgreSQL in
 * production, PGlite in the embedded default: one code path).
 *
 * - Its tables live in a schema of their own beside Gatehouse's
 *   (`<schema>_jobs`, or `pgboss` for the default schema), so test files that
 *   each own a schema never share a queue.
 * - A job can be created inside a caller's Kysely transaction (`send` with a
 *   per-call adapter over `trx`): the row a job is about and the job commit
 *   together or not at all (the intake's event and its fan-out job; a
 *   delivery and its attempt job).
 * - PGlite serialises on one connection: the adapter never borrows a second
 *   connection inside a transaction (it runs on `trx` only), and pg-boss's
 *   multi-statement set-up script runs through `DatabaseHandle.runScript`.
 * - Job ids can be chosen by the caller: pg-boss inserts with ON CONFLICT DO
 *   NOTHING, so a deterministic id makes an enqueue idempotent.
 */
import { createHash } from 'node:crypto';
import PgBoss from 'pg-boss';
import { CompiledQuery, type QueryResult } from 'kysely';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../store/database.js';

export const QUEUES = { fanOut: 'webhook-fan-out', deliver: 'webhook-deliver' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** A Kysely database or transaction, over any tables: the adapter only runs pg-boss's own SQL. */
export interface QueryRunner {
  executeQuery(query: CompiledQuery): Promise<QueryResult<unknown>>;
}

/** pg-boss's schema for a Gatehouse schema: a sibling, so dropping one test's schema pair leaves others alone. */
export function jobSchemaFor(databaseSchema: string | undefined): string {
  return databaseSchema ? `${databaseSchema}_jobs` : 'pgboss';
}

/** pg-boss's `db` adapter over a Kysely executor (the database, or a transaction). */
export function kyselyAdapter(executor: QueryRunner, handle?: Pick<DatabaseHandle, 'runScript'>): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      if (values.length === 0 && handle) {
        const results = await handle.runScript(text);
        return { rows: results.at(-1)?.rows ?? [] };
      }
      const result = await executor.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] };
    },
  };
}

/** A UUID derived from a name: the id of the job that does one piece of work, so enqueuing it twice is one job. */
export function jobId(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface JobEngineOptions {
  handle: DatabaseHandle;
  databaseSchema?: string;
  logger: Logger;
}

export interface JobEngine {
  boss: PgBoss;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Creates a job in the caller's transaction; `id` makes it idempotent. */
  sendIn(trx: QueryRunner, queue: QueueName, data: object, options?: PgBoss.SendOptions): Promise<void>;
  send(queue: QueueName, data: object, options?: PgBoss.SendOptions): Promise<void>;
  /** Claims up to `batchSize` jobs now, due or not by the database's clock (the caller judges due-ness on Gatehouse's clock). */
  fetch<T>(queue: QueueName, batchSize: number): Promise<Array<PgBoss.Job<T>>>;
  complete(queue: QueueName, id: string): Promise<void>;
  /** Hands the job back for pg-boss to retry after the queue's retry delay. */
  fail(queue: QueueName, id: string, reason: string): Promise<void>;
  /** Jobs waiting or running, per queue (for the queue-depth gauge). */
  depth(queue: QueueName): Promise<number>;
}

/**
 * Queue settings. Retries of a job are the engine's business only when a
 * worker died or a job came early: the delivery schedule itself lives in the
 * delivery rows (Gatehouse's clock), so the limit is generous and the delay
 * short. A job running longer than `expireInSeconds` is taken as lost (its
 * worker killed) and retried by another instance.
 */
const QUEUE_SETTINGS: Record<QueueName, PgBoss.Queue> = {
  [QUEUES.fanOut]: { name: QUEUES.fanOut, retryLimit: 50, retryDelay: 5, retryBackoff: true, expireInSeconds: 120 },
  [QUEUES.deliver]: { name: QUEUES.deliver, retryLimit: 1000, retryDelay: 2, expireInSeconds: 60 },
};

export function createJobEngine(options: JobEngineOptions): JobEngine {
  const { handle, logger } = options;
  const schema = jobSchemaFor(options.databaseSchema);
  const db: QueryRunner = handle.db;
  const boss = new PgBoss({
    db: kyselyAdapter(db, handle),
    schema,
    migrate: true,
    // Gatehouse schedules by its own clock; pg-boss's cron is not used.
    schedule: false,
    supervise: true,
    maintenanceIntervalSeconds: 30,
  });
  boss.on('error', (err) => logger.warn({ err: err.message }, 'job engine error'));
  return {
    boss,
    async start() {
      await boss.start();
      for (const queue of Object.values(QUEUE_SETTINGS)) {
        if (!(await boss.getQueue(queue.name))) await boss.createQueue(queue.name, queue);
      }
    },
    async stop() {
      await boss.stop({ graceful: true, wait: true, timeout: 5000, close: false });
    },
    async sendIn(trx, queue, data, sendOptions = {}) {
      await boss.send(queue, data, { ...sendOptions, db: kyselyAdapter(trx) });
    },
    async send(queue, data, sendOptions = {}) {
      await boss.send(queue, data, { ...sendOptions, db: kyselyAdapter(db) });
    },
    async fetch<T>(queue: QueueName, batchSize: number) {
      return boss.fetch<T>(queue, { batchSize, ignoreStartAfter: true, db: kyselyAdapter(db) });
    },
    async complete(queue, id) {
      await boss.complete(queue, id, { db: kyselyAdapter(db) });
    },
    async fail(queue, id, reason) {
      await boss.fail(queue, id, { reason }, { db: kyselyAdapter(db) });
    },
    async depth(queue) {
      return boss.getQueueSize(queue, { before: 'completed' });
    },
  };
}
