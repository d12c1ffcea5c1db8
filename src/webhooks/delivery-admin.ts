/**
 * What organisation admins see and do about a subscription's deliveries, as
 * plain rules: the deliveries in JSON, "Retry now", and a ranged replay.
 * Refusals are a closed union with their HTTP status in one table; nothing
 * is changed before every check passed.
 */
import type { WebhookDelivery } from '../store/webhook-deliveries.js';
import type { Stores } from '../store/stores.js';
import type { Actor, WebhookPipeline } from './pipeline.js';
import { AdminError } from '../http/refusal.js';

export type DeliveryAdminRefusal = 'unknown_subscription' | 'unknown_delivery' | 'not_retryable' | 'not_active' | 'invalid_window';

export const REFUSAL_STATUS: Record<DeliveryAdminRefusal, number> = {
  unknown_subscription: 404,
  unknown_delivery: 404,
  not_retryable: 409,
  not_active: 409,
  invalid_window: 400,
};

export class DeliveryAdminError extends AdminError<DeliveryAdminRefusal> {
  constructor(code: DeliveryAdminRefusal, message: string) {
    super(code, message, REFUSAL_STATUS[code]);
    this.name = 'DeliveryAdminError';
  }
}

export interface DeliveryAdminDeps {
  stores: Pick<Stores, 'webhookSubscriptions' | 'webhookDeliveries'>;
  pipeline: Pick<WebhookPipeline, 'retryNow' | 'replay'>;
  now: () => Date;
}

export const MAX_LISTED = 200;
/** Replays reach back at most this far (events are purged after their retention anyway). */
const MAX_REPLAY_DAYS = 90;

export function deliveryToWire(d: WebhookDelivery): Record<string, unknown> {
  return {
    id: d.id,
    subscription_id: d.subscriptionId,
    event_id: d.eventId,
    event_type: d.eventType,
    entity: { id: d.entityId, type: d.entityType },
    origin: d.origin === 'live' ? 'live' : 'replay',
    status: d.status,
    attempts: d.attempts,
    access: d.access,
    next_attempt_at: d.nextAttemptAt?.toISOString() ?? null,
    last_attempt_at: d.lastAttemptAt?.toISOString() ?? null,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    last_response_excerpt: d.lastResponseExcerpt,
    delivered_at: d.deliveredAt?.toISOString() ?? null,
    created_at: d.createdAt.toISOString(),
  };
}

export async function requireSubscription(deps: DeliveryAdminDeps, id: string) {
  const subscription = await deps.stores.webhookSubscriptions.findById(id);
  if (!subscription) throw new DeliveryAdminError('unknown_subscription', 'There is no webhook subscription with this id.');
  return subscription;
}

export async function listDeliveries(deps: DeliveryAdminDeps, subscriptionId: string, limit: number): Promise<WebhookDelivery[]> {
  await requireSubscription(deps, subscriptionId);
  return deps.stores.webhookDeliveries.listForSubscription(subscriptionId, limit);
}

export async function retryDelivery(deps: DeliveryAdminDeps, deliveryId: string, actor: Actor): Promise<WebhookDelivery> {
  const delivery = await deps.stores.webhookDeliveries.findById(deliveryId);
  if (!delivery) throw new DeliveryAdminError('unknown_delivery', 'There is no webhook delivery with this id.');
  if (delivery.status !== 'failed' && delivery.status !== 'skipped')
    throw new DeliveryAdminError('not_retryable', `Only a failed or skipped delivery can be retried; this one is ${delivery.status}.`);
  if (!(await deps.pipeline.retryNow(deliveryId, actor)))
    throw new DeliveryAdminError('not_retryable', 'The delivery changed meanwhile; look again.');
  return (await deps.stores.webhookDeliveries.findById(deliveryId))!;
}

/** An ISO 8601 time with a date and a time of day (and an offset or Z), or null. */
export function parseInstant(text: string | undefined): Date | null {
  if (text === undefined) return null;
  const trimmed = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$/.test(trimmed)) return null;
  const date = new Date(/(Z|[+-]\d{2}:\d{2})$/.test(trimmed) ? trimmed : `${trimmed}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function replayWindow(deps: DeliveryAdminDeps, sinceText: string | undefined, untilText: string | undefined) {
  const since = parseInstant(sinceText);
  if (!since) throw new DeliveryAdminError('invalid_window', 'since must be a time in ISO 8601, e.g. 2026-01-31T09:00:00Z.');
  const until = untilText === undefined || untilText.trim() === '' ? null : parseInstant(untilText);
  if (until === null && untilText !== undefined && untilText.trim() !== '')
    throw new DeliveryAdminError('invalid_window', 'until must be a time in ISO 8601, e.g. 2026-01-31T18:00:00Z.');
  const now = deps.now();
  if (since.getTime() > now.getTime()) throw new DeliveryAdminError('invalid_window', 'since is in the future.');
  if (until && until.getTime() <= since.getTime()) throw new DeliveryAdminError('invalid_window', 'until must be after since.');
  if (now.getTime() - since.getTime() > MAX_REPLAY_DAYS * 86_400_000)
    throw new DeliveryAdminError('invalid_window', `since may reach back ${MAX_REPLAY_DAYS} days at most.`);
  return { since, until };
}

export async function replaySubscription(
  deps: DeliveryAdminDeps,
  subscriptionId: string,
  window: { since?: string; until?: string },
  actor: Actor,
): Promise<{ replayId: string; events: number; since: Date; until: Date | null }> {
  const subscription = await requireSubscription(deps, subscriptionId);
  const { since, until } = replayWindow(deps, window.since, window.until);
  if (subscription.status !== 'active')
    throw new DeliveryAdminError('not_active', `Only an active subscription receives a replay; this one is ${subscription.status}.`);
  const result = await deps.pipeline.replay(subscriptionId, since, until, actor);
  return { ...result, since, until };
}
