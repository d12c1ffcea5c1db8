/**
 * "Connections" for owners: which partners are sent this workspace's events.
 * A partner app appears when it holds an active grant in the workspace (the
 * caller passes those apps: fan-out sends nothing without one) and has a
 * subscription that is not waiting for verification; a disabled one stays
 * listed so owners see that its events stopped. The partner's URL is not
 * shown: it is the partner's, and organisation admins see it on the app's page.
 */
import type { WebhookSubscription, WebhookSubscriptionStore } from '../store/webhook-subscriptions.js';

export interface WebhookRecipientRow {
  app: string;
  events: string;
  status: string;
}

const STATUS_TEXT: Record<Exclude<WebhookSubscription['status'], 'pending'>, string> = {
  active: 'Receiving events',
  disabled: 'Disabled: events are not sent',
};

export async function webhookRecipientRows(
  subscriptions: Pick<WebhookSubscriptionStore, 'listForApp'>,
  apps: Array<{ id: string; name: string }>,
): Promise<WebhookRecipientRow[]> {
  const rows: WebhookRecipientRow[] = [];
  for (const app of apps) {
    for (const s of await subscriptions.listForApp(app.id)) {
      if (s.status === 'pending') continue;
      rows.push({ app: app.name, events: [...s.events].sort().join(', '), status: STATUS_TEXT[s.status] });
    }
  }
  return rows;
}
