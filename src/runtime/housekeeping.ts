/**
 * Hourly housekeeping of a running instance: webhook events past their
 * retention are purged, and self-registered agents that got no grant within
 * a day are deleted (every registration is a new client id, and nothing else
 * would ever remove them). Failures wait for the next hour; the returned
 * function stops both timers.
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { sweepUnusedRegistrations } from '../oauth/register.js';
import type { Stores } from '../store/stores.js';
import { purgeWebhookEvents } from '../webhooks/intake.js';

const HOURLY = 3_600_000;

export function startHousekeeping(stores: Stores, clock: Clock, tunables: Config['tunables']): () => Promise<void> {
  const purge = setInterval(() => void purgeWebhookEvents(stores.webhookEvents, clock, tunables).catch(() => undefined), HOURLY);
  const sweep = () => void sweepUnusedRegistrations({ ...stores, clock }).catch(() => undefined);
  sweep();
  const sweeping = setInterval(sweep, HOURLY);
  purge.unref();
  sweeping.unref();
  return async () => {
    clearInterval(purge);
    clearInterval(sweeping);
  };
}
