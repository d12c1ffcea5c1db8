/**
 * One delivery attempt. The delivery row holds the truth (state, attempts
 * made, next attempt time on Gatehouse's clock); a job in the engine only
 * wakes a worker for "attempt N of delivery D", and any number of jobs for
 * the same attempt may exist (retried fan-out, "Retry now", the sweep):
 *
 *   job (D, N) ─▶ claim: CAS pending/N-1/due ─▶ sending/N, lease = now + timeout + margin
 *                 │     or CAS sending/N with the lease run out (its worker died)
 *                 ├▶ not due (early, or another worker's lease runs) ─▶ the engine retries the job later
 *                 └▶ stale (attempt N already decided) ─▶ done, nothing sent
 *              ─▶ re-check today's grant and subscription ─▶ sign ─▶ POST (deadline)
 *              ─▶ finish: CAS sending/N ─▶ delivered | failed | pending/N with the next
 *                 attempt time AND job (D, N+1), in one transaction
 *
 * Why each attempt is sent once in normal operation: only one claim of
 * (D, N) can move the row out of `pending/N-1`, and a claim is taken again
 * only after its lease ran out, which outlasts the POST's deadline. Why a
 * killed instance loses nothing: a claim it held expires and its job is
 * retried by the engine (or found by the sweep), so the attempt is made again
 * with the same `webhook-id`: at least once, deduplicated by the partner.
 * The next attempt's job commits with the row that schedules it, so a crash
 * between them cannot strand a pending delivery.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import type { AncestryCache } from '../proxy/scope.js';
import type { AuditStore } from '../store/audit.js';
import type { Database } from '../store/schema.js';
import { webhookDeliveryStore, type AttemptResult, type WebhookDelivery } from '../store/webhook-deliveries.js';
import type { WebhookSubscription, WebhookSubscriptionStore } from '../store/webhook-subscriptions.js';
import { accessibleIds, covers, mayHear, readersFor, scopeTarget } from './coverage.js';
import { QUEUES, type JobEngine } from './engine.js';
import { attemptJob, loadEvent } from './fan-out.js';
import { OutboundError, type OutboundAnswer, type WebhookSender } from './outbound.js';
import { lowestLevel, partnerBody, signedHeaders } from './payload.js';
import type { WebhookMetrics } from './metrics.js';

export interface DeliveryPolicy {
  /** Delay before each attempt (ms): [0] before the first, [n] before attempt n+1; its length is the attempt limit. */
  scheduleMs: number[];
  /** Up to this fraction of a delay is added at random, so retries of many deliveries spread out. */
  jitter: number;
  timeoutMs: number;
  /** A subscription failing without a success for this long is disabled. */
  disableAfterFailingMs: number;
  /** Longest `Retry-After` honoured. */
  maxRetryAfterMs: number;
}

export interface DeliveryDeps {
  db: Kysely<Database>;
  subscriptions: WebhookSubscriptionStore;
  audit: AuditStore;
  keyring: Keyring;
  sender: WebhookSender;
  engine: Pick<JobEngine, 'sendIn'>;
  clock: Clock;
  cache: AncestryCache;
  policy: DeliveryPolicy;
  logger: Logger;
  metrics?: WebhookMetrics;
  random?: () => number;
}

export type AttemptOutcome = 'delivered' | 'retry' | 'failed' | 'skipped' | 'not_due' | 'stale';

const LEASE_MARGIN_MS = 15_000;

export async function attemptDelivery(deps: DeliveryDeps, deliveryId: string, attempt: number): Promise<AttemptOutcome> {
  const deliveries = webhookDeliveryStore(deps.db);
  const now = deps.clock.now();
  const claim = await deliveries.claim(deliveryId, attempt, now, new Date(now.getTime() + deps.policy.timeoutMs + LEASE_MARGIN_MS));
  if (claim !== 'claimed') return claim;
  const delivery = (await deliveries.findById(deliveryId))!;
  const subscription = await deps.subscriptions.findById(delivery.subscriptionId);
  if (!subscription || subscription.status !== 'active')
    return skip(deps, delivery, attempt, `subscription ${subscription?.status ?? 'deleted'}`);
  const prepared = await prepare(deps, delivery, subscription, attempt);
  if (!prepared) return skip(deps, delivery, attempt, 'no active grant covers the entity any more');

  let answer: OutboundAnswer | null = null;
  let error: string | null = null;
  const started = deps.clock.now();
  try {
    const headers = await signedHeaders(prepared.body, prepared.keys, delivery.id, started);
    answer = await deps.sender.post(subscription.url, prepared.body, headers, deps.policy.timeoutMs);
  } catch (err) {
    if (!(err instanceof OutboundError)) deps.logger.warn({ err: String(err), deliveryId }, 'webhook delivery failed unexpectedly');
    error = err instanceof OutboundError ? err.message : 'delivery failed';
  }
  const finishedAt = deps.clock.now();
  const result = classify(deps, answer, error, attempt, finishedAt);
  const recorded = await deps.db.transaction().execute(async (trx) => {
    const ok = await webhookDeliveryStore(trx).finish(deliveryId, attempt, result, finishedAt);
    if (ok && result.kind === 'retry') {
      const job = attemptJob(deliveryId, attempt + 1);
      await deps.engine.sendIn(trx, QUEUES.deliver, job.data, { id: job.id, startAfter: result.nextAttemptAt });
    }
    return ok;
  });
  if (!recorded) return 'stale';
  deps.metrics?.deliveries.inc({ outcome: result.kind });
  if (result.kind === 'delivered') deps.metrics?.latency.observe((finishedAt.getTime() - delivery.receivedAt.getTime()) / 1000);
  await deps.subscriptions.recordOutcome(subscription.id, result.kind === 'delivered', finishedAt);
  if (answer?.status === 410) await disable(deps, subscription, 'The endpoint answered 410 Gone.', finishedAt);
  else if (result.kind !== 'delivered') await disableIfFailingTooLong(deps, subscription.id, finishedAt);
  return result.kind;
}

/** The body and keys for this attempt, or null when no reader of the partner's app covers the entity today. */
async function prepare(deps: DeliveryDeps, delivery: WebhookDelivery, subscription: WebhookSubscription, attempt: number) {
  const event = await loadEvent(deps.db, delivery.eventId);
  const target = event ? scopeTarget(event) : null;
  if (!event || !target) return null;
  const accessible = accessibleIds(event.body);
  const scope = { cache: deps.cache, db: deps.db };
  // Judged on the chain the fan-out saw (a page that left the grant: its old place), with today's grants.
  const readers = (await readersFor(deps.db, event, [subscription.appId])).filter(
    (r) => mayHear(r, target, accessible) && covers(r, target, delivery.chain, scope),
  );
  if (readers.length === 0) return null;
  const app = await deps.db.selectFrom('partner_apps').select(['id', 'client_id']).where('id', '=', subscription.appId).executeTakeFirst();
  const secrets = await deps.subscriptions.secretsOf(subscription.id);
  if (!app || !secrets) return null;
  const aad = `webhook_subscription:${subscription.id}`;
  const signingSecrets = [deps.keyring.decrypt(secrets.signingSecretCiphertext, aad)];
  const overlap = secrets.previousSigningSecretExpiresAt;
  if (secrets.previousSigningSecretCiphertext && overlap && overlap.getTime() > deps.clock.now().getTime())
    signingSecrets.push(deps.keyring.decrypt(secrets.previousSigningSecretCiphertext, aad));
  const body = partnerBody(event.body, {
    subscriptionId: subscription.id,
    integrationId: app.client_id ?? app.id,
    botIds: [...new Set(readers.map((r) => r.botId))],
    userInfo: lowestLevel(readers.map((r) => r.userInfo)),
    attempt,
    access: delivery.access,
    workspaceId: event.workspaceId,
  });
  return { body, keys: { verificationToken: deps.keyring.decrypt(secrets.verificationTokenCiphertext, aad), signingSecrets } };
}

/** 2xx success; 410 final; anything else (3xx included: redirects are never followed) retried while the schedule lasts. */
function classify(deps: DeliveryDeps, answer: OutboundAnswer | null, error: string | null, attempt: number, now: Date): AttemptResult {
  const statusCode = answer?.status ?? null;
  const excerpt = answer?.bodyExcerpt ?? null;
  if (answer && answer.status >= 200 && answer.status < 300)
    return { kind: 'delivered', statusCode: answer.status, excerpt: answer.bodyExcerpt };
  const why = error ?? `the endpoint answered ${answer!.status}`;
  if (answer?.status === 410 || attempt >= deps.policy.scheduleMs.length) return { kind: 'failed', statusCode, error: why, excerpt };
  const base = deps.policy.scheduleMs[attempt]!;
  let delay = base + Math.floor(base * deps.policy.jitter * (deps.random ?? Math.random)());
  const retryAfter = retryAfterMs(answer?.retryAfter ?? null, now);
  if (retryAfter !== null) delay = Math.max(delay, Math.min(retryAfter, deps.policy.maxRetryAfterMs));
  return { kind: 'retry', nextAttemptAt: new Date(now.getTime() + delay), statusCode, error: why, excerpt };
}

/** `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: Date): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now.getTime());
}

async function skip(deps: DeliveryDeps, delivery: WebhookDelivery, attempt: number, reason: string): Promise<AttemptOutcome> {
  const ok = await webhookDeliveryStore(deps.db).skip(delivery.id, attempt, reason, deps.clock.now());
  if (ok) deps.metrics?.deliveries.inc({ outcome: 'skipped' });
  return ok ? 'skipped' : 'stale';
}

async function disableIfFailingTooLong(deps: DeliveryDeps, subscriptionId: string, now: Date): Promise<void> {
  const subscription = await deps.subscriptions.findById(subscriptionId);
  if (!subscription?.failingSince || subscription.status !== 'active') return;
  if (now.getTime() - subscription.failingSince.getTime() < deps.policy.disableAfterFailingMs) return;
  const days = Math.round(deps.policy.disableAfterFailingMs / 86_400_000);
  await disable(deps, subscription, `Every delivery failed for ${days} days (since ${subscription.failingSince.toISOString()}).`, now);
}

async function disable(deps: DeliveryDeps, subscription: WebhookSubscription, reason: string, now: Date): Promise<void> {
  if (!(await deps.subscriptions.setStatus(subscription.id, ['active', 'pending'], 'disabled', now, { disabledReason: reason }))) return;
  await deps.audit.record(
    {
      action: 'webhook_subscription.disabled',
      actor: { type: 'system', label: 'webhook delivery' },
      target: { type: 'webhook_subscription', id: subscription.id },
      outcome: 'success',
      detail: { reason, appId: subscription.appId, url: subscription.url },
    },
    now,
  );
}
