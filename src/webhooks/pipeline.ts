/**
 * The webhook pipeline of one instance: the job engine, the fan-out and
 * delivery workers, the sweep, and the admin actions ("Retry now", replay).
 *
 * Work reaches a worker two ways, both safe to overlap (every state change is
 * a compare-and-set on the delivery row, src/webhooks/delivery.ts):
 * - the engine's jobs (the normal path: fan-out jobs committed with their
 *   event, attempt jobs committed with the row that schedules them);
 * - `runDue(now)`: fan-out jobs waiting, then every delivery due by
 *   Gatehouse's clock, straight from the rows. Tests call it with a manual
 *   clock; the instance runs it every minute as a sweep, so a delivery whose
 *   job the engine gave up on is still made.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type PgBoss from 'pg-boss';
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import type { AncestryCache } from '../proxy/scope.js';
import type { DatabaseHandle } from '../store/database.js';
import type { Database } from '../store/schema.js';
import type { Stores } from '../store/stores.js';
import { attemptDelivery, type AttemptOutcome, type DeliveryPolicy } from './delivery.js';
import { createJobEngine, jobId, QUEUES, type JobEngine } from './engine.js';
import { attemptJob, fanOut } from './fan-out.js';
import type { WebhookMetrics } from './metrics.js';
import { createWebhookSender, type WebhookSender } from './outbound.js';

export interface PipelineOptions {
  handle: DatabaseHandle;
  databaseSchema?: string;
  stores: Stores;
  keyring: Keyring;
  clock: Clock;
  cache: AncestryCache;
  logger: Logger;
  policy: DeliveryPolicy;
  allowLoopbackHttp: boolean;
  sender?: WebhookSender;
  metrics?: WebhookMetrics;
}

export interface Actor {
  type: 'person' | 'admin_token' | 'system';
  id?: string | null;
  label?: string | null;
  address?: string | null;
}

export interface WebhookPipeline {
  engine: JobEngine;
  /** Creates the event's fan-out job in the caller's transaction: the intake commits event and job together. */
  enqueueFanOut(trx: Kysely<Database>, eventId: string): Promise<void>;
  /** Fan-out jobs waiting, then every delivery due by `now` (defaults to the clock). */
  runDue(now?: Date): Promise<{ fannedOut: number; attempts: AttemptOutcome[] }>;
  /** A failed or skipped delivery, due again at once; false when it is not in such a state. */
  retryNow(deliveryId: string, actor: Actor): Promise<boolean>;
  /** Re-fans-out, for one subscription, the stored events received in [since, until), on today's grants. */
  replay(subscriptionId: string, since: Date, until: Date | null, actor: Actor): Promise<{ replayId: string; events: number }>;
  /** Starts the engine's workers and the sweep (not in tests, which call runDue). */
  startWorkers(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const SWEEP_MS = 60_000;
const BATCH = 20;
const DELIVERY_WORKERS = 4;

export function createWebhookPipeline(options: PipelineOptions): WebhookPipeline {
  const { stores, clock, logger } = options;
  const db = options.handle.db;
  const engine = createJobEngine({ handle: options.handle, databaseSchema: options.databaseSchema, logger });
  const sender = options.sender ?? createWebhookSender({ allowLoopbackHttp: options.allowLoopbackHttp });
  const deliveryDeps = {
    db,
    subscriptions: stores.webhookSubscriptions,
    audit: stores.audit,
    keyring: options.keyring,
    sender,
    engine,
    clock,
    cache: options.cache,
    policy: options.policy,
    logger,
    metrics: options.metrics,
  };
  const fanOutDeps = { db, cache: options.cache, engine, clock };
  let sweep: NodeJS.Timeout | null = null;
  let sweeping: Promise<unknown> | null = null;

  const runFanOut = async (job: PgBoss.Job<{ eventId: string; origin?: string; subscriptionId?: string }>) => {
    const { eventId, origin, subscriptionId } = job.data;
    await fanOut(fanOutDeps, { eventId, ...(origin ? { origin } : {}), ...(subscriptionId ? { subscriptionId } : {}) });
    if (!origin || origin === 'live') {
      const event = await db.selectFrom('webhook_events').select('type').where('id', '=', eventId).executeTakeFirst();
      if (event) options.metrics?.events.inc({ type: boundedType(event.type) });
    }
  };

  const dueDeliveries = async (now: Date) =>
    db
      .selectFrom('webhook_deliveries')
      .select(['id', 'status', 'attempts'])
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'pending'), eb('next_attempt_at', '<=', now)]),
          eb.and([eb('status', '=', 'sending'), eb('lease_until', '<=', now)]),
        ]),
      )
      .orderBy('next_attempt_at')
      .limit(500)
      .execute();

  const pipeline: WebhookPipeline = {
    engine,
    async enqueueFanOut(trx, eventId) {
      await engine.sendIn(trx, QUEUES.fanOut, { eventId }, { id: jobId(`webhook-fan-out:${eventId}:live`) });
    },
    async runDue(now) {
      let fannedOut = 0;
      for (;;) {
        const jobs = await engine.fetch<{ eventId: string; origin?: string; subscriptionId?: string }>(QUEUES.fanOut, BATCH);
        if (jobs.length === 0) break;
        for (const job of jobs) {
          try {
            await runFanOut(job);
            await engine.complete(QUEUES.fanOut, job.id);
            fannedOut += 1;
          } catch (err) {
            logger.warn({ err: String(err), eventId: job.data.eventId }, 'webhook fan-out failed; retried later');
            await engine.fail(QUEUES.fanOut, job.id, String(err));
          }
        }
        if (jobs.length < BATCH) break;
      }
      const attempts: AttemptOutcome[] = [];
      for (const row of await dueDeliveries(now ?? clock.now())) {
        const attempt = row.status === 'pending' ? Number(row.attempts) + 1 : Number(row.attempts);
        attempts.push(await attemptDelivery(now ? { ...deliveryDeps, clock: { now: () => now } } : deliveryDeps, row.id, attempt));
      }
      return { fannedOut, attempts };
    },
    async retryNow(deliveryId, actor) {
      const now = clock.now();
      const attempt = await stores.webhookDeliveries.retryNow(deliveryId, now);
      if (attempt === null) return false;
      const job = attemptJob(deliveryId, attempt);
      // A second "Retry now" of the same attempt is the same job.
      await engine.send(QUEUES.deliver, job.data, { id: jobId(`${job.id}:${now.getTime()}`) });
      const delivery = await stores.webhookDeliveries.findById(deliveryId);
      await stores.audit.record(
        {
          action: 'webhook_delivery.retried',
          actor: { type: actor.type, id: actor.id ?? null, label: actor.label ?? null },
          target: { type: 'webhook_delivery', id: deliveryId },
          address: actor.address ?? null,
          outcome: 'success',
          detail: { subscriptionId: delivery?.subscriptionId ?? null, attempt },
        },
        now,
      );
      return true;
    },
    async replay(subscriptionId, since, until, actor) {
      const subscription = await stores.webhookSubscriptions.findById(subscriptionId);
      if (!subscription) throw new Error('unknown subscription');
      const replayId = randomUUID();
      const now = clock.now();
      const events = await db.transaction().execute(async (trx) => {
        let query = trx
          .selectFrom('webhook_events')
          .select('id')
          .where('received_at', '>=', since)
          .where('type', 'in', subscription.events.length > 0 ? subscription.events : ['-'])
          .orderBy('received_at');
        if (until) query = query.where('received_at', '<', until);
        const rows = await query.limit(10_000).execute();
        for (const row of rows) {
          const data = { eventId: row.id, origin: `replay:${replayId}`, subscriptionId };
          await engine.sendIn(trx, QUEUES.fanOut, data, { id: jobId(`webhook-fan-out:${row.id}:${replayId}`) });
        }
        return rows.length;
      });
      await stores.audit.record(
        {
          action: 'webhook_subscription.replayed',
          actor: { type: actor.type, id: actor.id ?? null, label: actor.label ?? null },
          target: { type: 'webhook_subscription', id: subscriptionId },
          address: actor.address ?? null,
          outcome: 'success',
          detail: { replayId, since: since.toISOString(), until: until?.toISOString() ?? null, events, appId: subscription.appId },
        },
        now,
      );
      return { replayId, events };
    },
    async startWorkers() {
      // pg-boss 10 waits its polling interval after every fetch, even one that found work, which caps a
      // worker at one batch a second. A worker whose batch succeeded asks for its next one at once; only an
      // empty fetch or a failed batch (e.g. not due yet) waits the interval, so an idle queue is not spun on.
      // The worker's id is known only once work() answers; a batch that ends before then waits as before.
      const again = (worker: { id?: string }) => {
        if (worker.id !== undefined) engine.boss.notifyWorker(worker.id);
      };
      const fanOutWorker: { id?: string } = {};
      const deliveryWorkers: Array<{ id?: string }> = [];
      fanOutWorker.id = await engine.boss.work<{ eventId: string }>(
        QUEUES.fanOut,
        { batchSize: 5, pollingIntervalSeconds: 1 },
        async (jobs) => {
          for (const job of jobs) await runFanOut(job);
          again(fanOutWorker);
          // The deliveries it made are committed: this instance's idle delivery workers look now, not at their next poll.
          for (const worker of deliveryWorkers) again(worker);
        },
      );
      // One job per worker call, several workers: a job that is not due yet goes back alone.
      for (let i = 0; i < DELIVERY_WORKERS; i++) {
        const worker: { id?: string } = {};
        deliveryWorkers.push(worker);
        worker.id = await engine.boss.work<{ deliveryId: string; attempt: number }>(
          QUEUES.deliver,
          { batchSize: 1, pollingIntervalSeconds: 1 },
          async ([job]) => {
            const outcome = await attemptDelivery(deliveryDeps, job!.data.deliveryId, job!.data.attempt);
            // Early (clock skew) or another worker's lease still running: the engine brings the job back after its retry delay.
            if (outcome === 'not_due') throw new Error('delivery not due yet');
            again(worker);
          },
        );
      }
      sweep = setInterval(() => {
        if (sweeping) return;
        sweeping = pipeline
          .runDue()
          .catch((err: unknown) => logger.warn({ err: String(err) }, 'webhook sweep failed'))
          .finally(() => (sweeping = null));
      }, SWEEP_MS);
      sweep.unref();
    },
    async start() {
      await engine.start();
    },
    async stop() {
      if (sweep) clearInterval(sweep);
      await sweeping;
      await engine.stop();
    },
  };
  return pipeline;
}

function boundedType(type: string): string {
  return /^(page|database|data_source|comment|view|file_upload)(\.[a-z_]{1,40}){1,2}$/.test(type) ? type : 'other';
}
