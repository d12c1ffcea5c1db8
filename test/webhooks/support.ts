/**
 * Webhook test helpers: a partner receiver on a free port that verifies
 * every delivery with the real verifiers (`@notionhq/client`'s
 * `verifyWebhookSignature`, `standardwebhooks`' `Webhook.verify`), active
 * subscriptions created through the store with secrets encrypted by the
 * instance's keyring, and Notion events stored as the intake stores them.
 */
import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '@notionhq/client';
import { Webhook } from 'standardwebhooks';
import type { Gatehouse } from '../../src/runtime.js';

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  notionValid: boolean;
  /** Which of the receiver's secrets verified the Standard Webhooks signature. */
  standardValid: boolean[];
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Status codes to answer, in order; then 200. `hang` never answers. */
  answers: Array<number | 'hang'>;
  headers: Record<string, string>;
  verificationToken: string;
  secrets: string[];
  close(): Promise<void>;
}

export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export async function startReceiver(verificationToken: string, secrets: string[]): Promise<Receiver> {
  const sockets = new Set<import('node:net').Socket>();
  const receiver: Receiver = { url: '', received: [], answers: [], headers: {}, verificationToken, secrets, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      void (async () => {
        const signature = req.headers['x-notion-signature'];
        const notionValid = await verifyWebhookSignature({
          body,
          signature: typeof signature === 'string' ? signature : '',
          verificationToken: receiver.verificationToken,
        });
        const standardValid = receiver.secrets.map((secret) => {
          try {
            new Webhook(secret).verify(body, req.headers as Record<string, string>);
            return true;
          } catch {
            return false;
          }
        });
        receiver.received.push({
          headers: req.headers,
          body,
          json: JSON.parse(body) as Record<string, unknown>,
          notionValid,
          standardValid,
        });
        const answer = receiver.answers.shift() ?? 200;
        if (answer === 'hang') return;
        res.writeHead(answer, { 'content-type': 'text/plain', ...receiver.headers });
        res.end(`answer ${answer}`);
      })();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/notion`;
  receiver.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

/** An active subscription for the app, with its own verification token and signing secret. */
export async function subscribe(
  gatehouse: Gatehouse,
  args: { appId: string; events: string[]; receiver?: Receiver },
): Promise<{ id: string; receiver: Receiver }> {
  const token = `secret_${randomBytes(24).toString('hex')}`;
  const secret = newSigningSecret();
  const receiver = args.receiver ?? (await startReceiver(token, [secret]));
  if (args.receiver) {
    receiver.verificationToken = token;
    receiver.secrets = [secret];
  }
  const { keyring, stores } = gatehouse;
  const subscription = await stores.webhookSubscriptions.create(
    {
      appId: args.appId,
      url: receiver.url,
      events: args.events,
      encrypt: (id) => ({
        verificationTokenCiphertext: keyring.encrypt(token, `webhook_subscription:${id}`),
        signingSecretCiphertext: keyring.encrypt(secret, `webhook_subscription:${id}`),
      }),
    },
    new Date(),
  );
  await stores.webhookSubscriptions.setStatus(subscription.id, ['pending'], 'active', new Date(), { verifiedAt: new Date() });
  return { id: subscription.id, receiver };
}

export interface EventArgs {
  type: string;
  workspaceId: string;
  entity: { id: string; type: string };
  data?: Record<string, unknown>;
  accessibleBy?: string[];
  intakeId?: string;
  authors?: Array<Record<string, unknown>>;
}

/** A Notion event stored as the intake stores it, committed together with its fan-out job. */
export async function storeEvent(gatehouse: Gatehouse, args: EventArgs, receivedAt: Date): Promise<string> {
  const id = randomUUID();
  const notionId = randomUUID();
  const body: Record<string, unknown> = {
    id: notionId,
    timestamp: receivedAt.toISOString(),
    workspace_id: args.workspaceId,
    workspace_name: 'Acme',
    subscription_id: randomUUID(),
    integration_id: randomUUID(),
    type: args.type,
    authors: args.authors ?? [{ id: randomUUID(), type: 'person' }],
    ...(args.accessibleBy ? { accessible_by: args.accessibleBy.map((a) => ({ id: a, type: 'person' })) } : {}),
    attempt_number: 1,
    api_version: '2025-09-03',
    entity: args.entity,
    data: args.data ?? {},
  };
  await gatehouse.database.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('webhook_events')
      .values({
        id,
        intake_id: args.intakeId ?? 'public',
        notion_event_id: notionId,
        workspace_id: args.workspaceId,
        type: args.type,
        entity_id: args.entity.id,
        entity_type: args.entity.type,
        occurred_at: receivedAt,
        body: JSON.stringify(body),
        received_at: receivedAt,
      })
      .execute();
    await gatehouse.webhooks.enqueueFanOut(trx, id);
  });
  return id;
}

export const pageParent = (id: string) => ({ parent: { id, type: 'page' } });
