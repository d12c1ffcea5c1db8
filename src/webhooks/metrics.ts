/**
 * Webhook metrics, on the instance's registry. Labels stay bounded: the
 * outcome of an attempt, the queue's name; never an id or a URL.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface WebhookMetrics {
  events: Counter<'type'>;
  deliveries: Counter<'outcome'>;
  latency: Histogram;
  depth: Gauge<'queue'>;
}

export function createWebhookMetrics(registry: Registry, depth: () => Promise<Record<string, number>>): WebhookMetrics {
  return {
    events: new Counter({
      name: 'gatehouse_webhook_events_total',
      help: 'Notion webhook events taken into fan-out, by event type',
      labelNames: ['type'],
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'gatehouse_webhook_delivery_attempts_total',
      help: 'Partner webhook delivery attempts by outcome (delivered, retry, failed, skipped)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'gatehouse_webhook_delivery_latency_seconds',
      help: "From the event's arrival at the intake to the partner's 2xx",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 3600],
      registers: [registry],
    }),
    depth: new Gauge({
      name: 'gatehouse_webhook_queue_depth',
      help: 'Webhook work waiting: open deliveries, and jobs per engine queue',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        try {
          for (const [queue, n] of Object.entries(await depth())) this.set({ queue }, n);
        } catch {
          // A database outage shows as stale depth, not as a failed scrape.
        }
      },
    }),
  };
}
