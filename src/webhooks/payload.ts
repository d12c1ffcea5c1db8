/**
 * What one partner receives for one attempt: Notion's body rewritten for it,
 * and the two signatures over exactly those bytes.
 *
 * - `subscription_id`: the partner's subscription; `integration_id`: its
 *   client id; `accessible_by`: the bot ids (grant ids) of its readers that
 *   cover the entity, as `{id, type: "bot"}`; `attempt_number`: Gatehouse's;
 *   `authors`: user objects shaped by the lowest user-information level
 *   among those readers (the proxy's `shapeUser`).
 * - A page that left the partner's grant by a move: `data.parent` becomes
 *   the workspace (the new location is not the partner's to know) and
 *   `gatehouse.access` says `lost`; a move into the grant says `gained`.
 * - `X-Notion-Signature`: Notion's scheme with the subscription's own
 *   verification token, so code written for Notion verifies unchanged;
 *   Standard Webhooks headers with the `whsec_` secret, and with the previous
 *   one too while a rotation overlaps (space-separated, as the spec allows).
 *   `webhook-id` is the delivery's id: the same on every attempt.
 */
import { signWebhookPayload } from '@notionhq/client';
import { Webhook } from 'standardwebhooks';
import type { UserInfoLevel } from '../oauth/capabilities.js';
import { shapeUser } from '../proxy/shape.js';

const LEVEL_ORDER: UserInfoLevel[] = ['no_user_info', 'user_info_without_email', 'user_info_with_email'];

export function lowestLevel(levels: readonly UserInfoLevel[]): UserInfoLevel {
  return LEVEL_ORDER.find((level) => levels.includes(level)) ?? 'no_user_info';
}

export interface PartnerView {
  subscriptionId: string;
  integrationId: string;
  botIds: string[];
  userInfo: UserInfoLevel;
  attempt: number;
  access: 'lost' | 'gained' | null;
  workspaceId: string;
}

export function partnerBody(notionBody: Record<string, unknown>, view: PartnerView): string {
  const body = structuredClone(notionBody);
  body.subscription_id = view.subscriptionId;
  body.integration_id = view.integrationId;
  body.accessible_by = view.botIds.map((id) => ({ id, type: 'bot' }));
  body.attempt_number = view.attempt;
  if (Array.isArray(body.authors)) {
    for (const author of body.authors) {
      if (typeof author === 'object' && author !== null) shapeUser(author as Record<string, unknown>, view.userInfo);
    }
  }
  if (view.access === 'lost') {
    const data = typeof body.data === 'object' && body.data !== null ? (body.data as Record<string, unknown>) : {};
    body.data = { ...data, parent: { type: 'space', id: view.workspaceId } };
  }
  if (view.access) body.gatehouse = { access: view.access };
  return JSON.stringify(body);
}

export interface SigningKeys {
  verificationToken: string;
  /** Current first; the previous one while its overlap lasts. */
  signingSecrets: string[];
}

export async function signedHeaders(body: string, keys: SigningKeys, webhookId: string, at: Date): Promise<Record<string, string>> {
  const notion = await signWebhookPayload({ body, verificationToken: keys.verificationToken });
  const standard = keys.signingSecrets.map((secret) => new Webhook(secret).sign(webhookId, at, body));
  return {
    'content-type': 'application/json',
    'user-agent': 'Gatehouse-Webhooks/1',
    'x-notion-signature': notion,
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': standard.join(' '),
  };
}
